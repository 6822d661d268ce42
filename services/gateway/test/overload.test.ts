// Overload and replacement (docs/decisions/gateway-load-shedding.md):
// - beyond its in-flight cap the gateway answers 529 SITE_OVERLOADED at once, in the OFB envelope with Retry-After and
//   an api-call event, while its health checks and the regulator's endpoints keep answering; it recovers by itself;
// - two gateway processes behind a load balancer, each replaced in turn under steady load (SIGTERM: readiness 503 and
//   `connection: close` during SHUTDOWN_DRAIN_DELAY_MS, then in-flight calls finish): no call is lost or refused.
// Throughput and refusal latency at twice the capacity are measured by `make bench` (bench/cases/gateway-overload.ts).
import { randomUUID } from 'node:crypto'
import { createServer, requireServiceToken } from '@ponte/platform'
import { freePorts, listen, startServiceProcess, startTcpBalancer, waitFor, type ServiceProcess, type TcpBalancer } from '@ponte/testkit'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorld, type Tpp, type World } from './harness.ts'

let w: World
let a: Tpp
let traceUrl: string
let closeTrace: () => Promise<void>
const ACCOUNT = '/open-banking/accounts/v2/accounts/acc-1'

beforeAll(async () => {
  w = await startWorld()
  a = await w.tpp('alpha')
  const trace = createServer({ logger: w.logger })
  trace.register(async (i) => {
    i.addHook('onRequest', requireServiceToken(w.auth.verifier('trace')))
    i.get('/open-banking/discovery/v2/status', async (_req, reply) => {
      reply.header('x-v', '2.0.1')
      return { data: { status: [{ code: 'OK', explanation: 'ok' }] }, links: { self: 'https://api.banco.com.br/open-banking/discovery/v2/status' }, meta: { totalRecords: 1, totalPages: 1 } }
    })
  })
  traceUrl = await listen(trace)
  closeTrace = () => trace.close()
})
afterAll(async () => {
  w.connectors.delayMs = 0
  await w?.close()
  await closeTrace?.()
})

