import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { specValidator } from '@ponte/testkit'
import { createCoreApiServer } from '../src/adapters/core-api-server.ts'
import { createHttpCore, type HttpCore } from '../src/adapters/http-core.ts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { demoId, DEMO_CUSTOMERS, DEMO_PASSWORD } from '../src/seed/demo-bank.ts'
import { ALL_PERMISSIONS, consentCtx, demoFixture, type Fixture } from './support.ts'

const accounts = specValidator('accounts-v2.5.1.yaml')
const cards = specValidator('credit-cards-accounts-v2.4.0.yaml')
const loans = specValidator('loans-v2.7.0.yaml')
const customers = specValidator('customers-v2.3.0.yaml')
const channels = specValidator('channels-v2.1.0.yaml')
const A = '/open-banking/accounts/v2/accounts'
const checking = demoId('ana:checking')
const ctx = consentCtx({
  cpf: DEMO_CUSTOMERS.ana.cpf,
  permissions: ALL_PERMISSIONS.filter((p) => !p.startsWith('CUSTOMERS_BUSINESS')),
  resources: [{ type: 'ACCOUNT', resourceId: checking }, { type: 'CREDIT_CARD_ACCOUNT', resourceId: demoId('ana:card') }, { type: 'LOAN', resourceId: demoId('ana:loan') }],
})

/** What the external core does to the next requests (fault injection). */
const fault = { mode: 'none' as 'none' | 'delay' | '500' | '503' | 'malformed' | 'redirect' | 'garbled', hits: 0, redirected: 0 }
const breakerClock = { now: 1_000_000 }

