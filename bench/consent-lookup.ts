/**
 * Standalone run of the consent-lookup case: `node bench/consent-lookup.ts` prints one JSON line with requests/s,
 * p50 and p99 (ms). `make bench` runs the same case through bench/run.ts.
 */
import { run } from './cases/consent-lookup.ts'

const result = await run()
const row = result.rows[0]!
console.log(JSON.stringify({ case: 'consent-lookup', requestsPerSecond: row.requestsPerSecond, p50: row.p50, p99: row.p99, errors: row.errors ?? 0, non2xx: row.non2xx ?? 0 }))
