import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { AuthenticatedCustomer, SelectableResources } from '@ponte/contracts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { demoId, DEMO_CUSTOMERS, DEMO_PASSWORD, seedDemoBank } from '../src/seed/demo-bank.ts'
import { ALL_PERMISSIONS, consentCtx, demoFixture, type Fixture } from './support.ts'

const cards = specValidator('credit-cards-accounts-v2.4.0.yaml')
const customers = specValidator('customers-v2.3.0.yaml')
const loans = specValidator('loans-v2.7.0.yaml')
const resources = specValidator('resources-v3.1.0.yaml')
const channels = specValidator('channels-v2.1.0.yaml')
const opendata = specValidator('opendata-accounts-v1.1.0.yaml')

const anaCard = demoId('ana:card')
const bizCard = demoId('business:card')
const anaLoan = demoId('ana:loan')
const anaCtx = consentCtx({
  cpf: DEMO_CUSTOMERS.ana.cpf,
  permissions: ALL_PERMISSIONS.filter((p) => !p.startsWith('CUSTOMERS_BUSINESS')),
  resources: [
    { type: 'ACCOUNT', resourceId: demoId('ana:checking') },
    { type: 'CREDIT_CARD_ACCOUNT', resourceId: anaCard },
    { type: 'LOAN', resourceId: anaLoan },
  ],
})
const bizCtx = consentCtx({
  cpf: DEMO_CUSTOMERS.carlos.cpf,
  cnpj: DEMO_CUSTOMERS.business.cnpj,
  permissions: ALL_PERMISSIONS.filter((p) => !p.startsWith('CUSTOMERS_PERSONAL')),
  resources: [{ type: 'CREDIT_CARD_ACCOUNT', resourceId: bizCard }, { type: 'ACCOUNT', resourceId: demoId('business:checking') }],
})

