// The per-address request limit of the OAuth endpoints (docs/decisions/auth-server-request-limits.md) on a real TLS
// listener and the real Redis: each address has its own budget per class of endpoint, over it 429 with Retry-After in
// the endpoint's language; the address is the TCP peer's unless a trusted proxy names it; the platform's paths are
// never limited; with Redis down requests are served and counted. Requests leave from different loopback addresses
// (127.0.0.2, 127.0.0.3, …: all of 127/8 reaches the listener), so each address is a real peer. The limiter's clock is
// fixed in the middle of a minute: windows do not move during the test.
import { createDevCa, type DevCa } from '@ponte/pki'
import { createRedis, metricsRegistry, type Redis } from '@ponte/platform'
import { rawRequest, testInfra, testLogger, testSchema, testServiceAuth, type RawResponse } from '@ponte/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRequestLimiter, registerRequestLimitMetrics, type RequestLimiter } from '../src/adapters/request-limiter.ts'
import { requestClass } from '../src/adapters/request-limit-hook.ts'
import { startAuthServer, type AuthServerHarness } from './support/harness.ts'

/** Small budgets, so a few requests spend them. */
const BUDGETS = { public: 4, mtls: 3 }
/**
 * 30 s into a minute. With a fresh count, the wait after a refusal is the rest of this minute, then 1/budget of the
 * next (until the weight of this minute's full count leaves room for one more): 45 s and 50 s.
 */
const NOW = Math.floor(Date.now() / 60_000) * 60_000 + 30_000
const RETRY_AFTER_PUBLIC = 30 + 60 / BUDGETS.public
const RETRY_AFTER_MTLS = 30 + 60 / BUDGETS.mtls
/** A stand-in neighbour nobody calls here. */
const NOWHERE = 'http://127.0.0.1:9'

