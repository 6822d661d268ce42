import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentAuditTrail, ConsentLookup, ConsentSearchResult, InternalConsent } from '@ponte/contracts'
import { ACCOUNTS, CNPJ, CPF, DAY, OTHER_CPF, isoIn, startConsentApp, type TestConsentApp } from './helpers.ts'

describe('internal consent API', () => {
  let t: TestConsentApp
  beforeAll(async () => { t = await startConsentApp({ prefix: 'consent_internal' }) })
  afterAll(async () => t?.close())

  const get = async (path: string, service: 'authServer' | 'gateway' | 'admin' = 'authServer') =>
    t.app.inject({ method: 'GET', url: `/internal/consents${path}`, headers: await t.internal(service) })
  const post = async (path: string, payload: Record<string, unknown>, service: 'authServer' | 'admin' = 'authServer') =>
    t.app.inject({ method: 'POST', url: `/internal/consents${path}`, headers: await t.internal(service), payload })

  it('refuses calls without a service token (401, OFB envelope)', async () => {
    const id = await t.create()
    const res = await t.app.inject({ method: 'GET', url: `/internal/consents/${id}/lookup` })
    expect(res.statusCode).toBe(401)
    expect(res.json().errors[0].code).toBe('UNAUTHORIZED')
  })

  it('reads a consent for the journey and 404s an unknown one', async () => {
    const id = await t.create({ expirationDateTime: isoIn(t.clock, 5 * DAY) })
    const res = await get(`/${id}`)
    expect(res.statusCode).toBe(200)
    const body = InternalConsent.parse(res.json())
    expect(body).toMatchObject({ consentId: id, kind: 'data', status: 'AWAITING_AUTHORISATION', clientId: 'client-a', organisationId: 'org-a', loggedUser: { cpf: CPF }, resources: [] })
    expect((await get(`/urn:ponte:${randomUUID()}`)).statusCode).toBe(404)
  })

  it('authorises only for the logged user (403 otherwise), only once, and the lookup then carries resources and customer', async () => {
    const id = await t.create()
    const wrongUser = await t.authorise(id, { authenticatedUser: { cpf: OTHER_CPF } })
    expect([wrongUser.statusCode, wrongUser.json().errors[0].code]).toEqual([403, 'FORBIDDEN'])
    const wrongBusiness = await t.authorise(id, { authenticatedUser: { cpf: CPF, cnpj: CNPJ } })
    expect(wrongBusiness.statusCode).toBe(403)
    const uncovered = await t.authorise(id, { resources: [{ type: 'LOAN', resourceId: 'l-1' }] })
    expect(uncovered.statusCode).toBe(400)
    const ok = await t.authorise(id)
    expect(ok.statusCode).toBe(200)
    expect(InternalConsent.parse(ok.json())).toMatchObject({ status: 'AUTHORISED', resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }] })
    const again = await t.authorise(id)
    expect([again.statusCode, again.json().errors[0].code]).toEqual([422, 'CONSENT_STATE_INVALID'])
    const lookup = ConsentLookup.parse((await get(`/${id}/lookup`, 'gateway')).json())
    expect(lookup).toEqual({ consentId: id, status: 'AUTHORISED', clientId: 'client-a', permissions: ACCOUNTS, resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], customer: { cpf: CPF } })
  })

  it('checks the business entity of a business consent', async () => {
    const id = await t.create({ businessEntity: { document: { identification: CNPJ, rel: 'CNPJ' } }, permissions: ['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'] })
    expect((await t.authorise(id, { resources: [], authenticatedUser: { cpf: CPF } })).statusCode).toBe(403)
    expect((await t.authorise(id, { resources: [], authenticatedUser: { cpf: CPF, cnpj: '11222333000181' } })).statusCode).toBe(403)
    const ok = await t.authorise(id, { resources: [], authenticatedUser: { cpf: CPF, cnpj: CNPJ } })
    expect(ok.json()).toMatchObject({ status: 'AUTHORISED', businessEntity: { cnpj: CNPJ } })
  })

  it('refuses to authorise after the 60-minute window and records the expiry', async () => {
    const id = await t.create()
    t.clock.advance(60 * 60_000)
    const late = await t.authorise(id)
    expect([late.statusCode, late.json().errors[0].code]).toEqual([422, 'CONSENT_STATE_INVALID'])
    const after = InternalConsent.parse((await get(`/${id}`)).json())
    expect(after).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'ASPSP', reason: 'CONSENT_EXPIRED' } })
  })

  it('rejects for the customer and revokes for staff, each with its audit entry and event', async () => {
    const refused = await t.create()
    const r = await post(`/${refused}/reject`, { reason: 'CUSTOMER_MANUALLY_REJECTED', additionalInformation: 'Cliente recusou' })
    expect(r.json()).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'USER', reason: 'CUSTOMER_MANUALLY_REJECTED', additionalInformation: 'Cliente recusou' } })
    expect((await post(`/${refused}/reject`, { reason: 'CUSTOMER_MANUALLY_REJECTED' })).statusCode).toBe(422)

    const revoked = await t.create()
    await t.authorise(revoked)
    const v = await post(`/${revoked}/revoke`, { actor: { type: 'STAFF', id: 'ana.souza' }, reason: 'INTERNAL_SECURITY_REASON', additionalInformation: 'Suspeita de fraude' }, 'admin')
    expect(v.json()).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'ASPSP', reason: 'INTERNAL_SECURITY_REASON' } })
    expect((await post(`/${revoked}/revoke`, { actor: { type: 'STAFF', id: 'ana.souza' }, reason: 'INTERNAL_SECURITY_REASON' }, 'admin')).statusCode).toBe(422)
    expect((await post(`/${revoked}/revoke`, { actor: { type: 'STAFF', id: 'x' }, reason: 'INTERNAL_SECURITY_REASON', additionalInformation: ' padded ' }, 'admin')).statusCode).toBe(400)

    const trail = ConsentAuditTrail.parse((await get(`/${revoked}/audit`, 'admin')).json())
    expect(trail.items.map((e) => [e.action, e.fromStatus, e.toStatus, e.actor.type, e.via])).toEqual([
      ['created', undefined, 'AWAITING_AUTHORISATION', 'TPP', 'gateway'],
      ['authorised', 'AWAITING_AUTHORISATION', 'AUTHORISED', 'CUSTOMER', 'auth-server'],
      ['revoked', 'AUTHORISED', 'REJECTED', 'STAFF', 'admin'],
    ])
    expect(trail.items[2]).toMatchObject({ actor: { id: 'ana.souza' }, reason: 'INTERNAL_SECURITY_REASON', additionalInformation: 'Suspeita de fraude' })
    expect(trail.items.every((e) => typeof e.interactionId === 'string')).toBe(true)
    const events = await t.pool.query("select payload from outbox where key = $1 order by seq", [revoked])
    expect(events.rows.map((r) => r.payload.type)).toEqual(['consent.created', 'consent.authorised', 'consent.rejected'])
    expect(events.rows[2].payload.data).toMatchObject({ previousStatus: 'AUTHORISED', rejectedBy: 'ASPSP', actor: { type: 'STAFF', id: 'ana.souza' } })
  })

  it('searches by client, status, document and creation time, page by page', async () => {
    const before = isoIn(t.clock, 0)
    t.clock.advance(1_000)
    const ids = [await t.create({}, { clientId: 'client-search' }), await t.create({}, { clientId: 'client-search' }), await t.create({}, { clientId: 'client-search' })]
    await t.authorise(ids[0]!)
    const all = ConsentSearchResult.parse((await get('?clientId=client-search&pageSize=2', 'admin')).json())
    expect(all).toMatchObject({ totalRecords: 3, totalPages: 2, page: 1, pageSize: 2 })
    expect(all.items).toHaveLength(2)
    const page2 = ConsentSearchResult.parse((await get('?clientId=client-search&pageSize=2&page=2', 'admin')).json())
    expect(page2.items).toHaveLength(1)
    expect(new Set([...all.items, ...page2.items].map((c) => c.consentId))).toEqual(new Set(ids))
    const authorised = ConsentSearchResult.parse((await get('?clientId=client-search&status=AUTHORISED', 'admin')).json())
    expect(authorised.items.map((c) => c.consentId)).toEqual([ids[0]])
    const byDoc = ConsentSearchResult.parse((await get(`?document=${CPF}&from=${before}&clientId=client-search`, 'admin')).json())
    expect(byDoc.totalRecords).toBe(3)
    expect(ConsentSearchResult.parse((await get(`?document=${OTHER_CPF}&clientId=client-search`, 'admin')).json()).totalRecords).toBe(0)
    expect(ConsentSearchResult.parse((await get(`?to=${before}&clientId=client-search`, 'admin')).json()).totalRecords).toBe(0)
    expect((await get('?status=SOMETHING', 'admin')).statusCode).toBe(400)
  })
})
