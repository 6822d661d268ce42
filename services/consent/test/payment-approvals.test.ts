import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentEvent } from '@ponte/contracts'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { specValidator, testLogger } from '@ponte/testkit'
import { createExpiryScheduler } from '../src/adapters/scheduler.ts'
import { CPF, OTHER_CPF, startConsentApp, type TestConsentApp } from './helpers.ts'
import { MINUTE, START, consentData, paymentsApi } from './payment-helpers.ts'

const specs = { v4: specValidator('payments-v4.0.1.yaml'), v5: specValidator('payments-v5.0.0.yaml') }
const THIRD_CPF = '52998224725'

describe('payment consents with several approvers (múltiplas alçadas)', () => {
  let t: TestConsentApp
  let api: ReturnType<typeof paymentsApi>
  beforeAll(async () => {
    t = await startConsentApp({ prefix: 'consent_pay_alcadas' })
    api = paymentsApi(t)
  })
  afterAll(async () => t?.close())

  const channel = () => t.auth.issuer('bank-channel')
  async function approve(consentId: string, cpf: string, decision: 'APPROVE' | 'REJECT' = 'APPROVE') {
    return t.app.inject({
      method: 'POST', url: `/internal/payment-consents/${consentId}/approvals`,
      headers: { [SERVICE_TOKEN_HEADER]: await channel().sign('consent') }, payload: { approver: { cpf }, decision },
    })
  }
  async function read(version: 'v4' | 'v5', id: string) {
    const res = await api.get(version, id)
    specs[version].assert('get', '/consents/{consentId}', res.statusCode, res.json())
    return res.json().data
  }
  async function eventTypes(id: string) {
    const events = await t.pool.query<{ payload: unknown }>('select payload from outbox where key = $1 order by seq', [id])
    return events.rows.map((r) => ConsentEvent.parse(r.payload).type)
  }

  for (const version of ['v4', 'v5'] as const) {
    it(`${version}: the first approver makes it PARTIALLY_ACCEPTED until 23:59 Brasília; the second authorises it, one CPF counts once`, async () => {
      t.clock.set(START)
      const id = await api.create(version, consentData(version))
      t.clock.advance(MINUTE)
      const first = await api.authorise(id, { approversRequired: 2 })
      expect(first.statusCode, first.body).toBe(200)
      // 23:59 in Brasília (UTC−3) on the request date.
      expect(first.json()).toMatchObject({ status: 'PARTIALLY_ACCEPTED', expirationDateTime: '2026-12-08T02:59:00Z', approvals: { required: 2, received: 1 } })
      expect(await read(version, id)).toMatchObject({ status: 'PARTIALLY_ACCEPTED', expirationDateTime: '2026-12-08T02:59:00Z' })

      // Past the 5-minute window, the consent waits for the others.
      t.clock.advance(30 * MINUTE)
      const again = await approve(id, CPF)
      expect(again.json()).toMatchObject({ status: 'PARTIALLY_ACCEPTED', approvals: { received: 1 } })
      const second = await approve(id, OTHER_CPF)
      expect(second.statusCode, second.body).toBe(200)
      expect(second.json()).toMatchObject({ status: 'AUTHORISED', expirationDateTime: '2026-12-07T16:31:00Z', approvals: { required: 2, received: 2 } })
      expect(await read(version, id)).toMatchObject({ status: 'AUTHORISED', statusUpdateDateTime: '2026-12-07T15:31:00Z' })
      expect((await api.consume(id)).json().status).toBe('CONSUMED')
      expect(await eventTypes(id)).toEqual(['consent.created', 'consent.approval_recorded', 'consent.authorised', 'consent.consumed'])
      const audit = await t.pool.query('select action, actor_id from consent_audit where consent_id = $1 order by seq', [id])
      expect(audit.rows.map((r) => [r.action, r.actor_id])).toEqual([['created', expect.any(String)], ['partially_accepted', CPF], ['authorised', OTHER_CPF], ['consumed', expect.any(String)]])
    })
  }

  it('a third approver is recorded without authorising; a refusal rejects it as REJEITADO_USUARIO', async () => {
    t.clock.set(START)
    const id = await api.create('v5', consentData('v5'))
    expect((await api.authorise(id, { approversRequired: 3 })).json().status).toBe('PARTIALLY_ACCEPTED')
    expect((await approve(id, OTHER_CPF)).json()).toMatchObject({ status: 'PARTIALLY_ACCEPTED', approvals: { required: 3, received: 2 } })
    const refused = await approve(id, THIRD_CPF, 'REJECT')
    expect(refused.json()).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'REJEITADO_USUARIO' } })
    expect(await read('v5', id)).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'REJEITADO_USUARIO' } })
    const late = await approve(id, THIRD_CPF)
    expect([late.statusCode, late.json().errors[0].code]).toEqual([422, 'CONSENT_STATE_INVALID'])
    expect((await api.consume(id)).statusCode).toBe(422)
  })

  it('a scheduled payment must be approved by the day before its first settlement; the sweep rejects it after that', async () => {
    t.clock.set(START)
    const { date: _today, ...immediate } = consentData('v4').payment
    const id = await api.create('v4', consentData('v4', {}, { payment: { ...immediate, schedule: { single: { date: '2026-12-10' } } } }))
    const first = await api.authorise(id, { approversRequired: 2 })
    expect(first.json()).toMatchObject({ status: 'PARTIALLY_ACCEPTED', expirationDateTime: '2026-12-10T02:59:00Z' })
    const scheduler = createExpiryScheduler({ consents: t.consents, logger: testLogger('alcadas-sweep').logger, intervalMs: 3_600_000, batchSize: 50 })
    t.clock.set(new Date('2026-12-10T02:58:59Z'))
    await scheduler.runOnce()
    expect((await api.internalGet(id)).json().status).toBe('PARTIALLY_ACCEPTED')
    t.clock.set(new Date('2026-12-10T02:59:00Z'))
    await scheduler.runOnce()
    const row = await t.pool.query('select status, rejection_reason, rejected_by from consents where consent_id = $1', [id])
    expect(row.rows[0]).toEqual({ status: 'REJECTED', rejection_reason: 'TEMPO_EXPIRADO_AUTORIZACAO', rejected_by: 'ASPSP' })
    expect(await read('v4', id)).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'TEMPO_EXPIRADO_AUTORIZACAO' } })
    expect((await approve(id, OTHER_CPF)).statusCode).toBe(422)
    expect(await eventTypes(id)).toEqual(['consent.created', 'consent.approval_recorded', 'consent.rejected'])
  })
})
