/**
 * The gateway on more than one core: the full protected path (as case (c) of bench/gateway.ts: certificate, cached
 * token verification, binding, consent, limits script, upstream hop, api-call event) served by one process and by two
 * worker processes sharing the listener (GATEWAY_WORKERS=2, the gateway's own primary), in interleaved rounds against
 * the same upstream stand-in. The scaling factor is the median of the per-round ratios.
 */
import { fileURLToPath } from 'node:url'
import { prepareGatewayBench } from '../gateway-setup.ts'
import { load, startChild, type BenchResult, type BenchRow, type ChildServer } from '../lib.ts'

const ROUNDS = Math.max(1, Number(process.env.GATEWAY_BENCH_ROUNDS ?? 3))
const DURATION_S = Math.min(10, Math.max(1, Number(process.env.GATEWAY_BENCH_SECONDS ?? 5)))
const CONNECTIONS = Number(process.env.GATEWAY_BENCH_CONNECTIONS ?? 20)
const servers = fileURLToPath(new URL('../gateway-servers.ts', import.meta.url))
const log = (msg: string) => process.stderr.write(`gateway-workers bench: ${msg}\n`)
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2 }

export async function run(): Promise<BenchResult> {
  const { dir, path, headers, tls, setUpstreamPort } = await prepareGatewayBench('gw-workers')
  const tlsOptions = { ...tls, rejectUnauthorized: true }

  const children: ChildServer[] = []
  try {
    const upstream = await startChild(servers, { args: ['upstream', dir] })
    children.push(upstream)
    setUpstreamPort(upstream.info.port as number)
    const one = await startChild(servers, { args: ['gateway', dir], env: { GATEWAY_BENCH_WORKERS: '1' } })
    children.push(one)
    const two = await startChild(servers, { args: ['gateway', dir], env: { GATEWAY_BENCH_WORKERS: '2' } })
    children.push(two)
    const cases = [
      { key: 'one', name: 'gateway, one process (GATEWAY_WORKERS=1)', url: `https://127.0.0.1:${one.info.port}${path}` },
      { key: 'two', name: 'gateway, two workers on one listener (GATEWAY_WORKERS=2)', url: `https://127.0.0.1:${two.info.port}${path}` },
    ]
    for (const c of cases) {
      const warm = await load('warm-up', { url: c.url, tlsOptions, headers, durationSeconds: 3, connections: CONNECTIONS })
      if (warm.non2xx || warm.errors) throw new Error(`${c.name}: ${warm.non2xx} non-2xx, ${warm.errors} errors in the warm-up`)
    }
    const runs: Record<string, BenchRow[]> = { one: [], two: [] }
    const ratios: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const rps: Record<string, number> = {}
      for (const c of round % 2 ? [...cases].reverse() : cases) {
        const row = await load(c.name, { url: c.url, tlsOptions, headers, connections: CONNECTIONS, durationSeconds: DURATION_S })
        runs[c.key]!.push(row)
        rps[c.key] = row.requestsPerSecond
        log(`round ${round + 1}/${ROUNDS} ${c.key}: ${row.requestsPerSecond} req/s p50 ${row.p50} p99 ${row.p99}`)
      }
      ratios.push(rps.two! / rps.one!)
    }
    const rows = cases.map((c) => {
      const sorted = [...runs[c.key]!].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
      const mid = sorted[Math.floor((sorted.length - 1) / 2)]!
      return { ...mid, case: c.name, note: `median of ${sorted.length}: ${runs[c.key]!.map((r) => r.requestsPerSecond).join(', ')} req/s` }
    })
    return {
      title: 'Gateway: one process against two workers',
      description: `The full protected path (as (c) in the gateway case) served by one process and by two worker processes sharing one listener under the gateway's primary (GATEWAY_WORKERS). ${CONNECTIONS} keep-alive mTLS connections, ${DURATION_S} s closed-loop runs, ${ROUNDS} interleaved rounds; rows are medians. The load generator, the upstream stand-in, Redis and Kafka share the same cores, so on a 2-core machine the factor is a floor of what two dedicated cores give.`,
      rows,
      notes: [`scaling factor from one to two workers: ×${median(ratios).toFixed(2)} (per round ${ratios.map((r) => `×${r.toFixed(2)}`).join(', ')})`],
    }
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
}
