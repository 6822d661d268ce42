import { randomUUID } from 'node:crypto'
import { policyIdOf, type TrafficPolicy } from '@ponte/contracts'
import { specValidator, startTcpProxy, testInfra, waitFor } from '@ponte/testkit'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startWorld, type Tpp, type World } from './harness.ts'

const accounts = specValidator('accounts-v2.5.1.yaml')
const DETAIL = 'GET /open-banking/accounts/v2/accounts/{accountId}'
const TRANSACTIONS = 'GET /open-banking/accounts/v2/accounts/{accountId}/transactions'

let w: World
let g1: Awaited<ReturnType<World['startGateway']>>
let g2: Awaited<ReturnType<World['startGateway']>>
let a: Tpp

// Two gateway instances sharing Redis; the limits clock is moved by the tests (calendar minutes, months).
beforeAll(async () => {
  w = await startWorld()
  g1 = await w.startGateway({ GATEWAY_INSTANCE_ID: 'g1' })
  g2 = await w.startGateway({ GATEWAY_INSTANCE_ID: 'g2' })
  a = await w.tpp('limited')
})
afterAll(async () => {
  await w?.close()
})

const policy = (p: Omit<TrafficPolicy, 'updatedAt'>): TrafficPolicy => ({ ...p, updatedAt: new Date().toISOString() })
function loadBoth(policies: TrafficPolicy[]) {
  g1.policies.load(policies)
  g2.policies.load(policies)
}
/** Moves the limits clock to `second` seconds into a fresh calendar minute, far from any other test's minutes. */
function atSecond(minuteOffset: number, second: number) {
  const now = Date.now()
  const base = Math.floor(now / 60_000) * 60_000 + (1000 + minuteOffset) * 60_000
  w.clock.offsetMs = base + second * 1000 - now
}

