import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentAuditTrail, ConsentEvent, InternalConsent, InternalPaymentConsent } from '@ponte/contracts'
import { specValidator, testLogger } from '@ponte/testkit'
import { createExpiryScheduler } from '../src/adapters/scheduler.ts'
import { CNPJ, CPF, OTHER_CPF, startConsentApp, type TestConsentApp } from './helpers.ts'
import { MINUTE, START, consentData, debtorAccount, paymentsApi } from './payment-helpers.ts'

const spec = specValidator('payments-v4.0.1.yaml')

describe('payment consent lifecycle: clocks, authorisation, consumption, events', () => {
  let t: TestConsentApp
  let api: ReturnType<typeof paymentsApi>
  beforeAll(async () => {
    t = await startConsentApp({ prefix: 'consent_pay_life' })
    api = paymentsApi(t)
  })
  afterAll(async () => t?.close())

  /** Every test starts at the same Brasília afternoon. */
  const fresh = async (data?: unknown) => {
    t.clock.set(START)
    return api.create('v4', data)
  }
  async function read(id: string) {
    const res = await api.get('v4', id)
    spec.assert('get', '/consents/{consentId}', res.statusCode, res.json())
    return res.json().data
  }
  /** Audit trail and outbox describe the same chain of transitions, one event per change; returns the event types. */
  async function history(id: string) {
    const audit = await t.pool.query<{ from_status: string | null; to_status: string; event_id: string }>(
      'select from_status, to_status, event_id from consent_audit where consent_id = $1 order by seq', [id])
    const events = await t.pool.query<{ event_id: string; payload: unknown }>('select event_id, payload from outbox where key = $1 order by seq', [id])
    expect(events.rows.map((r) => r.event_id)).toEqual(audit.rows.map((r) => r.event_id))
    audit.rows.forEach((row, i) => expect(row.from_status).toBe(i === 0 ? null : audit.rows[i - 1]!.to_status))
    return events.rows.map((r) => ConsentEvent.parse(r.payload))
  }
  const code = (res: { json(): { errors: Array<{ code: string }> } }) => res.json().errors[0]!.code

  describe('5-minute authorisation window', () => {
    it('expires to REJECTED TEMPO_EXPIRADO_AUTORIZACAO on read at 5 minutes, not before, and then refuses authorisation', async () => {
      const id = await fresh()
      t.clock.advance(5 * MINUTE - 1_000)
      expect((await read(id)).status).toBe('AWAITING_AUTHORISATION')
      t.clock.advance(1_000)
      const data = await read(id)
      expect(data).toMatchObject({
        status: 'REJECTED',
        statusUpdateDateTime: '2026-12-07T15:05:00Z',
        rejectionReason: { code: 'TEMPO_EXPIRADO_AUTORIZACAO', detail: 'Consentimento expirou antes que o usuário pudesse confirmá-lo.' },
      })
      const auth = await api.authorise(id)
      expect([auth.statusCode, code(auth)]).toEqual([422, 'CONSENT_STATE_INVALID'])
      const events = await history(id)
      expect(events.map((e) => e.type)).toEqual(['consent.created', 'consent.rejected'])
      expect(events[1]!.data).toMatchObject({ kind: 'payment', apiVersion: 'v4', reason: 'TEMPO_EXPIRADO_AUTORIZACAO', rejectedBy: 'ASPSP', previousStatus: 'AWAITING_AUTHORISATION' })
    })

    it('refuses authorisation at 5 minutes even when nobody read the consent before', async () => {
      const id = await fresh()
      t.clock.advance(5 * MINUTE)
      const auth = await api.authorise(id)
      expect([auth.statusCode, code(auth)]).toEqual([422, 'CONSENT_STATE_INVALID'])
      expect((await api.internalGet(id)).json()).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'TEMPO_EXPIRADO_AUTORIZACAO' } })
    })
  })

  describe('60-minute consumption window', () => {
    it('sets expirationDateTime to authorisation + 60 minutes and lets the consent be consumed within it', async () => {
      const id = await fresh()
      t.clock.advance(2 * MINUTE)
      const auth = await api.authorise(id)
      expect(auth.statusCode, auth.body).toBe(200)
      expect(auth.json()).toMatchObject({ status: 'AUTHORISED', expirationDateTime: '2026-12-07T16:02:00Z', authorisedBy: { cpf: CPF } })
      t.clock.advance(60 * MINUTE - 1_000)
      const consumed = await api.consume(id, ['p-1', 'p-2'])
      expect(consumed.statusCode).toBe(200)
      expect(consumed.json().status).toBe('CONSUMED')
      expect((await read(id))).toMatchObject({ status: 'CONSUMED', debtorAccount })
    })

    it('expires an unconsumed consent to REJECTED TEMPO_EXPIRADO_CONSUMO at 60 minutes and refuses consumption', async () => {
      const id = await fresh()
      await api.authorise(id)
      t.clock.advance(60 * MINUTE)
      const res = await api.consume(id)
      expect([res.statusCode, code(res)]).toEqual([422, 'CONSENT_STATE_INVALID'])
      expect(await read(id)).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'TEMPO_EXPIRADO_CONSUMO' }, debtorAccount })
      expect((await history(id)).map((e) => e.type)).toEqual(['consent.created', 'consent.authorised', 'consent.rejected'])
    })

    it('is applied by the expiry sweep too, for both windows, once', async () => {
      const awaiting = await fresh()
      const authorised = await fresh()
      await api.authorise(authorised)
      const { logger } = testLogger('pay-sweep')
      t.clock.advance(61 * MINUTE)
      // The scheduler sweeps once as it starts.
      const scheduler = createExpiryScheduler({ consents: t.consents, logger, intervalMs: 3_600_000, batchSize: 50 })
      try {
        await scheduler.runOnce()
        const rows = await t.pool.query('select consent_id, status, rejection_reason from consents where consent_id = any($1)', [[awaiting, authorised]])
        const byId = Object.fromEntries(rows.rows.map((r) => [r.consent_id, [r.status, r.rejection_reason]]))
        expect(byId[awaiting]).toEqual(['REJECTED', 'TEMPO_EXPIRADO_AUTORIZACAO'])
        expect(byId[authorised]).toEqual(['REJECTED', 'TEMPO_EXPIRADO_CONSUMO'])
        await scheduler.runOnce()
        expect((await history(authorised)).map((e) => e.type)).toEqual(['consent.created', 'consent.authorised', 'consent.rejected'])
        expect((await history(awaiting)).map((e) => e.type)).toEqual(['consent.created', 'consent.rejected'])
      } finally {
        await scheduler.stop()
      }
    })
  })

  describe('consume', () => {
    it('is idempotent: a second call answers 200 unchanged and publishes nothing more', async () => {
      const id = await fresh()
      await api.authorise(id)
      const [a, b] = await Promise.all([api.consume(id, ['p-1']), api.consume(id, ['p-1'])])
      expect([a.statusCode, b.statusCode]).toEqual([200, 200])
      const again = await api.consume(id, ['p-1'])
      expect(again.statusCode).toBe(200)
      expect(again.json().statusUpdateDateTime).toBe(a.json().statusUpdateDateTime)
      const events = await history(id)
      expect(events.map((e) => e.type)).toEqual(['consent.created', 'consent.authorised', 'consent.consumed'])
      expect(events[2]!.data).toMatchObject({ kind: 'payment', apiVersion: 'v4', paymentIds: ['p-1'] })
      expect(events[1]!.data).toMatchObject({ resourceIds: ['acc-1'] })
      const audit = await t.app.inject({ method: 'GET', url: `/internal/consents/${id}/audit`, headers: await t.internal('admin') })
      expect(ConsentAuditTrail.parse(audit.json()).items.map((i) => i.action)).toEqual(['created', 'authorised', 'consumed'])
    })

    it('is refused from AWAITING_AUTHORISATION and REJECTED, and unknown for a data consent', async () => {
      const id = await fresh()
      const early = await api.consume(id)
      expect([early.statusCode, code(early)]).toEqual([422, 'CONSENT_STATE_INVALID'])
      const rej = await t.app.inject({ method: 'POST', url: `/internal/consents/${id}/reject`, headers: await t.internal('authServer'), payload: { reason: 'CUSTOMER_MANUALLY_REJECTED' } })
      expect(rej.statusCode).toBe(200)
      const late = await api.consume(id)
      expect([late.statusCode, code(late)]).toEqual([422, 'CONSENT_STATE_INVALID'])
      const dataConsent = await t.create()
      expect((await api.consume(dataConsent)).statusCode).toBe(404)
      expect((await api.internalGet(dataConsent)).statusCode).toBe(404)
    })
  })

  describe('authorise', () => {
    it.each([
      ['another CPF', { authenticatedUser: { cpf: OTHER_CPF } }, 403],
      ['LoA2', { acr: 'urn:brasil:openbanking:loa2' }, 403],
      ['a business the consent does not name', { authenticatedUser: { cpf: CPF, cnpj: CNPJ } }, 403],
      ['another debtor account than the consent names', { debtorAccount: { resourceId: 'acc-2', account: { ...debtorAccount, number: '999' } } }, 422],
    ])('refuses %s', async (_what, body, status) => {
      const id = await fresh(consentData('v4', {}, { debtorAccount }))
      const res = await api.authorise(id, body)
      expect(res.statusCode, res.body).toBe(status)
      expect((await api.internalGet(id)).json().status).toBe('AWAITING_AUTHORISATION')
      expect((await history(id)).map((e) => e.type)).toEqual(['consent.created'])
    })

    it('requires the business of a business consent, and fixes the account the customer chose when the consent named none', async () => {
      const id = await fresh(consentData('v4', {}, { businessEntity: { document: { identification: CNPJ, rel: 'CNPJ' } } }))
      expect((await api.authorise(id)).statusCode).toBe(403)
      const chosen = { resourceId: 'acc-9', account: { ...debtorAccount, number: '777' } }
      const res = await api.authorise(id, { authenticatedUser: { cpf: CPF, cnpj: CNPJ }, debtorAccount: chosen })
      expect(res.statusCode, res.body).toBe(200)
      const internal = InternalPaymentConsent.parse(res.json())
      expect(internal).toMatchObject({ authorisedDebtorAccount: chosen, authorisedBy: { cpf: CPF, cnpj: CNPJ }, apiVersion: 'v4' })
      expect(internal.debtorAccount).toBeUndefined()
      expect((await read(id)).debtorAccount).toEqual(chosen.account)
      // Once authorised it cannot be authorised again.
      expect((await api.authorise(id, { authenticatedUser: { cpf: CPF, cnpj: CNPJ }, debtorAccount: chosen })).statusCode).toBe(422)
    })

    it('is refused on the data consents\' route', async () => {
      const id = await fresh()
      const res = await t.authorise(id, { authenticatedUser: { cpf: CPF } })
      expect([res.statusCode, code(res)]).toEqual([422, 'CONSENT_STATE_INVALID'])
    })
  })

  it('turns the customer\'s refusal into REJECTED REJEITADO_USUARIO, and the shared internal read tells the kinds apart', async () => {
    const id = await fresh()
    const rej = await t.app.inject({ method: 'POST', url: `/internal/consents/${id}/reject`, headers: await t.internal('authServer'), payload: { reason: 'CUSTOMER_MANUALLY_REJECTED' } })
    expect(rej.statusCode).toBe(200)
    expect(await read(id)).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'REJEITADO_USUARIO' } })
    const shared = await t.app.inject({ method: 'GET', url: `/internal/consents/${id}`, headers: await t.internal('authServer') })
    expect(InternalConsent.parse(shared.json())).toMatchObject({ kind: 'payment', status: 'REJECTED', rejection: { rejectedBy: 'USER', reason: 'REJEITADO_USUARIO' } })
    const events = await history(id)
    expect(events.map((e) => e.type)).toEqual(['consent.created', 'consent.rejected'])
    expect(events[1]!.data).toMatchObject({ reason: 'REJEITADO_USUARIO', rejectedBy: 'USER' })
    const search = await t.app.inject({ method: 'GET', url: `/internal/consents?kind=payment&clientId=client-a`, headers: await t.internal('admin') })
    expect(search.json().items.every((c: { kind: string }) => c.kind === 'payment')).toBe(true)
    expect(search.json().items.some((c: { consentId: string }) => c.consentId === id)).toBe(true)
  })
})
