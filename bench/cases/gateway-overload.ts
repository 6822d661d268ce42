/**
 * The gateway beyond its capacity (docs/decisions/gateway-load-shedding.md): one gateway process (GATEWAY_WORKERS=1,
 * default shedding settings) in front of the upstream stand-in, on the full protected path, pinned to a core of its
 * own while the load generator, the upstream and this harness share the other.
 * 1. Capacity: closed loop, as fast as it answers (the requests/s it holds).
 * 2. The refusal ceiling: a second gateway that admits one call at a time, closed loop: what answering 529 alone costs.
 * 3. Overload: open loop at 1.5 and 2 times the capacity from many connections opened beforehand; reported apart: the
 *    calls served (2xx) and the calls shed (529), each with its latency, over the whole run and after the first second,
 *    and `/healthz` polled every 100 ms meanwhile.
 * 4. Recovery: open loop at half the capacity right after: every call served again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { Env } from '../../services/gateway/src/config.ts'
import { prepareGatewayBench } from '../gateway-setup.ts'
import { load, pctl, pinSelf, r2, startChild, type BenchResult, type BenchRow, type ChildServer } from '../lib.ts'
import { openLoop, type StatusLatency } from '../open-loop.ts'

const CAPACITY_S = 4
const OVERLOAD_S = 10
const RECOVERY_S = 5
const SETTLE_S = 1
const FACTORS = [1.5, 2]
const CONNECTIONS = 2000
// The gateway has a core of its own; the load generator, the upstream stand-in and this harness share the other, so
// twice the gateway's capacity is within what the generator can send.
const GATEWAY_CPUS = '0'
const GENERATOR_CPUS = '1'
const servers = fileURLToPath(new URL('../gateway-servers.ts', import.meta.url))
const log = (msg: string) => process.stderr.write(`gateway-overload bench: ${msg}\n`)
const count = (statuses: Record<string, StatusLatency> | undefined, status?: string) =>
  Object.entries(statuses ?? {}).filter(([st]) => status === undefined || st === status).reduce((n, [, v]) => n + v.count, 0)

export async function run(): Promise<BenchResult> {
  const { dir, path, headers, tls, setUpstreamPort } = await prepareGatewayBench('gw-overload')
  const children: ChildServer[] = []
  const unpin = pinSelf(GENERATOR_CPUS)
  try {
    const upstream = await startChild(servers, { args: ['upstream', dir], cpus: GENERATOR_CPUS })
    children.push(upstream)
    setUpstreamPort(upstream.info.port as number)
    const startGateway = async (env: Record<string, string>) => {
      // The gateway's default shedding settings (the bench servers turn the event-loop signal off for the throughput
      // cases).
      const child = await startChild(servers, { args: ['gateway', dir], cpus: GATEWAY_CPUS, env: { GATEWAY_BENCH_WORKERS: '1', GATEWAY_BENCH_SET_OVERLOAD_EVENT_LOOP_DELAY_MS: String(Env.shape.OVERLOAD_EVENT_LOOP_DELAY_MS.parse(undefined)), ...env } })
      children.push(child)
      return `https://127.0.0.1:${child.info.port as number}`
    }
    const tlsOptions = { ...tls, rejectUnauthorized: true }
    // The median of three runs: on a shared machine one run can read far off, and the overload rates derive from it.
    const medianOfThree = async (name: string, target: string): Promise<BenchRow> => {
      const runs: BenchRow[] = []
      for (let i = 0; i < 3; i++) runs.push(await load(name, { url: target, tlsOptions, headers, durationSeconds: CAPACITY_S, connections: 20 }))
      const median = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[1]!
      return { ...median, case: `${name}, median of 3 (${runs.map((r) => r.requestsPerSecond).join(', ')} req/s)` }
    }

    // What a refusal costs: every call but one at a time is answered 529.
    const refuser = await startGateway({ GATEWAY_BENCH_SET_OVERLOAD_MAX_IN_FLIGHT: '1' })
    await load('warm-up', { url: `${refuser}${path}`, tlsOptions, headers, durationSeconds: 3, connections: 20 })
    const ceiling = await medianOfThree('refusal ceiling: closed loop, 20 connections, one call admitted at a time', `${refuser}${path}`)
    await children.pop()!.stop()

    const origin = await startGateway({})
    const url = `${origin}${path}`
    await load('warm-up', { url, tlsOptions, headers, durationSeconds: 3, connections: 20 })
    const capacity = await medianOfThree('capacity: closed loop, 20 connections', url)
    log(`capacity ${capacity.requestsPerSecond} req/s; refusal ceiling ${ceiling.requestsPerSecond} req/s`)

    const rows: BenchRow[] = [capacity, ceiling]
    const notes: string[] = [`a refusal costs ${r2(capacity.requestsPerSecond / ceiling.requestsPerSecond * 100)} % of a served call on this core (capacity ${capacity.requestsPerSecond} req/s, refusal ceiling ${ceiling.requestsPerSecond} req/s): TLS, HTTP parsing and the answer's write cost the same whether the call is served or shed`]
    for (const factor of FACTORS) {
      const rate = Math.round(capacity.requestsPerSecond * factor)
      const health = await pollHealth(origin, tls.ca, async (onStart) => {
        const overload = await openLoop(`overload: open loop at ${rate} req/s (${factor} × capacity), ${CONNECTIONS} connections`, { origin, path, rate, seconds: OVERLOAD_S, headers, tls, connections: CONNECTIONS, openAll: true, cpus: GENERATOR_CPUS, byStatus: true, settleSeconds: SETTLE_S }, onStart)
        const statusRows = (statuses: Record<string, StatusLatency> | undefined, seconds: number, when: string) => Object.entries(statuses ?? {})
          .map(([status, v]) => ({ case: `${factor} ×${when}: ${status === '200' ? 'served' : status === '529' ? 'shed' : 'other'} (${status})`, requestsPerSecond: r2(v.count / seconds), p50: v.p50, p95: v.p95, p99: v.p99 }))
        rows.push({ ...overload, note: 'all answers' }, ...statusRows(overload.statuses, OVERLOAD_S, ''), ...statusRows(overload.settled, OVERLOAD_S - SETTLE_S, ` after ${SETTLE_S} s`))
        const shed = overload.statuses?.['529']
        const settledShed = overload.settled?.['529']
        const other = Object.entries(overload.statuses ?? {}).filter(([st]) => st !== '200' && st !== '529')
        notes.push(`${factor} × capacity: shed ${shed?.count ?? 0} of ${count(overload.statuses)} calls (529, p99 ${shed?.p99 ?? '–'} ms; after the first ${SETTLE_S} s p99 ${settledShed?.p99 ?? '–'} ms); served ${count(overload.statuses, '200')} (${r2((count(overload.statuses, '200') / OVERLOAD_S / capacity.requestsPerSecond) * 100)} % of the capacity)${other.length ? `; other statuses: ${other.map(([st, v]) => `${st} × ${v.count}`).join(', ')}` : ''}; transport errors ${overload.errors ?? 0}`)
      })
      rows.push({ case: `/healthz during ${factor} × capacity`, requestsPerSecond: r2(health.latencies.length / OVERLOAD_S), p50: r2(pctl(health.latencies, 50)), p99: r2(pctl(health.latencies, 99)), errors: health.failures })
      notes.push(`/healthz during ${factor} × capacity: answered ${health.latencies.length} times, ${health.failures} failures, p99 ${r2(pctl(health.latencies, 99))} ms`)
    }
    const recovery = await openLoop(`recovery: open loop at ${Math.round(capacity.requestsPerSecond / 2)} req/s (capacity / 2)`, { origin, path, rate: Math.max(1, Math.round(capacity.requestsPerSecond / 2)), seconds: RECOVERY_S, headers, tls, connections: 20, cpus: GENERATOR_CPUS })
    rows.push(recovery)
    notes.push(`recovery: ${recovery.non2xx ?? 0} non-2xx and ${recovery.errors ?? 0} errors at half the capacity right after`)
    return {
      title: 'Gateway beyond its capacity: load shedding',
      description: `One gateway process (default OVERLOAD_* settings) on the full protected path, pinned to CPU ${GATEWAY_CPUS}; the load generator, the upstream stand-in and this harness share CPU ${GENERATOR_CPUS}, so twice the gateway's capacity is within what the generator can send. Capacity measured closed-loop (median of three ${CAPACITY_S} s runs, 20 connections); the refusal ceiling likewise (after a warm-up) against a gateway that admits one call at a time; then open loops at ${FACTORS.join(' and ')} times the capacity for ${OVERLOAD_S} s each from ${CONNECTIONS} keep-alive mTLS connections opened beforehand (many clients, as a bank's edge sees them: the calls queue in the gateway, not in the generator), latency from each request's scheduled time; the calls scheduled after the first ${SETTLE_S} s (the gateway has settled on its limit) are also reported apart; /healthz polled every 100 ms meanwhile; then half the capacity for ${RECOVERY_S} s.`,
      rows,
      notes,
    }
  } finally {
    for (const c of children.reverse()) await c.stop()
    unpin()
  }
}

/** Polls `/healthz` every 100 ms from the moment `run` reports its clock started until it ends; sorted latencies. */
async function pollHealth(origin: string, ca: string, run: (onStart: () => void) => Promise<void>): Promise<{ latencies: number[]; failures: number }> {
  const probe = new Agent({ connect: { ca, servername: 'localhost' } })
  const latencies: number[] = []
  let failures = 0
  let probing = true
  let prober: Promise<void> | undefined
  await run(() => {
    prober = (async () => {
      while (probing) {
        const t0 = performance.now()
        await request(`${origin}/healthz`, { dispatcher: probe, headersTimeout: 5_000, bodyTimeout: 5_000 })
          .then(async (r) => { await r.body.dump(); if (r.statusCode === 200) latencies.push(performance.now() - t0); else failures++ }, () => { failures++ })
        await sleep(100)
      }
    })()
  })
  probing = false
  await prober
  await probe.close()
  return { latencies: latencies.sort((a, b) => a - b), failures }
}