describe('HTTP connector against the reference external core (core-api.yaml)', () => {
  let f: Fixture
  let external: FastifyInstance
  let http: HttpCore
  // Where a redirecting core points: a listener that counts every request reaching it.
  let redirectTarget = ''
  let elsewhere: FastifyInstance
  beforeAll(async () => {
    elsewhere = (await import('fastify')).default()
    elsewhere.all('/*', async () => { fault.redirected += 1; return { accountId: 'from-elsewhere' } })
    redirectTarget = await elsewhere.listen({ host: '127.0.0.1', port: 0 })
    f = await demoFixture('connectors_http', {
      core: (pg) => {
        external = createCoreApiServer(pg)
        external.addHook('onRequest', async (_req, reply) => {
          fault.hits += 1
          if (fault.mode === 'delay') await new Promise((r) => setTimeout(r, 2_500))
          if (fault.mode === '500') return reply.code(500).send({ error: 'boom' })
          if (fault.mode === '503') return reply.code(503).send({ error: 'maintenance' })
          // A core that answers 200 with what core-api.yaml does not allow: wrong types, an injected field, markup.
          if (fault.mode === 'malformed') return reply.code(200).send({ accountId: 42, type: '<script>alert(1)</script>', isAdmin: true, balance: 'NaN' })
          // A core that points the connector elsewhere (SSRF through a redirect): never followed.
          if (fault.mode === 'redirect') return reply.code(302).header('location', `${redirectTarget}/latest/meta-data/`).send()
          if (fault.mode === 'garbled') return reply.code(200).header('content-type', 'application/json').send('{"data": [')
        })
        // The URL is set once the server listens (below); calls happen only after that.
        http = createHttpCore({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 1_500, retries: 2, breakerFailures: 3, breakerResetMs: 5_000, now: () => breakerClock.now })
        return new Proxy({} as HttpCore, { get: (_t, k) => (http as unknown as Record<string | symbol, unknown>)[k] })
      },
    })
    const url = await external.listen({ host: '127.0.0.1', port: 0 })
    await http.close()
    http = createHttpCore({ baseUrl: url, timeoutMs: 1_500, retries: 2, breakerFailures: 3, breakerResetMs: 5_000, now: () => breakerClock.now })
  })
  afterAll(async () => {
    await http?.close()
    await external?.close()
    await elsewhere?.close()
    await f?.close()
  })
  beforeEach(() => {
    fault.mode = 'none'
    fault.hits = 0
    fault.redirected = 0
  })
  const get = async (url: string) => f.app.inject({ method: 'GET', url, headers: await f.token(ctx) })

  it('serves the regulated APIs through the external core, spec-valid', async () => {
    const today = brasiliaToday(new Date())
    const list = await get(A)
    accounts.assert('GET', '/accounts', 200, list.json())
    expect(list.json().data.map((a: { accountId: string }) => a.accountId)).toEqual([checking])
    const tx = await get(`${A}/${checking}/transactions?fromBookingDate=${addDays(today, -30)}&toBookingDate=${today}&page-size=50`)
    accounts.assert('GET', '/accounts/{accountId}/transactions', 200, tx.json())
    expect(tx.json().data.length).toBeGreaterThan(10)
    const bal = await get(`${A}/${checking}/balances`)
    accounts.assert('GET', '/accounts/{accountId}/balances', 200, bal.json())
    const bills = await get(`/open-banking/credit-cards-accounts/v2/accounts/${demoId('ana:card')}/bills`)
    cards.assert('GET', '/accounts/{creditCardAccountId}/bills', 200, bills.json())
    const loan = await get(`/open-banking/loans/v2/contracts/${demoId('ana:loan')}/payments`)
    loans.assert('GET', '/contracts/{contractId}/payments', 200, loan.json())
    const ident = await get('/open-banking/customers/v2/personal/identifications')
    customers.assert('GET', '/personal/identifications', 200, ident.json())
    const branches = await get('/open-banking/channels/v2/branches')
    channels.assert('GET', '/branches', 200, branches.json())
    const login = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: DEMO_CUSTOMERS.ana.cpf, password: DEMO_PASSWORD } })
    expect(login.json()).toMatchObject({ name: DEMO_CUSTOMERS.ana.name })
    const wrong = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: DEMO_CUSTOMERS.ana.cpf, password: 'x' } })
    expect(wrong.statusCode).toBe(401)
  })

  it('keeps customers apart through the external core', async () => {
    const stranger = consentCtx({ cpf: DEMO_CUSTOMERS.mariana.cpf, permissions: ALL_PERMISSIONS, resources: [{ type: 'ACCOUNT', resourceId: checking }] })
    const res = await f.app.inject({ method: 'GET', url: `${A}/${checking}/balances`, headers: await f.token(stranger) })
    expect(res.statusCode).toBe(404)
  })

  it('answers 504 in the OFB envelope when the core does not answer in time', async () => {
    fault.mode = 'delay'
    const res = await get(`${A}/${checking}`)
    expect(res.statusCode).toBe(504)
    accounts.assert('GET', '/accounts/{accountId}', 504, res.json())
    expect(fault.hits).toBe(1) // timeouts are not retried
    http.breaker.onSuccess()
  })

  it('answers 502 when the core fails with 500, and 503 after retrying a 503', async () => {
    fault.mode = '500'
    const failed = await get(`${A}/${checking}`)
    expect(failed.statusCode).toBe(502)
    accounts.assert('GET', '/accounts/{accountId}', 502, failed.json())
    expect(failed.body).not.toContain('boom')
    http.breaker.onSuccess()
    fault.hits = 0
    fault.mode = '503'
    const down = await get(`${A}/${checking}`)
    expect(down.statusCode).toBe(503)
    accounts.assert('GET', '/accounts/{accountId}', 503, down.json())
    expect(fault.hits).toBe(3) // one call and two retries for an idempotent GET
    http.breaker.onSuccess()
  })

  it('refuses a core answer that core-api.yaml does not allow with 502, passing none of it on', async () => {
    fault.mode = 'malformed'
    const res = await get(`${A}/${checking}`)
    expect(res.statusCode).toBe(502)
    accounts.assert('GET', '/accounts/{accountId}', 502, res.json())
    expect(res.json().errors[0].code).toBe('BAD_GATEWAY')
    expect(res.body).not.toMatch(/script|isAdmin|NaN/)
    http.breaker.onSuccess()
  })

  it('does not follow a redirect from the core (502), so the core cannot point it at another host', async () => {
    fault.mode = 'redirect'
    const res = await get(`${A}/${checking}`)
    expect(res.statusCode).toBe(502)
    accounts.assert('GET', '/accounts/{accountId}', 502, res.json())
    expect(fault.redirected).toBe(0)
    http.breaker.onSuccess()
  })

  it('never retries a POST', async () => {
    fault.mode = '503'
    const res = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: DEMO_CUSTOMERS.ana.cpf, password: DEMO_PASSWORD } })
    expect(res.statusCode).toBe(503)
    expect(fault.hits).toBe(1)
    http.breaker.onSuccess()
  })

  it('opens the circuit after repeated failures, refuses fast, then recovers after one good trial', async () => {
    fault.mode = '500'
    for (let i = 0; i < 3; i++) expect((await get(`${A}/${checking}`)).statusCode).toBe(502)
    expect(http.breaker.state(breakerClock.now)).toBe('open')
    const hitsWhenOpened = fault.hits
    fault.mode = 'none'
    const refused = await get(`${A}/${checking}`)
    expect(refused.statusCode).toBe(503)
    accounts.assert('GET', '/accounts/{accountId}', 503, refused.json())
    expect(fault.hits).toBe(hitsWhenOpened) // the open circuit did not call the core
    breakerClock.now += 5_000
    expect(http.breaker.state(breakerClock.now)).toBe('half-open')
    const trial = await get(`${A}/${checking}`)
    expect(trial.statusCode).toBe(200)
    expect(http.breaker.state(breakerClock.now)).toBe('closed')
  })

  it('re-opens at once when the half-open trial fails', async () => {
    fault.mode = '500'
    for (let i = 0; i < 3; i++) await get(`${A}/${checking}`)
    breakerClock.now += 5_000
    expect((await get(`${A}/${checking}`)).statusCode).toBe(502)
    expect(http.breaker.state(breakerClock.now)).toBe('open')
    breakerClock.now += 5_000
    fault.mode = 'none'
    expect((await get(`${A}/${checking}`)).statusCode).toBe(200)
  })

  it('counts an unreadable answer as a failure: it opens the circuit, and a half-open trial answered so re-opens it (never stuck half-open)', async () => {
    fault.mode = 'garbled'
    for (let i = 0; i < 3; i++) expect((await get(`${A}/${checking}`)).statusCode).toBe(502)
    expect(http.breaker.state(breakerClock.now)).toBe('open')
    breakerClock.now += 5_000
    expect((await get(`${A}/${checking}`)).statusCode).toBe(502)
    expect(http.breaker.state(breakerClock.now)).toBe('open')
    breakerClock.now += 5_000
    fault.mode = 'none'
    expect((await get(`${A}/${checking}`)).statusCode).toBe(200)
    expect(http.breaker.state(breakerClock.now)).toBe('closed')
  })
})
