import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { PaymentEvent } from '@ponte/contracts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { DEMO_CUSTOMERS } from '../src/seed/demo-bank.ts'
import { aConsent, itemsFor, ORG, paymentsFixture, type PaymentsFixture } from './payments-support.ts'

// The admin console's payment routes: find, status history, cancel on the payer's request (DETENTORA).
const v4 = specValidator('payments-v4.0.1.yaml')
const V4 = '/open-banking/payments/v4'

describe('connectors internal payment routes (admin console)', () => {
  let f: PaymentsFixture
  beforeAll(async () => { f = await paymentsFixture('connectors_admin_payments') })
  afterAll(async () => { await f?.close() })

  const admin = async () => ({ 'x-ponte-service-token': await f.auth.issuer('admin').sign('connectors') })

  async function scheduled(days: number[]) {
    const now = f.clock.now
    const c = aConsent(now, { amount: '3.33', schedule: { custom: { dates: days.map((d) => addDays(brasiliaToday(now), d)), additionalInformation: 'x' } } })
    f.consent.consents.set(c.consentId, c)
    const res = await f.app.inject({
      method: 'POST', url: `${V4}/pix/payments`, headers: await f.headers({ consentId: c.consentId, key: crypto.randomUUID() }),
      payload: { data: itemsFor(c, days.map((d) => addDays(brasiliaToday(now), d)), now) },
    })
    expect(res.statusCode).toBe(201)
    return { consentId: c.consentId, ids: (res.json().data as Array<{ paymentId: string }>).map((p) => p.paymentId) }
  }

  it('finds payments by id, consent, CPF and organisation; one with its status history', async () => {
    const { consentId, ids } = await scheduled([2, 3])
    const byConsent = await f.app.inject({ method: 'GET', url: `/internal/payments?consentId=${encodeURIComponent(consentId)}`, headers: await admin() })
    expect(byConsent.statusCode).toBe(200)
    expect(byConsent.json().data.map((p: { paymentId: string }) => p.paymentId).sort()).toEqual([...ids].sort())
    expect(byConsent.json().data[0]).toMatchObject({ consentId, status: 'SCHD', ownerCpf: DEMO_CUSTOMERS.ana.cpf, organisationId: ORG, amount: '3.33' })
    const byCpf = await f.app.inject({ method: 'GET', url: `/internal/payments?cpf=${DEMO_CUSTOMERS.ana.cpf}&organisationId=${ORG}`, headers: await admin() })
    expect(byCpf.json().data.map((p: { paymentId: string }) => p.paymentId)).toEqual(expect.arrayContaining(ids))
    const none = await f.app.inject({ method: 'GET', url: `/internal/payments?cpf=00000000000`, headers: await admin() })
    expect(none.json().data).toEqual([])
    const noFilter = await f.app.inject({ method: 'GET', url: `/internal/payments`, headers: await admin() })
    expect(noFilter.statusCode).toBe(400)
    const one = await f.app.inject({ method: 'GET', url: `/internal/payments/${ids[0]}`, headers: await admin() })
    expect(one.json()).toMatchObject({ payment: { paymentId: ids[0] }, history: [{ status: 'SCHD' }] })
    const missing = await f.app.inject({ method: 'GET', url: `/internal/payments/nope`, headers: await admin() })
    expect(missing.statusCode).toBe(404)
  })

  it('refuses an id holding NUL with 400 instead of failing the query (found by the hostile suite through the console)', async () => {
    for (const url of ['/internal/payments/a%00b', '/internal/payments?paymentId=a%00b', '/internal/payments?consentId=a%00b', '/internal/payments?organisationId=a%00b']) {
      const res = await f.app.inject({ method: 'GET', url, headers: await admin() })
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400)
    }
    const cancel = await f.app.inject({ method: 'POST', url: '/internal/payments/a%00b/cancel', headers: await admin(), payload: { requestedBy: 'ana@bank.test' } })
    expect(cancel.statusCode, cancel.body).toBe(400)
  })

  it('only the admin console may call them', async () => {
    const gw = await f.headers()
    const res = await f.app.inject({ method: 'GET', url: `/internal/payments?cpf=${DEMO_CUSTOMERS.ana.cpf}`, headers: { 'x-ponte-service-token': gw['x-ponte-service-token']! } })
    expect(res.statusCode).toBe(403)
    const anon = await f.app.inject({ method: 'GET', url: `/internal/payments?cpf=${DEMO_CUSTOMERS.ana.cpf}` })
    expect(anon.statusCode).toBe(401)
  })

  it('cancels a scheduled payment on the payer request: CANC, CANCELADO_AGENDAMENTO from the DETENTORA, seen by the TPP, with its event', async () => {
    const { ids } = await scheduled([2])
    const id = ids[0]!
    const res = await f.app.inject({ method: 'POST', url: `/internal/payments/${id}/cancel`, headers: await admin(), payload: { requestedBy: 'ana@bank.test' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ previousStatus: 'SCHD', payment: { status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA', cancelledBy: { document: { identification: DEMO_CUSTOMERS.ana.cpf, rel: 'CPF' } } } } })
    // The TPP's next read shows the cancellation, in the official schema.
    const tpp = await f.app.inject({ method: 'GET', url: `${V4}/pix/payments/${id}`, headers: await f.headers() })
    v4.assert('get', '/pix/payments/{paymentId}', 200, tpp.json())
    expect(tpp.json().data).toMatchObject({ status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA' } })
    const { rows } = await f.pool.query(`select payload from outbox where key = $1 order by seq`, [id])
    const last = PaymentEvent.parse(rows.at(-1)!.payload)
    expect(last.data).toMatchObject({ status: 'CANC', previousStatus: 'SCHD', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA' } })
    const history = await f.app.inject({ method: 'GET', url: `/internal/payments/${id}`, headers: await admin() })
    expect(history.json().history.map((h: { status: string }) => h.status)).toEqual(['SCHD', 'CANC'])
    // Twice: it can no longer be cancelled.
    const again = await f.app.inject({ method: 'POST', url: `/internal/payments/${id}/cancel`, headers: await admin(), payload: { requestedBy: 'ana@bank.test' } })
    expect(again.statusCode).toBe(422)
    expect(again.json().errors[0].code).toBe('PAGAMENTO_NAO_PERMITE_CANCELAMENTO')
  })

  it('refuses to cancel a payment already paid, and an unknown one', async () => {
    const now = f.clock.now
    const c = aConsent(now, { amount: '1.01' })
    f.consent.consents.set(c.consentId, c)
    const res = await f.app.inject({ method: 'POST', url: `${V4}/pix/payments`, headers: await f.headers({ consentId: c.consentId, key: crypto.randomUUID() }), payload: { data: itemsFor(c, [brasiliaToday(now)], now) } })
    const id = res.json().data[0].paymentId as string
    const refused = await f.app.inject({ method: 'POST', url: `/internal/payments/${id}/cancel`, headers: await admin(), payload: { requestedBy: 'ana@bank.test' } })
    expect(refused.statusCode).toBe(422)
    const got = await f.app.inject({ method: 'GET', url: `/internal/payments/${id}`, headers: await admin() })
    expect(got.json().payment.status).not.toBe('CANC')
    expect(got.json().history.map((h: { status: string }) => h.status).slice(0, 2)).toEqual(['RCVD', 'ACCP'])
    const unknown = await f.app.inject({ method: 'POST', url: `/internal/payments/nope/cancel`, headers: await admin(), payload: { requestedBy: 'ana@bank.test' } })
    expect(unknown.statusCode).toBe(404)
  })
})
