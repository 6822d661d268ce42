import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentEvent } from '@ponte/contracts'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { specValidator } from '@ponte/testkit'
import { ACCOUNTS, BASE_URL, CNPJ, CPF, DAY, OTHER_CPF, isoIn, startConsentApp, type TestConsentApp } from './helpers.ts'

const spec = specValidator('consents-v3.3.1.yaml')
const API = '/open-banking/consents/v3'
const CARD_BILLS = ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ', 'RESOURCES_READ']
const loggedUser = { document: { identification: CPF, rel: 'CPF' } }
const businessEntity = { document: { identification: CNPJ, rel: 'CNPJ' } }

describe('Consents API v3.3.1', () => {
  let t: TestConsentApp
  // This bank does not offer the credit-card bills group, so requests for it are trimmed.
  beforeAll(async () => {
    t = await startConsentApp({
      prefix: 'consent_api',
      offeredGroups: ['CUSTOMERS_PERSONAL_IDENTIFICATIONS', 'CUSTOMERS_BUSINESS_IDENTIFICATIONS', 'ACCOUNTS_BALANCES', 'ACCOUNTS_TRANSACTIONS',
        'ACCOUNTS_OVERDRAFT_LIMITS', 'CREDIT_CARDS_LIMITS', 'CREDIT_CARDS_TRANSACTIONS'],
    })
  })
  afterAll(async () => t?.close())

  async function post(data: Record<string, unknown>, headers?: Record<string, string>) {
    const res = await t.app.inject({ method: 'POST', url: `${API}/consents`, headers: headers ?? (await t.tpp()), payload: { data } })
    spec.assert('post', '/consents', res.statusCode, res.json())
    return res
  }
  async function call(method: 'GET' | 'DELETE', path: string, specPath: string, headers?: Record<string, string>) {
    const res = await t.app.inject({ method, url: `${API}${path}`, headers: headers ?? (await t.tpp()) })
    spec.assert(method, specPath, res.statusCode, res.body === '' ? undefined : res.json())
    return res
  }
  const errorCode = (res: { json(): { errors: Array<{ code: string }> } }) => res.json().errors[0]!.code

  describe('POST /consents', () => {
    it('creates an AWAITING_AUTHORISATION consent with an unguessable urn id, x-v and the echoed interaction id', async () => {
      const headers = await t.tpp()
      const expiry = isoIn(t.clock, 30 * DAY)
      const res = await post({ loggedUser, permissions: [...ACCOUNTS].reverse(), expirationDateTime: expiry }, headers)
      expect(res.statusCode).toBe(201)
      expect(res.headers['x-v']).toBe('3.3.1')
      expect(res.headers['x-fapi-interaction-id']).toBe(headers['x-fapi-interaction-id'])
      const { data, links } = res.json()
      expect(data.consentId).toMatch(/^urn:ponte:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(data).toMatchObject({ status: 'AWAITING_AUTHORISATION', permissions: ACCOUNTS, expirationDateTime: expiry })
      expect(links.self).toBe(`${BASE_URL}${API}/consents/${data.consentId}`)
      const { rows } = await t.pool.query('select payload from outbox where key = $1', [data.consentId])
      expect(rows.map((r) => ConsentEvent.parse(r.payload).type)).toEqual(['consent.created'])
      expect(rows[0].payload.interactionId).toBe(headers['x-fapi-interaction-id'])
      const audit = await t.pool.query('select action, to_status, actor_type, via from consent_audit where consent_id = $1', [data.consentId])
      expect(audit.rows).toEqual([{ action: 'created', to_status: 'AWAITING_AUTHORISATION', actor_type: 'TPP', via: 'gateway' }])
    })

    it('treats an omitted expiry and the legacy 2300-01-01 date as indefinite', async () => {
      for (const extra of [{}, { expirationDateTime: '2300-01-01T00:00:00Z' }]) {
        const res = await post({ loggedUser, permissions: ACCOUNTS, ...extra })
        expect(res.statusCode).toBe(201)
        expect(res.json().data).not.toHaveProperty('expirationDateTime')
      }
    })

    it('trims per-resource groups the bank does not offer and keeps grouped products', async () => {
      const loans = ['LOANS_READ', 'LOANS_WARRANTIES_READ', 'LOANS_SCHEDULED_INSTALMENTS_READ', 'LOANS_PAYMENTS_READ']
      const res = await post({ loggedUser, permissions: [...new Set([...ACCOUNTS, ...CARD_BILLS, ...loans])] })
      expect(res.statusCode).toBe(201)
      expect(res.json().data.permissions).toEqual(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'LOANS_READ', 'LOANS_SCHEDULED_INSTALMENTS_READ',
        'LOANS_PAYMENTS_READ', 'LOANS_WARRANTIES_READ', 'RESOURCES_READ'])
    })

    it.each([
      ['SEM_PERMISSOES_FUNCIONAIS_RESTANTES', { loggedUser, permissions: CARD_BILLS }],
      ['COMBINACAO_PERMISSOES_INCORRETA', { loggedUser, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ'] }],
      ['COMBINACAO_PERMISSOES_INCORRETA', { loggedUser, permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'] }],
      ['PERMISSAO_PF_PJ_EM_CONJUNTO', { loggedUser, businessEntity, permissions: ['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'] }],
      ['INFORMACOES_PJ_NAO_INFORMADAS', { loggedUser, permissions: ['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'] }],
      ['PERMISSOES_PJ_INCORRETAS', { loggedUser, businessEntity, permissions: ['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'RESOURCES_READ'] }],
    ])('answers 422 %s', async (code, data) => {
      const res = await post(data)
      expect([res.statusCode, errorCode(res)]).toEqual([422, code])
    })

    it('answers 422 DATA_EXPIRACAO_INVALIDA for a past expiry or one more than a year ahead', async () => {
      for (const ms of [-60_000, 367 * DAY]) {
        const res = await post({ loggedUser, permissions: ACCOUNTS, expirationDateTime: isoIn(t.clock, ms) })
        expect([res.statusCode, errorCode(res)]).toEqual([422, 'DATA_EXPIRACAO_INVALIDA'])
      }
    })

    it('answers 400 for an unknown or repeated permission and a malformed body', async () => {
      for (const data of [
        { loggedUser, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ', 'PIX_READ'] },
        { loggedUser, permissions: [...ACCOUNTS, 'RESOURCES_READ'] },
        { permissions: ACCOUNTS },
        { loggedUser: { document: { identification: '123', rel: 'CPF' } }, permissions: ACCOUNTS },
        { loggedUser, permissions: ACCOUNTS, expirationDateTime: '2026-13-01T00:00:00Z' },
      ]) {
        const res = await post(data)
        expect(res.statusCode, JSON.stringify(data)).toBe(400)
      }
    })

    it('answers 401 without a valid service token or from a service other than the gateway', async () => {
      const base = await t.tpp()
      const noToken = { 'x-fapi-interaction-id': randomUUID() }
      const forged = { ...base, [SERVICE_TOKEN_HEADER]: base[SERVICE_TOKEN_HEADER]!.slice(0, -4) + 'AAAA' }
      const fromAdmin = { ...base, [SERVICE_TOKEN_HEADER]: await t.auth.issuer('admin').sign('consent', { clientId: 'c', organisationId: 'o', scopes: ['consents'] }) }
      const noCtx = { ...base, [SERVICE_TOKEN_HEADER]: await t.auth.issuer('gateway').sign('consent') }
      for (const headers of [noToken, forged, fromAdmin, noCtx]) {
        const res = await post({ loggedUser, permissions: ACCOUNTS }, headers)
        expect(res.statusCode).toBe(401)
        expect(res.headers['x-v']).toBe('3.3.1')
      }
    })

    it('answers 400 with a generated x-fapi-interaction-id when it is missing or invalid', async () => {
      const headers = await t.tpp({}, { 'x-fapi-interaction-id': 'not-a-uuid' })
      const res = await post({ loggedUser, permissions: ACCOUNTS }, headers)
      expect(res.statusCode).toBe(400)
      expect(res.headers['x-fapi-interaction-id']).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('answers 403 without the consents scope', async () => {
      const res = await post({ loggedUser, permissions: ACCOUNTS }, await t.tpp({ scopes: ['accounts'] }))
      expect(res.statusCode).toBe(403)
    })
  })

  describe('GET and DELETE /consents/{consentId}', () => {
    it('reads its own consent, 403 for another client, 404 when unknown, 400 when malformed', async () => {
      const id = await t.create()
      const own = await call('GET', `/consents/${id}`, '/consents/{consentId}')
      expect(own.statusCode).toBe(200)
      expect(own.json().data).toMatchObject({ consentId: id, status: 'AWAITING_AUTHORISATION', permissions: ACCOUNTS })
      const other = await call('GET', `/consents/${id}`, '/consents/{consentId}', await t.tpp({ clientId: 'client-b' }))
      expect(other.statusCode).toBe(403)
      expect(other.body).not.toContain(CPF)
      expect((await call('GET', `/consents/urn:ponte:${randomUUID()}`, '/consents/{consentId}')).statusCode).toBe(404)
      expect((await call('GET', '/consents/not-a-urn', '/consents/{consentId}')).statusCode).toBe(400)
    })

    it('revokes with rejectedBy TPP and CUSTOMER_MANUALLY_REVOKED, then answers 422 CONSENTIMENTO_EM_STATUS_REJEITADO', async () => {
      const id = await t.create()
      expect((await t.authorise(id)).statusCode).toBe(200)
      expect((await call('DELETE', `/consents/${id}`, '/consents/{consentId}', await t.tpp({ clientId: 'client-b' }))).statusCode).toBe(403)
      const deleted = await call('DELETE', `/consents/${id}`, '/consents/{consentId}')
      expect(deleted.statusCode).toBe(204)
      expect(deleted.headers['x-v']).toBe('3.3.1')
      const read = await call('GET', `/consents/${id}`, '/consents/{consentId}')
      expect(read.json().data).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'TPP', reason: { code: 'CUSTOMER_MANUALLY_REVOKED' } } })
      const again = await call('DELETE', `/consents/${id}`, '/consents/{consentId}')
      expect([again.statusCode, errorCode(again)]).toEqual([422, 'CONSENTIMENTO_EM_STATUS_REJEITADO'])
      const events = await t.pool.query("select payload->>'type' as type from outbox where key = $1 order by seq", [id])
      expect(events.rows.map((r) => r.type)).toEqual(['consent.created', 'consent.authorised', 'consent.rejected'])
    })

    it('shows an overdue consent as REJECTED on the first read (60-minute window and expiry date)', async () => {
      const awaiting = await t.create()
      const expiring = await t.create({ expirationDateTime: isoIn(t.clock, 2 * DAY) })
      await t.authorise(expiring)
      t.clock.advance(61 * 60_000)
      const a = await call('GET', `/consents/${awaiting}`, '/consents/{consentId}')
      expect(a.json().data).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'ASPSP', reason: { code: 'CONSENT_EXPIRED' } } })
      expect((await call('GET', `/consents/${expiring}`, '/consents/{consentId}')).json().data.status).toBe('AUTHORISED')
      t.clock.advance(2 * DAY)
      const e = await call('GET', `/consents/${expiring}`, '/consents/{consentId}')
      expect(e.json().data).toMatchObject({ status: 'REJECTED', rejection: { reason: { code: 'CONSENT_MAX_DATE_REACHED' } } })
      const gone = await call('DELETE', `/consents/${expiring}`, '/consents/{consentId}')
      expect(errorCode(gone)).toBe('CONSENTIMENTO_EM_STATUS_REJEITADO')
    })
  })

  describe('POST /consents/{consentId}/extends and GET /consents/{consentId}/extensions', () => {
    const extendHeaders = { 'x-fapi-customer-ip-address': '203.0.113.7', 'x-customer-user-agent': 'Mozilla/5.0 (X11)' }
    async function extendCall(id: string, data: Record<string, unknown>, opts: { consentId?: string; cpf?: string; cnpj?: string; headers?: Record<string, string> } = {}) {
      const ctx = { consent: { consentId: opts.consentId ?? id, customer: { cpf: opts.cpf ?? CPF, ...(opts.cnpj ? { cnpj: opts.cnpj } : {}) }, permissions: ACCOUNTS, resources: [] }, scopes: ['openid', `consent:${id}`] }
      const res = await t.app.inject({
        method: 'POST', url: `${API}/consents/${id}/extends`, headers: await t.tpp(ctx, opts.headers ?? extendHeaders), payload: { data },
      })
      spec.assert('post', '/consents/{consentId}/extends', res.statusCode, res.json())
      return res
    }

    it('renews an authorised consent, records the history and serves it newest first', async () => {
      const id = await t.create({ expirationDateTime: isoIn(t.clock, 10 * DAY) })
      await t.authorise(id)
      const first = isoIn(t.clock, 20 * DAY)
      const res = await extendCall(id, { loggedUser, expirationDateTime: first })
      expect(res.statusCode).toBe(201)
      expect(res.json().data).toMatchObject({ consentId: id, status: 'AUTHORISED', expirationDateTime: first })
      const indefinite = await extendCall(id, { loggedUser })
      expect(indefinite.statusCode).toBe(201)
      expect(indefinite.json().data).not.toHaveProperty('expirationDateTime')
      const list = await call('GET', `/consents/${id}/extensions`, '/consents/{consentId}/extensions')
      expect(list.statusCode).toBe(200)
      const body = list.json()
      expect(body.data).toHaveLength(2)
      expect(body.data[0]).not.toHaveProperty('expirationDateTime')
      expect(body.data[0]).toMatchObject({ previousExpirationDateTime: first, xFapiCustomerIpAddress: '203.0.113.7', loggedUser })
      expect(body.data[1]).toMatchObject({ expirationDateTime: first })
      expect(body.meta).toMatchObject({ totalRecords: 2, totalPages: 1 })
      expect((await t.pool.query("select count(*)::int as n from outbox where key = $1 and payload->>'type' = 'consent.extended'", [id])).rows[0].n).toBe(2)
    })

    it('pages the history (page-size below 25 counts as 25) and answers 422 PAGE_NOT_FOUND past the end', async () => {
      const id = await t.create({ expirationDateTime: isoIn(t.clock, DAY) })
      await t.authorise(id)
      for (let i = 1; i <= 26; i++) expect((await extendCall(id, { loggedUser, expirationDateTime: isoIn(t.clock, DAY + i * 60_000) })).statusCode).toBe(201)
      const p1 = await call('GET', `/consents/${id}/extensions?page-size=10`, '/consents/{consentId}/extensions')
      expect(p1.json().data).toHaveLength(25)
      expect(p1.json().meta).toMatchObject({ totalRecords: 26, totalPages: 2 })
      expect(p1.json().links.next).toContain('page=2&page-size=25')
      expect(p1.json().links.self).toContain('page=1&page-size=25')
      const p2 = await call('GET', `/consents/${id}/extensions?page=2`, '/consents/{consentId}/extensions')
      expect(p2.json().data).toHaveLength(1)
      expect(p2.json().data[0].expirationDateTime).toBe(isoIn(t.clock, DAY + 60_000))
      expect(p2.json().links).toMatchObject({ first: expect.stringContaining('page=1'), prev: expect.stringContaining('page=1') })
      expect(p2.json().links).not.toHaveProperty('next')
      const p3 = await call('GET', `/consents/${id}/extensions?page=3`, '/consents/{consentId}/extensions')
      expect([p3.statusCode, errorCode(p3)]).toEqual([422, 'PAGE_NOT_FOUND'])
      expect((await call('GET', `/consents/${id}/extensions`, '/consents/{consentId}/extensions', await t.tpp({ clientId: 'client-b' }))).statusCode).toBe(403)
    })

    it('refuses with 403 a token for another consent, another user or another client, before any 422', async () => {
      const id = await t.create()
      const other = await t.create()
      await t.authorise(id)
      expect((await extendCall(id, { loggedUser }, { consentId: other })).statusCode).toBe(403)
      expect((await extendCall(id, { loggedUser: { document: { identification: OTHER_CPF, rel: 'CPF' } } }, { cpf: OTHER_CPF })).statusCode).toBe(403)
      expect((await extendCall(other, { loggedUser }, { cpf: OTHER_CPF })).statusCode).toBe(403)
      const noConsentCtx = await t.app.inject({ method: 'POST', url: `${API}/consents/${id}/extends`, headers: await t.tpp({}, extendHeaders), payload: { data: { loggedUser } } })
      expect(noConsentCtx.statusCode).toBe(403)
    })

    it('lets another user of the same business renew a business consent', async () => {
      const permissions = ['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ']
      const id = await t.create({ businessEntity, permissions })
      expect((await t.authorise(id, { resources: [], authenticatedUser: { cpf: CPF, cnpj: CNPJ } })).statusCode).toBe(200)
      const res = await extendCall(id, { loggedUser: { document: { identification: OTHER_CPF, rel: 'CPF' } }, businessEntity }, { cpf: OTHER_CPF, cnpj: CNPJ })
      expect(res.statusCode).toBe(201)
      const list = await call('GET', `/consents/${id}/extensions`, '/consents/{consentId}/extensions')
      expect(list.json().data[0].loggedUser.document.identification).toBe(OTHER_CPF)
    })

    it('answers 422 ESTADO_CONSENTIMENTO_INVALIDO and DATA_EXPIRACAO_INVALIDA, and 400 without the customer headers', async () => {
      const awaiting = await t.create()
      const r1 = await extendCall(awaiting, { loggedUser })
      expect([r1.statusCode, errorCode(r1)]).toEqual([422, 'ESTADO_CONSENTIMENTO_INVALIDO'])
      const id = await t.create({ expirationDateTime: isoIn(t.clock, 10 * DAY) })
      await t.authorise(id)
      const r2 = await extendCall(id, { loggedUser, expirationDateTime: isoIn(t.clock, 5 * DAY) })
      expect([r2.statusCode, errorCode(r2)]).toEqual([422, 'DATA_EXPIRACAO_INVALIDA'])
      const r3 = await extendCall(id, { loggedUser, expirationDateTime: isoIn(t.clock, 400 * DAY) })
      expect([r3.statusCode, errorCode(r3)]).toEqual([422, 'DATA_EXPIRACAO_INVALIDA'])
      const r4 = await extendCall(id, { loggedUser }, { headers: {} })
      expect(r4.statusCode).toBe(400)
    })
  })
})