describe('data APIs on the reference core', () => {
  let f: Fixture
  beforeAll(async () => { f = await demoFixture('connectors_data') })
  afterAll(() => f?.close())
  const get = async (url: string, ctx: Parameters<Fixture['token']>[0] = anaCtx) => f.app.inject({ method: 'GET', url, headers: await f.token(ctx) })

  it('loads the demo bank once (second run is a no-op)', async () => {
    expect(await seedDemoBank(f.pool)).toEqual({ loaded: false })
    const { rows } = await f.pool.query(`select count(*)::int as n from customer`)
    expect(rows[0].n).toBe(7)
  })

  describe('internal customer API', () => {
    it('authenticates the demo customers and lists the businesses they act for', async () => {
      const res = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: DEMO_CUSTOMERS.carlos.cpf, password: DEMO_PASSWORD } })
      expect(res.statusCode).toBe(200)
      expect(AuthenticatedCustomer.parse(res.json())).toEqual({ cpf: DEMO_CUSTOMERS.carlos.cpf, name: DEMO_CUSTOMERS.carlos.name, businesses: [{ cnpj: DEMO_CUSTOMERS.business.cnpj, name: DEMO_CUSTOMERS.business.name }] })
    })
    it('answers 401 with the same message for a wrong password and an unknown CPF', async () => {
      const wrong = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: DEMO_CUSTOMERS.ana.cpf, password: 'nope' } })
      const unknown = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: '00000000191', password: DEMO_PASSWORD } })
      expect([wrong.statusCode, unknown.statusCode]).toEqual([401, 401])
      expect(wrong.json().errors[0].detail).toBe(unknown.json().errors[0].detail)
      const noToken = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', payload: { cpf: DEMO_CUSTOMERS.ana.cpf, password: DEMO_PASSWORD } })
      expect(noToken.statusCode).toBe(401)
    })
    it('lists selectable resources of a person, of a business, and refuses a business the person does not represent', async () => {
      const person = SelectableResources.parse((await f.app.inject({ method: 'GET', url: `/internal/customers/${DEMO_CUSTOMERS.ana.cpf}/resources`, headers: await f.token() })).json())
      expect(person.resources.map((r) => r.type).sort()).toEqual(['ACCOUNT', 'ACCOUNT', 'CREDIT_CARD_ACCOUNT', 'LOAN'])
      expect(person.resources.find((r) => r.resourceId === demoId('ana:checking'))).toMatchObject({ label: 'Conta corrente', maskedNumber: '•••• 2345' })
      const biz = SelectableResources.parse((await f.app.inject({ method: 'GET', url: `/internal/customers/${DEMO_CUSTOMERS.carlos.cpf}/resources?cnpj=${DEMO_CUSTOMERS.business.cnpj}`, headers: await f.token() })).json())
      expect(biz.resources.map((r) => r.type).sort()).toEqual(['ACCOUNT', 'ACCOUNT', 'CREDIT_CARD_ACCOUNT'])
      expect(biz.resources.some((r) => r.approversRequired !== undefined)).toBe(false)
      // The business whose payments need two approvers: both partners act for it and see the policy on its account.
      for (const partner of [DEMO_CUSTOMERS.paulo, DEMO_CUSTOMERS.juliana]) {
        const login = await f.app.inject({ method: 'POST', url: '/internal/customers/authenticate', headers: await f.token(), payload: { cpf: partner.cpf, password: DEMO_PASSWORD } })
        expect(AuthenticatedCustomer.parse(login.json()).businesses).toEqual([{ cnpj: DEMO_CUSTOMERS.transport.cnpj, name: DEMO_CUSTOMERS.transport.name }])
        const two = SelectableResources.parse((await f.app.inject({ method: 'GET', url: `/internal/customers/${partner.cpf}/resources?cnpj=${DEMO_CUSTOMERS.transport.cnpj}`, headers: await f.token() })).json())
        expect(two.resources).toEqual([expect.objectContaining({ type: 'ACCOUNT', resourceId: demoId('transport:checking'), approversRequired: 2, paymentAccount: expect.objectContaining({ number: '000880015', accountType: 'CACC' }) })])
      }
      const mariana = SelectableResources.parse((await f.app.inject({ method: 'GET', url: `/internal/customers/${DEMO_CUSTOMERS.mariana.cpf}/resources`, headers: await f.token() })).json())
      expect(mariana.resources).toHaveLength(1)
      const refused = await f.app.inject({ method: 'GET', url: `/internal/customers/${DEMO_CUSTOMERS.mariana.cpf}/resources?cnpj=${DEMO_CUSTOMERS.business.cnpj}`, headers: await f.token() })
      expect(refused.statusCode).toBe(404)
    })
  })

  it('Resources API lists exactly the consent resources with their status', async () => {
    const ctx = consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ['RESOURCES_READ'], resources: [...anaCtx.consent!.resources, { type: 'ACCOUNT', resourceId: demoId('mariana:checking') }] })
    const res = await get('/open-banking/resources/v3/resources', ctx)
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-v']).toBe('3.1.0')
    resources.assert('GET', '/resources', 200, res.json())
    expect(res.json().data).toEqual([
      { resourceId: demoId('ana:checking'), type: 'ACCOUNT', status: 'AVAILABLE' },
      { resourceId: anaCard, type: 'CREDIT_CARD_ACCOUNT', status: 'AVAILABLE' },
      { resourceId: anaLoan, type: 'LOAN', status: 'AVAILABLE' },
      { resourceId: demoId('mariana:checking'), type: 'ACCOUNT', status: 'UNAVAILABLE' },
    ])
    const denied = await get('/open-banking/resources/v3/resources', consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ['ACCOUNTS_READ'], resources: [] }))
    expect(denied.statusCode).toBe(403)
    resources.assert('GET', '/resources', 403, denied.json())
  })

  describe('Credit cards', () => {
    const B = '/open-banking/credit-cards-accounts/v2/accounts'
    it('serves list, account, limits and bills against the spec', async () => {
      const list = await get(B)
      expect(list.headers['x-v']).toBe('2.4.0')
      cards.assert('GET', '/accounts', 200, list.json())
      expect(list.json().data.map((c: { creditCardAccountId: string }) => c.creditCardAccountId)).toEqual([anaCard])
      const one = await get(`${B}/${anaCard}`)
      cards.assert('GET', '/accounts/{creditCardAccountId}', 200, one.json())
      expect(one.json().data.paymentMethod).toHaveLength(2)
      const limits = await get(`${B}/${anaCard}/limits`)
      cards.assert('GET', '/accounts/{creditCardAccountId}/limits', 200, limits.json())
      const bills = await get(`${B}/${anaCard}/bills`)
      cards.assert('GET', '/accounts/{creditCardAccountId}/bills', 200, bills.json())
      expect(bills.json().meta.totalRecords).toBe(13)
      const dues = bills.json().data.map((b: { dueDate: string }) => b.dueDate)
      expect([...dues].sort().reverse()).toEqual(dues)
    })
    it('serves a bill\'s transactions and refuses another card\'s bill with 404', async () => {
      const bills = (await get(`/open-banking/credit-cards-accounts/v2/accounts/${anaCard}/bills?page-size=1000`)).json().data
      const closed = bills.find((b: { payments: unknown[] }) => b.payments.length > 0)
      const tx = await get(`${B}/${anaCard}/bills/${closed.billId}/transactions?page-size=1000`)
      expect(tx.statusCode).toBe(200)
      cards.assert('GET', '/accounts/{creditCardAccountId}/bills/{billId}/transactions', 200, tx.json())
      const sum = tx.json().data.reduce((s: number, t: { brazilianAmount: { amount: string } }) => s + Number(t.brazilianAmount.amount), 0)
      expect(sum.toFixed(2)).toBe(closed.billTotalAmount.amount)
      const bizBill = demoId(`business:card:bill:${closed.dueDate}`)
      const other = await get(`${B}/${anaCard}/bills/${bizBill}/transactions`)
      expect(other.statusCode).toBe(404)
      cards.assert('GET', '/accounts/{creditCardAccountId}/bills/{billId}/transactions', 404, other.json())
    })
    it('serves transactions and transactions-current with their windows', async () => {
      const today = brasiliaToday(f.clock.now)
      const tx = await get(`${B}/${anaCard}/transactions?fromTransactionDate=${addDays(today, -90)}&toTransactionDate=${today}&page-size=100`)
      expect(tx.statusCode).toBe(200)
      cards.assert('GET', '/accounts/{creditCardAccountId}/transactions', 200, tx.json())
      expect(tx.json().data.length).toBeGreaterThan(0)
      const current = await get(`${B}/${anaCard}/transactions-current`)
      cards.assert('GET', '/accounts/{creditCardAccountId}/transactions-current', 200, current.json())
      const old = await get(`${B}/${anaCard}/transactions-current?fromTransactionDate=${addDays(today, -10)}&toTransactionDate=${today}`)
      expect(old.statusCode).toBe(422)
      cards.assert('GET', '/accounts/{creditCardAccountId}/transactions-current', 422, old.json())
    })
    it('needs the right permission and a consented card', async () => {
      const noBills = await get(`${B}/${anaCard}/bills`, consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ['CREDIT_CARDS_ACCOUNTS_READ'], resources: anaCtx.consent!.resources }))
      expect(noBills.statusCode).toBe(403)
      const foreign = await get(`${B}/${bizCard}`)
      expect(foreign.statusCode).toBe(403)
      cards.assert('GET', '/accounts/{creditCardAccountId}', 403, foreign.json())
    })
    it('serves the business card to the business consent only', async () => {
      const res = await get(`${B}/${bizCard}/limits`, bizCtx)
      expect(res.statusCode).toBe(200)
      cards.assert('GET', '/accounts/{creditCardAccountId}/limits', 200, res.json())
      const asPerson = await get(`${B}/${bizCard}/limits`, consentCtx({ cpf: DEMO_CUSTOMERS.carlos.cpf, permissions: ALL_PERMISSIONS, resources: [{ type: 'CREDIT_CARD_ACCOUNT', resourceId: bizCard }] }))
      expect(asPerson.statusCode).toBe(404)
    })
  })

  describe('Customers', () => {
    const B = '/open-banking/customers/v2'
    it('serves personal identification, qualification and financial relations', async () => {
      const id = await get(`${B}/personal/identifications`)
      expect(id.statusCode).toBe(200)
      expect(id.headers['x-v']).toBe('2.3.0')
      customers.assert('GET', '/personal/identifications', 200, id.json())
      expect(id.json().data[0].documents.cpfNumber).toBe(DEMO_CUSTOMERS.ana.cpf)
      const q = await get(`${B}/personal/qualifications`)
      customers.assert('GET', '/personal/qualifications', 200, q.json())
      const fr = await get(`${B}/personal/financial-relations`)
      customers.assert('GET', '/personal/financial-relations', 200, fr.json())
    })
    it('serves business registration data to the business consent', async () => {
      for (const path of ['identifications', 'qualifications', 'financial-relations']) {
        const res = await get(`${B}/business/${path}`, bizCtx)
        expect(res.statusCode).toBe(200)
        customers.assert('GET', `/business/${path}`, 200, res.json())
      }
      expect((await get(`${B}/business/identifications`, bizCtx)).json().data[0].cnpjNumber).toBe(DEMO_CUSTOMERS.business.cnpj)
    })
    it('refuses personal data without the permission and business data to a personal consent', async () => {
      const noPerm = await get(`${B}/personal/qualifications`, consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ'], resources: [] }))
      expect(noPerm.statusCode).toBe(403)
      customers.assert('GET', '/personal/qualifications', 403, noPerm.json())
      const cross = await get(`${B}/business/identifications`, consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ALL_PERMISSIONS, resources: [] }))
      expect(cross.statusCode).toBe(403)
    })
    it('never shows one customer\'s registration under another\'s consent', async () => {
      const mariana = (await get(`${B}/personal/identifications`, consentCtx({ cpf: DEMO_CUSTOMERS.mariana.cpf, permissions: ALL_PERMISSIONS, resources: [] }))).json()
      expect(mariana.data[0].documents.cpfNumber).toBe(DEMO_CUSTOMERS.mariana.cpf)
      expect(JSON.stringify(mariana)).not.toContain(DEMO_CUSTOMERS.ana.cpf)
    })
  })

  describe('Loans', () => {
    const B = '/open-banking/loans/v2/contracts'
    it('serves contracts, contract, warranties, instalments and payments', async () => {
      const list = await get(B)
      expect(list.headers['x-v']).toBe('2.7.0')
      loans.assert('GET', '/contracts', 200, list.json())
      expect(list.json().data).toHaveLength(1)
      const one = await get(`${B}/${anaLoan}`)
      loans.assert('GET', '/contracts/{contractId}', 200, one.json())
      const w = await get(`${B}/${anaLoan}/warranties`)
      loans.assert('GET', '/contracts/{contractId}/warranties', 200, w.json())
      const i = await get(`${B}/${anaLoan}/scheduled-instalments`)
      loans.assert('GET', '/contracts/{contractId}/scheduled-instalments', 200, i.json())
      expect(i.json().data.totalNumberOfInstalments).toBe(24)
      expect(i.json().data.paidInstalments + i.json().data.dueInstalments + i.json().data.pastDueInstalments).toBe(24)
      const p = await get(`${B}/${anaLoan}/payments`)
      loans.assert('GET', '/contracts/{contractId}/payments', 200, p.json())
      expect(p.json().data.releases).toHaveLength(i.json().data.paidInstalments)
    })
    it('refuses a contract outside the consent and a missing permission', async () => {
      const outside = await get(`${B}/${anaLoan}`, consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ALL_PERMISSIONS, resources: [] }))
      expect(outside.statusCode).toBe(403)
      loans.assert('GET', '/contracts/{contractId}', 403, outside.json())
      const noPerm = await get(`${B}/${anaLoan}/payments`, consentCtx({ cpf: DEMO_CUSTOMERS.ana.cpf, permissions: ['LOANS_READ'], resources: anaCtx.consent!.resources }))
      expect(noPerm.statusCode).toBe(403)
      const stranger = await get(`${B}/${anaLoan}`, consentCtx({ cpf: DEMO_CUSTOMERS.mariana.cpf, permissions: ALL_PERMISSIONS, resources: [{ type: 'LOAN', resourceId: anaLoan }] }))
      expect(stranger.statusCode).toBe(404)
      expect(stranger.body).not.toContain('2025000123')
    })
  })

  describe('Open data', () => {
    it('serves every channel kind against the Channels spec', async () => {
      for (const kind of ['branches', 'electronic-channels', 'phone-channels', 'banking-agents', 'shared-automated-teller-machines']) {
        const res = await get(`/open-banking/channels/v2/${kind}`, { clientId: 'c', organisationId: 'o', scopes: [] })
        expect(res.statusCode).toBe(200)
        expect(res.headers['x-v']).toBe('2.1.0')
        channels.assert('GET', `/${kind}`, 200, res.json())
      }
      const beyond = await get('/open-banking/channels/v2/branches?page=2', { clientId: 'c', organisationId: 'o', scopes: [] })
      expect(beyond.statusCode).toBe(422)
      channels.assert('GET', '/branches', 422, beyond.json())
    })
    it('serves personal and business account offers against the Open Data Accounts spec', async () => {
      for (const segment of ['personal', 'business']) {
        const res = await get(`/open-banking/opendata-accounts/v1/${segment}-accounts`, { clientId: 'c', organisationId: 'o', scopes: [] })
        expect(res.statusCode).toBe(200)
        expect(res.headers['x-v']).toBe('1.1.0')
        opendata.assert('GET', `/${segment}-accounts`, 200, res.json())
      }
    })
    it('still needs a service token', async () => {
      expect((await f.app.inject({ method: 'GET', url: '/open-banking/channels/v2/branches' })).statusCode).toBe(401)
    })
  })
})
