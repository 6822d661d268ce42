/**
 * The gateway at twice its capacity (docs/decisions/gateway-load-shedding.md): one gateway process (GATEWAY_WORKERS=1,
 * default shedding settings) in front of the upstream stand-in, on the full protected path.
 * 1. Capacity: closed loop, as fast as it answers (the requests/s it holds).
 * 2. Overload: open loop at twice that rate from many connections; reported separately: the calls served (2xx) and the
 *    calls shed (529), each with its latency, and `/healthz` polled every 100 ms meanwhile.
 * 3. Recovery: open loop at half the capacity right after: every call served again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { Env } from '../../services/gateway/src/config.ts'
import { prepareGatewayBench } from '../gateway-setup.ts'
import { load, startChild, type BenchResult, type ChildServer } from '../lib.ts'
import { openLoop } from '../open-loop.ts'

const CAPACITY_S = 5
const OVERLOAD_S = 10
const RECOVERY_S = 5
const servers = fileURLToPath(new URL('../gateway-servers.ts', import.meta.url))
const log = (msg: string) => process.stderr.write(`gateway-overload bench: ${msg}\n`)
const pctl = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0)
const r2 = (n: number) => Math.round(n * 100) / 100

export async function run(): Promise<BenchResult> {
  const { dir, path, headers, tls, setUpstreamPort } = await prepareGatewayBench('gw-overload')
  const children: ChildServer[] = []
  try {
    const upstream = await startChild(servers, { args: ['upstream', dir] })
    children.push(upstream)
    setUpstreamPort(upstream.info.port as number)
    // The gateway's defaults for shedding (the bench servers turn the event-loop signal off for the throughput cases).
    const gateway = await startChild(servers, { args: ['gateway', dir], env: { GATEWAY_BENCH_WORKERS: '1', GATEWAY_BENCH_SET_OVERLOAD_EVENT_LOOP_DELAY_MS: String(Env.shape.OVERLOAD_EVENT_LOOP_DELAY_MS.parse(undefined)) } })
    children.push(gateway)
    const origin = `https://127.0.0.1:${gateway.info.port as number}`
    const url = `${origin}${path}`
    const tlsOptions = { ...tls, rejectUnauthorized: true }

    await load('warm-up', { url, tlsOptions, headers, durationSeconds: 3, connections: 20 })
    const capacity = await load('capacity: closed loop, 20 connections', { url, tlsOptions, headers, durationSeconds: CAPACITY_S, connections: 20 })
    const rate = capacity.requestsPerSecond * 2
    log(`capacity ${capacity.requestsPerSecond} req/s; overload at ${rate} req/s`)

    // Health polled from this process while the load generator (its own process) overloads the gateway.
    const probe = new Agent({ connect: { ca: tls.ca, servername: 'localhost' } })
    const health: number[] = []
    let healthFailures = 0
    let probing = true
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now()
        await request(`${origin}/healthz`, { dispatcher: probe, headersTimeout: 5_000, bodyTimeout: 5_000 })
          .then(async (r) => { await r.body.dump(); if (r.statusCode === 200) health.push(performance.now() - t0); else healthFailures++ }, () => { healthFailures++ })
        await sleep(100)
      }
    })()
    const overload = await openLoop(`overload: open loop at ${rate} req/s (2 × capacity), 200 connections`, { origin, path, rate, seconds: OVERLOAD_S, headers, tls, connections: 200, byStatus: true })
    probing = false
    await prober
    await probe.close()
    const recovery = await openLoop(`recovery: open loop at ${Math.round(capacity.requestsPerSecond / 2)} req/s (capacity / 2)`, { origin, path, rate: Math.max(1, Math.round(capacity.requestsPerSecond / 2)), seconds: RECOVERY_S, headers, tls, connections: 20 })

    const served = overload.statuses?.['200']
    const shed = overload.statuses?.['529']
    const other = Object.entries(overload.statuses ?? {}).filter(([s]) => s !== '200' && s !== '529')
    const sortedHealth = health.sort((a, b) => a - b)
    return {
      title: 'Gateway at twice its capacity: load shedding',
      description: `One gateway process (default OVERLOAD_* settings) on the full protected path. Capacity measured closed-loop (${CAPACITY_S} s, 20 connections); then an open loop at twice that rate for ${OVERLOAD_S} s from 200 keep-alive mTLS connections (latency from each request's scheduled time), /healthz polled every 100 ms meanwhile; then half the capacity for ${RECOVERY_S} s. The load generator shares the machine's cores with the gateway, so the overload also slows the generator: read the split between served and shed calls, not the absolute rates.`,
      rows: [
        capacity,
        { ...overload, note: 'all answers' },
        ...(served ? [{ case: 'overload: served (200)', requestsPerSecond: r2(served.count / OVERLOAD_S), p50: served.p50, p95: served.p95, p99: served.p99 }] : []),
        ...(shed ? [{ case: 'overload: shed (529)', requestsPerSecond: r2(shed.count / OVERLOAD_S), p50: shed.p50, p95: shed.p95, p99: shed.p99 }] : []),
        { case: '/healthz during the overload', requestsPerSecond: r2(health.length / OVERLOAD_S), p50: r2(pctl(sortedHealth, 50)), p99: r2(pctl(sortedHealth, 99)), errors: healthFailures },
        recovery,
      ],
      notes: [
        `shed: ${shed?.count ?? 0} of ${overload.requestsPerSecond * OVERLOAD_S} calls (529, p99 ${shed?.p99 ?? '–'} ms); served ${served?.count ?? 0}${other.length ? `; other statuses: ${other.map(([s, v]) => `${s} × ${v.count}`).join(', ')}` : ''}; transport errors ${overload.errors ?? 0}`,
        `/healthz answered ${health.length} times during the overload, ${healthFailures} failures, p99 ${r2(pctl(sortedHealth, 99))} ms`,
        `recovery: ${recovery.non2xx ?? 0} non-2xx and ${recovery.errors ?? 0} errors at half the capacity right after`,
      ],
    }
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
}
