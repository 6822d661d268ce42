// The regulator's endpoints through the gateway (served by trace, here a stand-in at the HTTP boundary): no certificate
// or token, cached briefly (REGULATOR_CACHE_TTL_MS, not the open-data minute) and limited per client IP
// (REGULATOR_TPM_PER_IP) with the same 429 envelope and headers as open data. The client address is varied through the
// trusted-proxy X-Forwarded-For the gateway believes from TRUSTED_PROXIES.
import { randomInt } from 'node:crypto'
import { createServer, requireServiceToken } from '@ponte/platform'
import { listen } from '@ponte/testkit'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startWorld, type World } from './harness.ts'

let w: World
let gw: Awaited<ReturnType<World['startGateway']>>
let traceCalls = 0
let closeTrace: () => Promise<void>

beforeAll(async () => {
  w = await startWorld()
  const trace = createServer({ logger: w.logger })
  trace.register(async (i) => {
    i.addHook('onRequest', requireServiceToken(w.auth.verifier('trace')))
    i.get('/open-banking/discovery/v2/status', async (_req, reply) => {
      traceCalls++
      reply.header('x-v', '2.0.1')
      return { data: { status: [{ code: 'OK', explanation: `answer ${traceCalls}` }] }, links: { self: 'https://api.banco.com.br/open-banking/discovery/v2/status' }, meta: { totalRecords: 1, totalPages: 1 } }
    })
    i.get('/open-banking/admin/v2/metrics', async (_req, reply) => {
      traceCalls++
      reply.header('x-v', '2.0.1')
      return { data: { requestTime: `answer ${traceCalls}` }, links: { self: 'https://api.banco.com.br/open-banking/admin/v2/metrics' }, meta: { totalRecords: 1, totalPages: 1 } }
    })
  })
  const traceUrl = await listen(trace)
  closeTrace = () => trace.close()
  gw = await w.startGateway({ TRACE_URL: traceUrl, TRUSTED_PROXIES: '127.0.0.1', REGULATOR_CACHE_TTL_MS: '5000', REGULATOR_TPM_PER_IP: '3' })
})
afterAll(async () => {
  await w?.close()
  await closeTrace?.()
})

/** Moves the gateway clock to `second` seconds into a fresh calendar minute, far from any other run's minutes. */
function atSecond(minuteOffset: number, second: number) {
  const now = Date.now()
  const base = Math.floor(now / 60_000) * 60_000 + (2000 + minuteOffset) * 60_000
  w.clock.offsetMs = base + second * 1000 - now
}
/** A client address of its own (counters in Redis outlive a run). */
const someIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`
const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })

describe("the regulator's endpoints at the gateway", () => {
  test('cached for REGULATOR_CACHE_TTL_MS, fresh after', async () => {
    atSecond(1, 1)
    const url = `${gw.url}/open-banking/discovery/v2/status`
    const first = await w.call(url, from(someIp()))
    expect(first.status).toBe(200)
    expect(first.headers['x-v']).toBe('2.0.1')
    const within = await w.call(url, from(someIp()))
    expect(within.body).toEqual(first.body) // same answer: trace was not asked again
    atSecond(1, 1 + 4)
    expect((await w.call(url, from(someIp()))).body).toEqual(first.body)
    atSecond(1, 1 + 6) // past the 5 s, well within the open-data minute
    const after = await w.call(url, from(someIp()))
    expect(after.status).toBe(200)
    expect(after.body).not.toEqual(first.body)
  })

  test('limited per client IP: over the budget → 429 in the OFB envelope with the rate-limit headers; another IP unaffected', async () => {
    atSecond(3, 5)
    const ip = someIp()
    const url = `${gw.url}/open-banking/admin/v2/metrics`
    for (let i = 0; i < 3; i++) expect((await w.call(url, from(ip))).status).toBe(200)
    const refused = await w.call(url, from(ip))
    expect(refused.status).toBe(429)
    expect(refused.body.errors?.[0]?.code).toBe('TOO_MANY_REQUESTS')
    expect(refused.body.meta).toBeDefined()
    expect(refused.headers['x-rate-limit']).toBe('3')
    expect(refused.headers['x-rate-limit-remaining']).toBe('0')
    expect(Number(refused.headers['retry-after'])).toBe(55)
    expect(refused.headers['x-rate-limit-time']).toBe('55')
    // Another client address has its own budget; the budget is per endpoint (discovery is not spent by metrics).
    expect((await w.call(url, from(someIp()))).status).toBe(200)
    expect((await w.call(`${gw.url}/open-banking/discovery/v2/status`, from(ip))).status).toBe(200)
    // The next minute the address is served again.
    atSecond(4, 1)
    expect((await w.call(url, from(ip))).status).toBe(200)
  })
})