describe('per-minute limits (429), across two replicas', () => {
  test('the limit holds across both instances, answers 429 with Retry-After and x-rate-limit-*, and resets at the next minute', async () => {
    loadBoth([policy({ policyId: policyIdOf({ kind: 'tpm', scope: 'override', organisationId: a.orgId, endpoint: DETAIL }), kind: 'tpm', endpoint: DETAIL, organisationId: a.orgId, limit: 5, enabled: true })])
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    atSecond(1, 50)
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await w.call(`${(i % 2 ? g1 : g2).url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200])
    const refused = await w.call(`${g1.url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })
    expect([refused.status, refused.body.errors?.[0]?.code]).toEqual([429, 'TOO_MANY_REQUESTS'])
    accounts.assert('GET', '/accounts/{accountId}', 429, refused.body)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(7)
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(10)
    expect(refused.headers['x-rate-limit']).toBe('5')
    expect(refused.headers['x-rate-limit-remaining']).toBe('0')
    // Another endpoint of the same organisation has its own counter.
    expect((await w.call(`${g2.url}/open-banking/accounts/v2/accounts/acc-1/balances`, { agent: a.agent, token: t })).status).not.toBe(429)
    atSecond(2, 0)
    expect((await w.call(`${g2.url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })).status).toBe(200)
  })

  test('open data is limited per client IP and cached', async () => {
    loadBoth([policy({ policyId: policyIdOf({ kind: 'tpm', scope: 'override', endpoint: 'GET /open-banking/channels/v2/branches' }), kind: 'tpm', endpoint: 'GET /open-banking/channels/v2/branches', limit: 3, enabled: true })])
    atSecond(3, 5)
    const first = await w.call(`${g1.url}/open-banking/channels/v2/branches`)
    const second = await w.call(`${g1.url}/open-banking/channels/v2/branches`)
    expect([first.status, second.status]).toEqual([200, 200])
    expect(second.body).toEqual(first.body) // served from the cache: connectors was not called again
    expect(first.headers['x-v']).toBe('2.1.0')
    expect((await w.call(`${g2.url}/open-banking/channels/v2/branches`)).status).toBe(200)
    const refused = await w.call(`${g2.url}/open-banking/channels/v2/branches`)
    expect([refused.status, refused.body.errors?.[0]?.code]).toEqual([429, 'TOO_MANY_REQUESTS'])
  })
})

describe('global capacity (529), across two replicas', () => {
  test('calls beyond the global TPS in one second are answered 529, whichever replica takes them', async () => {
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    // A second far from real time, so no other caller shares its counter.
    loadBoth([policy({ policyId: policyIdOf({ kind: 'global-tps', scope: 'override' }), kind: 'global-tps', limit: 4, enabled: true })])
    atSecond(5, 7)
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => w.call(`${(i % 2 ? g1 : g2).url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 200)).toHaveLength(4)
    expect(statuses.filter((s) => s === 529)).toHaveLength(4)
    const overloaded = results.find((r) => r.status === 529)!
    expect(overloaded.body.errors?.[0]?.code).toBe('SITE_OVERLOADED')
    accounts.assert('GET', '/accounts/{accountId}', 529, overloaded.body)
    atSecond(5, 8)
    expect((await w.call(`${g1.url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })).status).toBe(200)
  })
})

describe('monthly operational limits (423)', () => {
  test('only 2xx answers count, follow-up pages with an honoured pagination-key do not, and the limit holds across replicas', async () => {
    const org = a.orgId
    loadBoth([
      policy({ policyId: policyIdOf({ kind: 'monthly', scope: 'override', organisationId: org, endpoint: DETAIL }), kind: 'monthly', endpoint: DETAIL, organisationId: org, limit: 3, enabled: true }),
      policy({ policyId: policyIdOf({ kind: 'monthly', scope: 'override', organisationId: org, endpoint: TRANSACTIONS }), kind: 'monthly', endpoint: TRANSACTIONS, organisationId: org, limit: 2, enabled: true }),
    ])
    const c = w.consentFor(a, { expirationDateTime: undefined }) // indefinite: the test clock moves to another month
    const t = await w.token(a, { consentId: c.consentId })
    atSecond(7, 1)
    const detail = (g: typeof g1) => w.call(`${g.url}/open-banking/accounts/v2/accounts/acc-2`, { agent: a.agent, token: t })
    expect((await detail(g1)).status).toBe(200) // 1
    w.connectors.nextStatus = 404
    expect((await detail(g2)).status).toBe(404) // not counted
    expect((await detail(g1)).status).toBe(404) // not counted
    w.connectors.nextStatus = 200
    expect((await detail(g2)).status).toBe(200) // 2
    expect((await detail(g1)).status).toBe(200) // 3
    const refused = await detail(g2)
    expect([refused.status, refused.body.errors?.[0]?.code]).toEqual([423, 'OPERATIONAL_LIMIT_EXCEEDED'])
    accounts.assert('GET', '/accounts/{accountId}', 423, refused.body)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    // Another resource of the same consent has its own monthly counter.
    expect((await w.call(`${g1.url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })).status).toBe(200)

    // Pagination: the first page counts; follow-ups whose key the server honoured do not; a key it replaced does.
    const tx = (key?: string) => w.call(`${g1.url}/open-banking/accounts/v2/accounts/acc-2/transactions${key ? `?page=2&pagination-key=${key}` : ''}`, { agent: a.agent, token: t })
    expect((await tx()).status).toBe(200) // 1
    const key = randomUUID()
    for (let i = 0; i < 4; i++) expect((await tx(key)).status).toBe(200) // honoured: free
    w.connectors.paginationEcho = false
    expect((await tx('expired-key')).status).toBe(200) // replaced by a fresh key: counts (2)
    w.connectors.paginationEcho = true
    expect((await tx()).status).toBe(423)
    // The same through connectors' explicit verdict header (x-ponte-pagination-key-status), on a fresh month.
    atSecond(60 * 24 * 40, 1)
    w.connectors.keyStatusHeader = true
    expect((await tx()).status).toBe(200) // 1
    for (let i = 0; i < 3; i++) expect((await tx(key)).status).toBe(200) // valid: free
    w.connectors.paginationEcho = false
    expect((await tx(key)).status).toBe(200) // invalid: counts (2)
    w.connectors.paginationEcho = true
    w.connectors.keyStatusHeader = false
    expect((await tx()).status).toBe(423)
  })
})

describe('Redis unreachable', () => {
  test('default: calls are served without limits while Redis is cut, counted, and limits come back by themselves', async () => {
    const redisUrl = new URL(testInfra().redisUrl)
    const proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379))
    try {
      const g = await w.startGateway({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, GATEWAY_INSTANCE_ID: 'flaky-redis' })
      g.policies.load([policy({ policyId: policyIdOf({ kind: 'tpm', scope: 'override', organisationId: a.orgId, endpoint: DETAIL }), kind: 'tpm', endpoint: DETAIL, organisationId: a.orgId, limit: 1, enabled: true })])
      const c = w.consentFor(a)
      const t = await w.token(a, { consentId: c.consentId })
      const url = `${g.url}/open-banking/accounts/v2/accounts/acc-1`
      atSecond(9, 1)
      expect((await w.call(url, { agent: a.agent, token: t })).status).toBe(200) // 1. counted: the limit (1) is reached
      expect((await w.call(url, { agent: a.agent, token: t })).status).toBe(429)
      await proxy.cut() // 2. Redis unreachable: served without limits
      for (let i = 0; i < 3; i++) expect((await w.call(url, { agent: a.agent, token: t })).status).toBe(200)
      const stats = (await g.app.inject({ method: 'GET', url: '/internal/stats', headers: { 'x-ponte-service-token': await w.auth.issuer('admin').sign('gateway') } })).json()
      expect(stats.limiter.servedWithoutLimits).toBeGreaterThanOrEqual(3)
      await proxy.restore() // 3. back by itself: the limit bites again
      await waitFor(async () => (await w.call(url, { agent: a.agent, token: t })).status === 429, { timeoutMs: 15_000, intervalMs: 200, what: 'limits enforced again' })
    } finally {
      await proxy.close()
    }
  })

  test('LIMITS_ON_REDIS_DOWN=deny: 503 in the envelope, never a hang', async () => {
    const g = await w.startGateway({ REDIS_URL: 'redis://127.0.0.1:1', GATEWAY_INSTANCE_ID: 'deny', LIMITS_ON_REDIS_DOWN: 'deny' })
    const c = w.consentFor(a)
    const res = await w.call(`${g.url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: await w.token(a, { consentId: c.consentId }) })
    expect([res.status, res.body.errors?.[0]?.code]).toEqual([503, 'LIMITS_UNAVAILABLE'])
  })
})
