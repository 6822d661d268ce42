/**
 * Standalone run of the connectors transactions case: `node bench/connectors-transactions.ts` prints one JSON line per
 * page size (requests/s, p50, p99 in ms) and one with the seed time. Seeds schema bench_core first when needed.
 */
import { run } from './cases/connectors-transactions.ts'

const result = await run()
for (const row of result.rows) console.log(JSON.stringify({ case: row.case, requestsPerSecond: row.requestsPerSecond, p50: row.p50, p99: row.p99, errors: row.errors ?? 0, non2xx: row.non2xx ?? 0 }))
for (const note of result.notes ?? []) console.log(JSON.stringify({ note }))
