import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { PAGINATION_KEY_STATUS_HEADER } from '../src/routes/common.ts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { createPaginationKeys } from '../src/domain/pagination.ts'
import { demoId, DEMO_CUSTOMERS } from '../src/seed/demo-bank.ts'
import { ALL_PERMISSIONS, consentCtx, demoFixture, PUBLIC, SECRET, type Fixture } from './support.ts'

const spec = specValidator('accounts-v2.5.1.yaml')
const resourcesSpec = specValidator('resources-v3.1.0.yaml')
const BASE = '/open-banking/accounts/v2/accounts'
const checking = demoId('ana:checking')
const savings = demoId('ana:savings')
const marianaAccount = demoId('mariana:checking')
const businessChecking = demoId('business:checking')

const ana = (permissions = ALL_PERMISSIONS, resources = [{ type: 'ACCOUNT' as const, resourceId: checking }, { type: 'ACCOUNT' as const, resourceId: savings }]) =>
  consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions, resources })

describe('Accounts API v2 on the reference core', () => {
  let f: Fixture
  beforeAll(async () => { f = await demoFixture('connectors_accounts') })
  afterAll(() => f?.close())

  const get = async (url: string, ctx = ana()) => f.app.inject({ method: 'GET', url, headers: await f.token(ctx) })

  it('refuses calls without a service token (401 envelope)', async () => {
    const res = await f.app.inject({ method: 'GET', url: BASE })
    expect(res.statusCode).toBe(401)
    spec.assert('GET', '/accounts', 401, res.json())
  })

  it('refuses a service token without a consent (403)', async () => {
    const res = await get(BASE, { clientId: 'c', organisationId: 'o', scopes: ['accounts'] })
    expect(res.statusCode).toBe(403)
    spec.assert('GET', '/accounts', 403, res.json())
  })

  it('lists exactly the consented accounts, with x-v and public links', async () => {
    const res = await get(BASE, ana(ALL_PERMISSIONS, [{ type: 'ACCOUNT', resourceId: checking }]))
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-v']).toBe('2.5.1')
    const body = res.json()
    spec.assert('GET', '/accounts', 200, body)
    expect(body.data.map((a: { accountId: string }) => a.accountId)).toEqual([checking])
    expect(body.meta).toMatchObject({ totalRecords: 1, totalPages: 1 })
    expect(body.links.self).toMatch(new RegExp(`^${PUBLIC}${BASE}\\?page=1&page-size=25&pagination-key=`))
    expect(body.meta.requestDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  it('filters by accountType', async () => {
    const body = (await get(`${BASE}?accountType=CONTA_POUPANCA`)).json()
    spec.assert('GET', '/accounts', 200, body)
    expect(body.data.map((a: { accountId: string }) => a.accountId)).toEqual([savings])
    expect(body.links.self).toContain('accountType=CONTA_POUPANCA')
  })

  it('needs ACCOUNTS_READ', async () => {
    const res = await get(BASE, ana(['RESOURCES_READ', 'ACCOUNTS_BALANCES_READ']))
    expect(res.statusCode).toBe(403)
    spec.assert('GET', '/accounts', 403, res.json())
  })

  it('serves the account, balances and overdraft limits', async () => {
    const one = await get(`${BASE}/${checking}`)
    expect(one.statusCode).toBe(200)
    spec.assert('GET', '/accounts/{accountId}', 200, one.json())
    expect(one.json().data).toMatchObject({ type: 'CONTA_DEPOSITO_A_VISTA', subtype: 'INDIVIDUAL', currency: 'BRL', number: '00012345' })
    const bal = await get(`${BASE}/${checking}/balances`)
    expect(bal.statusCode).toBe(200)
    spec.assert('GET', '/accounts/{accountId}/balances', 200, bal.json())
    const lim = await get(`${BASE}/${checking}/overdraft-limits`)
    expect(lim.statusCode).toBe(200)
    spec.assert('GET', '/accounts/{accountId}/overdraft-limits', 200, lim.json())
    expect(lim.json().data.overdraftContractedLimit).toEqual({ amount: '5000.00', currency: 'BRL' })
  })

  it('refuses an account outside the consent with 403, even one of the same customer', async () => {
    const res = await get(`${BASE}/${savings}`, ana(ALL_PERMISSIONS, [{ type: 'ACCOUNT', resourceId: checking }]))
    expect(res.statusCode).toBe(403)
    spec.assert('GET', '/accounts/{accountId}', 403, res.json())
  })

  it('answers 404 for a consented id the customer does not hold, and never another customer\'s data', async () => {
    const ctx = ana(ALL_PERMISSIONS, [{ type: 'ACCOUNT', resourceId: marianaAccount }])
    for (const path of ['', '/balances', '/overdraft-limits', '/transactions']) {
      const res = await get(`${BASE}/${marianaAccount}${path}`, ctx)
      expect(res.statusCode).toBe(404)
      expect(res.body).not.toContain('00099887')
    }
    const list = (await get(BASE, ctx)).json()
    expect(list.data).toEqual([])
  })

  it('answers 403 STATUS_RESOURCE_TEMPORARILY_UNAVAILABLE for a blocked account', async () => {
    await f.pool.query(`update account set status = 'TEMPORARILY_UNAVAILABLE' where account_id = $1`, [savings])
    try {
      const res = await get(`${BASE}/${savings}/balances`)
      expect(res.statusCode).toBe(403)
      expect(res.json().errors[0].code).toBe('STATUS_RESOURCE_TEMPORARILY_UNAVAILABLE')
      spec.assert('GET', '/accounts/{accountId}/balances', 403, res.json())
      const resources = await get('/open-banking/resources/v3/resources')
      resourcesSpec.assert('GET', '/resources', 200, resources.json())
      expect(resources.json().data).toContainEqual({ resourceId: savings, type: 'ACCOUNT', status: 'TEMPORARILY_UNAVAILABLE' })
    } finally {
      await f.pool.query(`update account set status = 'AVAILABLE' where account_id = $1`, [savings])
    }
  })

  describe('transactions', () => {
    const today = () => brasiliaToday(f.clock.now)
    const url = (q: string) => `${BASE}/${checking}/transactions?${q}`

    it('defaults to today and validates against the spec', async () => {
      const res = await get(`${BASE}/${checking}/transactions`)
      expect(res.statusCode).toBe(200)
      const body = res.json()
      spec.assert('GET', '/accounts/{accountId}/transactions', 200, body)
      for (const t of body.data) expect(t.transactionDateTime.slice(0, 10) >= addDays(today(), -1)).toBe(true)
    })

    it('pages through 12 months newest first with stable ids and no gaps', async () => {
      const q = `fromBookingDate=${addDays(today(), -364)}&toBookingDate=${today()}`
      const all = (await get(url(`${q}&page-size=1000`))).json()
      spec.assert('GET', '/accounts/{accountId}/transactions', 200, all)
      expect(all.data.length).toBeGreaterThan(100)
      const times = all.data.map((t: { transactionDateTime: string }) => t.transactionDateTime)
      expect([...times].sort().reverse()).toEqual(times)
      const seen: string[] = []
      let next: string | undefined = url(`${q}&page-size=25`)
      let pages = 0
      while (next) {
        const res = await get(next.replace(PUBLIC, ''))
        expect(res.statusCode).toBe(200)
        const body = res.json()
        spec.assert('GET', '/accounts/{accountId}/transactions', 200, body)
        expect(body.links.last).toBeUndefined()
        seen.push(...body.data.map((t: { transactionId: string }) => t.transactionId))
        next = body.links.next
        pages += 1
        if (pages > 1) expect(res.headers[PAGINATION_KEY_STATUS_HEADER]).toBe('valid')
      }
      expect(seen).toEqual(all.data.map((t: { transactionId: string }) => t.transactionId))
    })

    it('filters by creditDebitIndicator', async () => {
      const body = (await get(url(`fromBookingDate=${addDays(today(), -60)}&toBookingDate=${today()}&creditDebitIndicator=CREDITO&page-size=1000`))).json()
      expect(body.data.length).toBeGreaterThan(0)
      expect(new Set(body.data.map((t: { creditDebitType: string }) => t.creditDebitType))).toEqual(new Set(['CREDITO']))
    })

    it('answers 422 for windows beyond 12 months or reversed, and 400 for half a window', async () => {
      for (const q of [`fromBookingDate=${addDays(today(), -400)}&toBookingDate=${today()}`, `fromBookingDate=${today()}&toBookingDate=${addDays(today(), -1)}`]) {
        const res = await get(url(q))
        expect(res.statusCode).toBe(422)
        spec.assert('GET', '/accounts/{accountId}/transactions', 422, res.json())
      }
      const half = await get(url(`fromBookingDate=${today()}`))
      expect(half.statusCode).toBe(400)
      spec.assert('GET', '/accounts/{accountId}/transactions', 400, half.json())
      const bad = await get(url('fromBookingDate=2025-02-30&toBookingDate=2025-03-01'))
      expect(bad.statusCode).toBe(400)
    })

    it('transactions-current accepts D-6 and refuses D-7 with 422', async () => {
      const ok = await get(`${BASE}/${checking}/transactions-current?fromBookingDate=${addDays(today(), -6)}&toBookingDate=${today()}&page-size=1000`)
      expect(ok.statusCode).toBe(200)
      spec.assert('GET', '/accounts/{accountId}/transactions-current', 200, ok.json())
      expect(ok.json().data.length).toBeGreaterThan(0)
      const old = await get(`${BASE}/${checking}/transactions-current?fromBookingDate=${addDays(today(), -7)}&toBookingDate=${today()}`)
      expect(old.statusCode).toBe(422)
      spec.assert('GET', '/accounts/{accountId}/transactions-current', 422, old.json())
    })
  })

  describe('pagination', () => {
    const many = () => {
      const resources = Array.from({ length: 30 }, (_, i) => ({ type: 'ACCOUNT' as const, resourceId: i === 0 ? checking : demoId(`nobody:${i}`) }))
      return ana(ALL_PERMISSIONS, resources)
    }

    it('page-size 1 is treated as 25, 1000 is accepted and 1001 refused with 422', async () => {
      const small = (await get('/open-banking/resources/v3/resources?page-size=1', many())).json()
      resourcesSpec.assert('GET', '/resources', 200, small)
      expect(small.data).toHaveLength(25)
      expect(small.meta).toMatchObject({ totalRecords: 30, totalPages: 2 })
      expect(small.links.self).toContain('page-size=25')
      expect(small.links.next).toContain('page=2')
      expect(small.links.last).toContain('page=2')
      expect(small.links.prev).toBeUndefined()
      const big = (await get('/open-banking/resources/v3/resources?page-size=1000', many())).json()
      expect(big.data).toHaveLength(30)
      expect(big.links.next).toBeUndefined()
      const tooBig = await get('/open-banking/resources/v3/resources?page-size=1001', many())
      expect(tooBig.statusCode).toBe(422)
      resourcesSpec.assert('GET', '/resources', 422, tooBig.json())
    })

    it('the last page has first and prev links; beyond it is 422 PAGE_NOT_FOUND; page 1 of nothing is fine', async () => {
      const last = (await get('/open-banking/resources/v3/resources?page=2', many())).json()
      expect(last.data).toHaveLength(5)
      expect(last.links.first).toContain('page=1')
      expect(last.links.prev).toContain('page=1')
      expect(last.links.next).toBeUndefined()
      const beyond = await get('/open-banking/resources/v3/resources?page=3', many())
      expect(beyond.statusCode).toBe(422)
      expect(beyond.json().errors[0].code).toBe('PAGE_NOT_FOUND')
      resourcesSpec.assert('GET', '/resources', 422, beyond.json())
      const empty = await get(`${BASE}?page=1`, ana(ALL_PERMISSIONS, []))
      expect(empty.statusCode).toBe(200)
      expect(empty.json().meta).toMatchObject({ totalRecords: 0, totalPages: 1 })
      const beyondAccounts = await get(`${BASE}?page=2`)
      expect(beyondAccounts.json().errors[0].code).toBe('PAGE_NOT_FOUND')
      const beyondTx = await get(`${BASE}/${checking}/transactions?page=500&page-size=1000`)
      expect(beyondTx.statusCode).toBe(422)
      expect(beyondTx.json().errors[0].code).toBe('PAGE_NOT_FOUND')
    })

    it('rejects a non-numeric page with 400', async () => {
      const res = await get(`${BASE}?page=abc`)
      expect(res.statusCode).toBe(400)
      spec.assert('GET', '/accounts', 400, res.json())
    })

    it('reuses a valid pagination-key, replaces forged, expired and foreign ones (the call still succeeds)', async () => {
      const first = await get(BASE)
      expect(first.headers[PAGINATION_KEY_STATUS_HEADER]).toBe('absent')
      const key = new URL(first.json().links.self).searchParams.get('pagination-key')!
      const again = await get(`${BASE}?pagination-key=${key}`)
      expect(again.headers[PAGINATION_KEY_STATUS_HEADER]).toBe('valid')
      expect(new URL(again.json().links.self).searchParams.get('pagination-key')).toBe(key)

      const forged = `${key.split('.')[0]}.${'A'.repeat(43)}`
      const r1 = await get(`${BASE}?pagination-key=${forged}`)
      expect(r1.statusCode).toBe(200)
      expect(r1.headers[PAGINATION_KEY_STATUS_HEADER]).toBe('invalid')
      expect(new URL(r1.json().links.self).searchParams.get('pagination-key')).not.toBe(forged)

      const expired = createPaginationKeys(SECRET).mint(`urn:bank:consent-1|${BASE}`, f.clock.now.getTime() - 61 * 60_000)
      const r2 = await get(`${BASE}?pagination-key=${expired}`)
      expect(r2.headers[PAGINATION_KEY_STATUS_HEADER]).toBe('invalid')

      const other = consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ALL_PERMISSIONS, resources: [], consentId: 'urn:bank:consent-2' })
      const r3 = await get(`${BASE}?pagination-key=${key}`, other)
      expect(r3.headers[PAGINATION_KEY_STATUS_HEADER]).toBe('invalid')
    })
  })

  describe('business consent', () => {
    const biz = consentCtx({ cpf: DEMO_CUSTOMERS.carlos.cpf, cnpj: DEMO_CUSTOMERS.business.cnpj, permissions: ALL_PERMISSIONS, resources: [{ type: 'ACCOUNT', resourceId: businessChecking }] })
    it('reads the business account through its representative', async () => {
      const res = await get(`${BASE}/${businessChecking}/transactions?fromBookingDate=${addDays(brasiliaToday(f.clock.now), -30)}&toBookingDate=${brasiliaToday(f.clock.now)}`, biz)
      expect(res.statusCode).toBe(200)
      spec.assert('GET', '/accounts/{accountId}/transactions', 200, res.json())
      expect(res.json().data.length).toBeGreaterThan(0)
    })
    it('refuses a person who does not represent the business', async () => {
      const intruder = consentCtx({ cpf: DEMO_CUSTOMERS.mariana.cpf, cnpj: DEMO_CUSTOMERS.business.cnpj, permissions: ALL_PERMISSIONS, resources: [{ type: 'ACCOUNT', resourceId: businessChecking }] })
      const res = await get(`${BASE}/${businessChecking}`, intruder)
      expect(res.statusCode).toBe(404)
    })
  })
})