describe('load shedding', () => {
  it('answers 529 beyond the in-flight cap, keeps health and regulator endpoints answering, and recovers', async () => {
    const gw = await w.startGateway({ OVERLOAD_MAX_IN_FLIGHT: '2', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', TRACE_URL: traceUrl, REGULATOR_CACHE_TTL_MS: '0' })
    const token = await w.token(a, { consentId: w.consentFor(a).consentId })
    w.connectors.delayMs = 1_500
    const slow = [w.call(`${gw.url}${ACCOUNT}`, { agent: a.agent, token }), w.call(`${gw.url}${ACCOUNT}`, { agent: a.agent, token })]
    const seenBefore = w.seen.length
    await waitFor(() => w.seen.length >= seenBefore + 2 ? true : undefined, { timeoutMs: 5_000, what: 'two calls in progress' })

    const interactionId = randomUUID()
    const recorded = gw.events.stats.recorded
    const shed = await w.call(`${gw.url}${ACCOUNT}`, { agent: a.agent, token, interactionId })
    expect(shed.status).toBe(529)
    expect(shed.headers['retry-after']).toBe('1')
    expect(shed.headers['x-fapi-interaction-id']).toBe(interactionId)
    expect(shed.body.errors).toEqual([{ code: 'SITE_OVERLOADED', title: expect.any(String), detail: 'too many calls in progress; retry shortly' }])
    expect((shed.body as { meta?: { requestDateTime?: string } }).meta?.requestDateTime).toMatch(/Z$/)
    // It is reported like every other call (the regulator counts 529s).
    await waitFor(() => gw.events.stats.recorded > recorded ? true : undefined, { timeoutMs: 5_000, what: 'the api-call event of the shed call' })
    // Nothing reached the owner for it.
    expect(w.seen).toHaveLength(seenBefore + 2)
    // The regulator's endpoint and the health checks are not shed.
    expect((await w.call(`${gw.url}/open-banking/discovery/v2/status`)).status).toBe(200)
    expect((await w.call(`${gw.url}/readyz`)).status).toBe(200)

    // Once the calls in progress are answered, the gateway admits again by itself.
    const answered = await Promise.all(slow)
    expect(answered.map((r) => r.status)).toEqual([200, 200])
    w.connectors.delayMs = 0
    expect((await w.call(`${gw.url}${ACCOUNT}`, { agent: a.agent, token })).status).toBe(200)
  }, 30_000)
})

describe('rolling restart', () => {
  const procs = new Map<number, ServiceProcess>()
  let balancer: TcpBalancer | undefined
  afterAll(async () => {
    await balancer?.close()
    await Promise.all([...procs.values()].map((p) => p.stop('SIGKILL')))
  })

  it('replaces each of two gateways under load without losing or refusing a call', async () => {
    const ports = await freePorts(2)
    const start = (port: number) => startServiceProcess('gateway', {
      ...w.processEnv, LOG_LEVEL: 'info', METRICS_PORT: '0', PORT: String(port), HOST: '127.0.0.1', GATEWAY_WORKERS: '1', SHUTDOWN_DRAIN_DELAY_MS: '1500',
      // Replacement is under test here, not shedding (covered above) nor the time a loaded machine needs to stop.
      OVERLOAD_EVENT_LOOP_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '30000',
    }, 60_000).then((p) => { procs.set(port, p); return p })
    await Promise.all(ports.map(start))
    balancer = await startTcpBalancer(ports)
    const lb = balancer
    // The balancer follows each backend's readiness, as a Kubernetes Service follows its pods' readiness probes.
    const agent = new Agent({ connect: { rejectUnauthorized: false } })
    let probing = true
    const ready = new Map<number, boolean>()
    const probe = (async () => {
      while (probing) {
        for (const port of ports) {
          const up = await request(`https://127.0.0.1:${port}/readyz`, { dispatcher: agent, headersTimeout: 1_000 }).then(async (r) => { await r.body.dump(); return r.statusCode === 200 }, () => false)
          ready.set(port, up)
          lb.setInRotation(port, up)
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()

    const url = `https://localhost:${lb.port}${ACCOUNT}`
    const outcomes = new Map<string, number>()
    let running = true
    // Eight TPPs, each on its own keep-alive connection, calling every 50 ms (well within their per-minute limits).
    const clients = Array.from({ length: 8 }, async (_, i) => {
      const tpp = await w.tpp(`client${i}`)
      const token = await w.token(tpp, { consentId: w.consentFor(tpp).consentId })
      const client = new Agent({ connections: 1, connect: { cert: tpp.cert.chainPem, key: tpp.cert.privateKeyPem, ca: w.ca.chainPem, servername: 'localhost' } })
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        const outcome = await request(url, { dispatcher: client, headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() } })
          .then(async (r) => { await r.body.dump(); return String(r.statusCode) }, (err: Error & { code?: string }) => err.code ?? err.message)
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      }
      await client.close()
    })

    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const replaced: ServiceProcess[] = []
    const firstBefore = lb.connections.get(ports[0]!)!
    for (const port of ports) {
      const old = procs.get(port)!
      replaced.push(old)
      const code = await old.stop('SIGTERM')
      expect(code, old.output.filter((l) => !l.includes('request completed')).slice(-6).join('\n')).toBe(0)
      await start(port)
      await waitFor(() => ready.get(port) ? true : undefined, { timeoutMs: 10_000, what: `the new gateway on ${port} in rotation` })
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    running = false
    await Promise.all(clients)
    probing = false
    await probe
    await agent.close()

    // The second drain moved the clients to the first replacement.
    expect(lb.connections.get(ports[0]!)!).toBeGreaterThan(firstBefore)
    const answered = outcomes.get('200') ?? 0
    expect(answered).toBeGreaterThan(50)
    expect(Object.fromEntries(outcomes)).toEqual({ 200: answered })
    // Each replaced gateway served through its drain and stopped on its own.
    for (const p of replaced) expect(p.output.filter((l) => l.includes('"msg":"stopped"'))).toHaveLength(1)
  }, 180_000)
})