describe('per-address request limit of the OAuth endpoints', () => {
  const schema = testSchema('auth_request_limit')
  const { logger } = testLogger('auth-server-test')
  const auth = testServiceAuth()
  let ca: DevCa
  let h: AuthServerHarness
  let redis: Redis
  let deadRedis: Redis
  let limiter: RequestLimiter
  let withRedisDown: RequestLimiter
  // The app's limiter: the Redis one, or the one whose Redis is down for the last test.
  let active: RequestLimiter
  const unregister: Array<() => void> = []

  beforeAll(async () => {
    ca = await createDevCa()
    redis = createRedis(testInfra().redisUrl, logger)
    limiter = createRequestLimiter(redis, { budgets: BUDGETS, prefix: `test:${schema.name}:requests`, logger, now: () => NOW })
    // Nothing listens on port 1: every count fails as it does while Redis is down.
    deadRedis = createRedis('redis://127.0.0.1:1', logger, { maxRetriesPerRequest: 0 })
    withRedisDown = createRequestLimiter(deadRedis, { budgets: { public: 1, mtls: 1 }, prefix: `test:${schema.name}:down`, logger })
    unregister.push(registerRequestLimitMetrics(withRedisDown))
    active = limiter
    h = await startAuthServer({
      ca, schema, logger, issuer: auth.issuer('auth-server'), verifier: auth.verifier('auth-server'), jwksOrigins: [],
      directoryUrl: NOWHERE, consentUrl: NOWHERE, connectorsUrl: NOWHERE,
      requestLimiter: { check: (cls, address) => active.check(cls, address), get stats() { return active.stats } },
      // 127.0.0.1 is the proxy in front of the server: its X-Forwarded-For names the client.
      trustedProxies: ['127.0.0.1'],
    })
  }, 60_000)

  afterAll(async () => {
    for (const u of unregister) u()
    await h?.close()
    await redis?.quit()
    deadRedis?.disconnect()
    await schema.drop()
  })

  /** One request from `from` (a loopback address), with the transport certificate a browser does not have. */
  const send = (from: string, method: string, path: string, extra: string[] = []): Promise<RawResponse> => {
    const body = method === 'POST' ? 'grant_type=client_credentials' : ''
    const head = [`${method} ${path} HTTP/1.1`, `Host: ${new URL(h.issuer).host}`, 'Connection: close', ...extra,
      ...(method === 'POST' ? ['Content-Type: application/x-www-form-urlencoded', `Content-Length: ${body.length}`] : [])]
    return rawRequest(h.issuer, [Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body], { closeWaitMs: 0, tls: { ca: ca.chainPem, localAddress: from } as never })
  }
  const statuses = async (from: string, method: string, path: string, n: number, extra: string[] = []) => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push((await send(from, method, path, extra)).status)
    return out
  }

  function expectRefusedInJson(res: RawResponse, retryAfterS: number) {
    expect(res.status, res.body).toBe(429)
    expect(res.headers['retry-after']).toBe(String(retryAfterS))
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json).toEqual({ error: 'temporarily_unavailable', error_description: `too many requests from this address; retry after ${retryAfterS} s` })
  }

  it('classes the paths: the mTLS endpoints, every other one public, the platform paths none', () => {
    for (const path of ['/token', '/token/introspection', '/token/revocation', '/par', '/me', '/register', '/register/abc']) expect(requestClass(path), path).toBe('mtls')
    for (const path of ['/auth', '/auth/abc', '/interaction/abc/login', '/jwks', '/.well-known/openid-configuration', '/tokens', '/unknown']) expect(requestClass(path), path).toBe('public')
    for (const path of ['/healthz', '/readyz', '/internal/info', '/internal/clients']) expect(requestClass(path), path).toBeUndefined()
  })

  it('over the budget: 429 in the RFC 6749 envelope with Retry-After; another address is unaffected', async () => {
    expect(await statuses('127.0.0.2', 'GET', '/jwks', BUDGETS.public)).toEqual([200, 200, 200, 200])
    expectRefusedInJson(await send('127.0.0.2', 'GET', '/jwks'), RETRY_AFTER_PUBLIC)
    expectRefusedInJson(await send('127.0.0.2', 'GET', '/.well-known/openid-configuration'), RETRY_AFTER_PUBLIC)
    expect(await statuses('127.0.0.3', 'GET', '/jwks', 2)).toEqual([200, 200])
    expect(limiter.stats.public.refused).toBe(2)
  })

  it('the classes are counted apart: a spent mTLS budget leaves the public endpoints open, and the reverse', async () => {
    // The token endpoint without a certificate or client authentication refuses (401), but the request counts.
    const refused = await statuses('127.0.0.4', 'POST', '/token', BUDGETS.mtls)
    expect(refused.every((s) => s >= 400 && s < 429), String(refused)).toBe(true)
    expectRefusedInJson(await send('127.0.0.4', 'POST', '/par'), RETRY_AFTER_MTLS)
    expectRefusedInJson(await send('127.0.0.4', 'GET', '/register/some-client'), RETRY_AFTER_MTLS)
    expect(await statuses('127.0.0.4', 'GET', '/jwks', 1)).toEqual([200])
    // 127.0.0.2 spent its public budget above; its mTLS budget is whole.
    expect((await send('127.0.0.2', 'POST', '/token')).status).toBe(401)
  })

  it("on the customer's pages the refusal is the journey's error page, with Retry-After", async () => {
    // The authorization endpoint without parameters refuses (its own error page), but the requests count.
    const answered = await statuses('127.0.0.5', 'GET', '/auth?ui_locales=en', BUDGETS.public)
    expect(answered.every((s) => s >= 400 && s < 429), String(answered)).toBe(true)
    for (const path of ['/auth?ui_locales=en', '/interaction/abc', '/auth/abc']) {
      const res = await send('127.0.0.5', 'GET', path)
      expect(res.status, path).toBe(429)
      expect(res.headers['retry-after']).toBe(String(RETRY_AFTER_PUBLIC))
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.body).toContain('temporarily_unavailable')
      expect(res.body).toContain(`retry after ${RETRY_AFTER_PUBLIC} s`)
    }
    expect((await send('127.0.0.5', 'GET', '/auth?ui_locales=en')).body).toContain('We could not continue')
  })

  it('/healthz, /readyz and /internal/* are never limited', async () => {
    // 127.0.0.2 spent its public budget above.
    expect((await send('127.0.0.2', 'GET', '/jwks')).status).toBe(429)
    expect(await statuses('127.0.0.2', 'GET', '/healthz', 6)).toEqual([200, 200, 200, 200, 200, 200])
    expect(await statuses('127.0.0.2', 'GET', '/readyz', 2)).toEqual([200, 200])
    // The internal API answers for itself (no service token: 401 in the OFB envelope), never 429.
    const internal = await send('127.0.0.2', 'GET', '/internal/info')
    expect(internal.status).toBe(401)
    expect(internal.json).toMatchObject({ errors: [expect.objectContaining({ code: expect.any(String) })] })
  })

  it('X-Forwarded-For names the client only when a trusted proxy sends it', async () => {
    // Through the proxy (127.0.0.1): each client its own budget.
    const via = (client: string) => [`X-Forwarded-For: ${client}`]
    expect(await statuses('127.0.0.1', 'GET', '/jwks', BUDGETS.public, via('198.51.100.7'))).toEqual([200, 200, 200, 200])
    expectRefusedInJson(await send('127.0.0.1', 'GET', '/jwks', via('198.51.100.7')), RETRY_AFTER_PUBLIC)
    expect((await send('127.0.0.1', 'GET', '/jwks', via('198.51.100.8'))).status).toBe(200)
    // The header from anyone else changes nothing: a new "client" each time is still the peer 127.0.0.6.
    const spoofed: number[] = []
    for (let i = 0; i <= BUDGETS.public; i++) spoofed.push((await send('127.0.0.6', 'GET', '/jwks', via(`203.0.113.${i + 1}`))).status)
    expect(spoofed).toEqual([200, 200, 200, 200, 429])
  })

  it('with Redis down, requests are served without the limit and counted in /metrics', async () => {
    active = withRedisDown
    try {
      // A budget of one, three requests per class: all served.
      expect(await statuses('127.0.0.7', 'GET', '/jwks', 3)).toEqual([200, 200, 200])
      expect((await statuses('127.0.0.7', 'POST', '/token', 3)).every((s) => s === 401)).toBe(true)
    } finally {
      active = limiter
    }
    expect(withRedisDown.stats).toEqual({ public: { allowed: 0, refused: 0, servedWithoutLimit: 3 }, mtls: { allowed: 0, refused: 0, servedWithoutLimit: 3 } })
    const text = await metricsRegistry.getSingleMetricAsString('ponte_auth_request_limit_decisions_total')
    expect(text).toContain('ponte_auth_request_limit_decisions_total{class="public",decision="redis_down_pass"} 3')
    expect(text).toContain('ponte_auth_request_limit_decisions_total{class="mtls",decision="redis_down_pass"} 3')
  })
})
