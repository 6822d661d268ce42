import { loadavg } from 'node:os'
import { generateServiceKeyPair } from '@ponte/platform'
import { Client } from 'undici'
import { startChild, type BenchResult, type BenchRow } from '../lib.ts'

/** Calls in the trace store behind the console (the trace case seeds 2 000 000 into the same schema; either reuses it). */
const TRACE_CALLS = process.env.BENCH_ADMIN_TRACE_CALLS ?? '500000'
const SECONDS = 8

/**
 * Closed loop, one keep-alive connection and one session cookie per staff member: each session sends its next request
 * when the previous answered, for `seconds`. Exact percentiles over every request (no histogram).
 */
async function sessions(name: string, base: string, cookies: string[], paths: (i: number, n: number) => string, seconds = SECONDS): Promise<BenchRow> {
  const latencies: number[] = []
  let errors = 0
  let non2xx = 0
  const until = performance.now() + seconds * 1_000
  await Promise.all(cookies.map(async (cookie, i) => {
    const client = new Client(base, { pipelining: 1, keepAliveTimeout: 30_000 })
    try {
      for (let n = 0; performance.now() < until; n++) {
        const started = performance.now()
        try {
          const res = await client.request({ method: 'GET', path: paths(i, n), headers: { cookie, accept: 'application/json' } })
          await res.body.dump()
          if (res.statusCode < 200 || res.statusCode > 299) non2xx++
          latencies.push(performance.now() - started)
        } catch {
          errors++
        }
      }
    } finally {
      await client.close()
    }
  }))
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100
  return { case: name, requestsPerSecond: Math.round(latencies.length / seconds), p50: at(0.5), p95: at(0.95), p99: at(0.99), errors, non2xx }
}

/**
 * The admin console's API under 50 concurrent staff sessions: the dashboard (trace's overview and firing alerts) and
 * the trace search, the console and trace each in their own process over the seeded call store.
 */
export async function run(): Promise<BenchResult> {
  const keys = generateServiceKeyPair()
  const env = { BENCH_SERVICE_KEYS: JSON.stringify(keys) }
  const trace = await startChild('trace.ts', { startTimeoutMs: 3_600_000, env: { ...env, BENCH_TRACE_CALLS: TRACE_CALLS } })
  const children = [trace]
  try {
    const { port: tracePort, interactionId, calls } = trace.info as { port: number; interactionId: string; calls: number }
    const traceUrl = `http://127.0.0.1:${tracePort}`
    const cached = await startChild('admin.ts', { env: { ...env, BENCH_TRACE_URL: traceUrl } })
    children.push(cached)
    const uncached = await startChild('admin.ts', { env: { ...env, BENCH_TRACE_URL: traceUrl, BENCH_DASHBOARD_CACHE_MS: '0' } })
    children.push(uncached)
    const a = cached.info as { port: number; cookies: string[] }
    const b = uncached.info as { port: number; cookies: string[] }
    const base = `http://127.0.0.1:${a.port}`
    const n = a.cookies.length
    const search = `/api/traces?interactionId=${interactionId}`
    const byOrg = (i: number) => `/api/traces?organisationId=org-${i % 50}&statusClass=5xx&limit=50`
    await sessions('warm-up', base, a.cookies.slice(0, 4), () => '/api/dashboard', 2)
    const loadBefore = loadavg()[0]!.toFixed(1)
    const rows = [
      await sessions(`GET /api/dashboard, ${n} sessions (one trace read per 5 s shared)`, base, a.cookies, () => '/api/dashboard'),
      await sessions(`GET /api/dashboard, ${n} sessions, no sharing (every request reads trace)`, `http://127.0.0.1:${b.port}`, b.cookies, () => '/api/dashboard'),
      await sessions(`GET /api/traces?interactionId=…, ${n} sessions`, base, a.cookies, () => search),
      await sessions(`GET /api/traces?organisationId=…&statusClass=5xx (a page of 50), ${n} sessions`, base, a.cookies, byOrg),
      await sessions(`mixed: each session alternates dashboard and trace search, ${n} sessions`, base, a.cookies, (_i, k) => (k % 2 ? search : '/api/dashboard')),
    ]
    return {
      title: 'admin console: dashboard and trace search under 50 staff sessions',
      description: `${n} signed-in viewer sessions, each its own keep-alive connection and cookie, closed loop for ${SECONDS} s per row; latency from request to last byte, exact percentiles. ` +
        `The console (session check in Redis, roles from PostgreSQL, permission table) and trace each run in their own process; trace holds ${calls} calls over 8 days (bench/servers/trace.ts). ` +
        "The dashboard's last hour reads trace's per-minute rollup and the raw calls of the hour (p95 per SLA tier), and today's availability.",
      rows,
      notes: [
        `machine load average (1 min) ${loadBefore} before the rows, ${loadavg()[0]!.toFixed(1)} after (2 cores; other work on the machine shows here)`,
        'target: p99 under 500 ms for every row with 50 sessions on this machine',
      ],
    }
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
}
