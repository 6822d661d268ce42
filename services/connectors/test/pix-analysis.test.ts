import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { PaymentEvent } from '@ponte/contracts'
import { brasiliaToday } from '../src/domain/dates.ts'
import { DEMO_CUSTOMERS } from '../src/seed/demo-bank.ts'
import { available } from './pix-support.ts'
import { aConsent, anaChecking, itemsFor, paymentsFixture, type PaymentsFixture } from './payments-support.ts'

// PDNG (docs/regulation/payments.md#payment-statuses): the reference core holds debits of at least
// PIX_ANALYSIS_THRESHOLD for analysis; the payment is PDNG until the hold ends (then settled), and the customer may
// cancel it meanwhile (CANC, CANCELADO_PENDENCIA: docs/regulation/payments.md#payment-cancellation), the debit returned.
const v4 = specValidator('payments-v4.0.1.yaml')
const v5 = specValidator('payments-v5.0.0.yaml')
const ANALYSIS_MS = 60_000
const cancelBody = { data: { status: 'CANC', cancellation: { cancelledBy: { document: { identification: DEMO_CUSTOMERS.ana.cpf, rel: 'CPF' } } } } }

describe('Pix payments held for analysis by the core (PDNG)', () => {
  let f: PaymentsFixture
  beforeAll(async () => { f = await paymentsFixture('connectors_pix_analysis', { analysisThreshold: '50.00', analysisMs: ANALYSIS_MS }) })
  afterAll(async () => { await f?.close() })

  const later = (ms: number) => { f.clock.now = new Date(f.clock.now.getTime() + ms) }
  async function pay(version: 'v4' | 'v5', amount: string) {
    const now = f.clock.now
    const consent = aConsent(now, { amount })
    consent.apiVersion = version
    f.consent.consents.set(consent.consentId, consent)
    const res = await f.app.inject({ method: 'POST', url: `/open-banking/payments/${version}/pix/payments`, headers: await f.headers({ consentId: consent.consentId, key: randomUUID() }), payload: { data: itemsFor(consent, [brasiliaToday(now)], now) } })
    expect(res.statusCode).toBe(201)
    ;(version === 'v4' ? v4 : v5).assert('post', '/pix/payments', 201, res.json())
    return { consent, payment: res.json().data[0] as { paymentId: string; status: string; endToEndId: string } }
  }
  const get = async (version: 'v4' | 'v5', paymentId: string) => {
    const res = await f.app.inject({ method: 'GET', url: `/open-banking/payments/${version}/pix/payments/${paymentId}`, headers: await f.headers() })
    expect(res.statusCode).toBe(200)
    ;(version === 'v4' ? v4 : v5).assert('get', '/pix/payments/{paymentId}', 200, res.json())
    return res.json().data as Record<string, unknown>
  }
  const statuses = async (paymentId: string) => {
    const { rows } = await f.pool.query(`select payload from outbox where key = $1 order by seq`, [paymentId])
    return rows.map((r) => PaymentEvent.parse(r.payload).data.status)
  }
  const ana = { cpf: DEMO_CUSTOMERS.ana.cpf }

  it('a debit at the threshold is PDNG (debited, not settled) until the analysis ends, then ACSC', async () => {
    const before = await available(f.pool, anaChecking)
    const { payment } = await pay('v4', '50.00')
    expect(payment.status).toBe('PDNG')
    expect(await available(f.pool, anaChecking)).not.toBe(before)
    // Settlement runs but the hold is not over: still PDNG.
    later(ANALYSIS_MS - 1_000)
    await f.settlement.settleDue()
    await f.payments.followSettlement()
    expect((await get('v4', payment.paymentId)).status).toBe('PDNG')
    later(1_000)
    await f.settlement.settleDue()
    expect(await f.payments.followSettlement()).toBeGreaterThanOrEqual(1)
    expect((await get('v4', payment.paymentId)).status).toBe('ACSC')
    expect(await statuses(payment.paymentId)).toEqual(['RCVD', 'ACCP', 'PDNG', 'ACCP', 'ACPD', 'ACSC'])
  })

  it('below the threshold nothing is held', async () => {
    const { payment } = await pay('v5', '49.99')
    expect(payment.status).toBe('ACPD')
  })

  it('cancelled while PDNG: CANC with CANCELADO_PENDENCIA, the debit returned, never settled', async () => {
    const before = await available(f.pool, anaChecking)
    const { payment } = await pay('v5', '70.00')
    expect(payment.status).toBe('PDNG')
    const res = await f.app.inject({ method: 'PATCH', url: `/open-banking/payments/v5/pix/payments/${payment.paymentId}`, headers: await f.headers(), payload: cancelBody })
    expect(res.statusCode).toBe(200)
    v5.assert('patch', '/pix/payments/{paymentId}', 200, res.json())
    expect(res.json().data).toMatchObject({ status: 'CANC', cancellation: { reason: 'CANCELADO_PENDENCIA', cancelledFrom: 'INICIADORA' } })
    expect(await available(f.pool, anaChecking)).toBe(before)
    expect((await f.core.pixPayment(ana, payment.endToEndId))?.status).toBe('CANCELLED')
    later(ANALYSIS_MS + 1_000)
    await f.settlement.settleDue()
    await f.payments.followSettlement()
    expect((await get('v5', payment.paymentId)).status).toBe('CANC')
    expect(await available(f.pool, anaChecking)).toBe(before)
    // A second cancellation is refused: CANC is final.
    const again = await f.app.inject({ method: 'PATCH', url: `/open-banking/payments/v5/pix/payments/${payment.paymentId}`, headers: await f.headers(), payload: cancelBody })
    expect(again.statusCode).toBe(422)
    v5.assert('patch', '/pix/payments/{paymentId}', 422, again.json())
    expect(again.json().errors[0].code).toBe('PAGAMENTO_NAO_PERMITE_CANCELAMENTO')
  })

  it('v4 cancel-all cancels a PDNG payment with CANCELADO_PENDENCIA', async () => {
    const { consent, payment } = await pay('v4', '55.00')
    expect(payment.status).toBe('PDNG')
    const res = await f.app.inject({ method: 'PATCH', url: `/open-banking/payments/v4/pix/payments/consents/${encodeURIComponent(consent.consentId)}`, headers: await f.headers({ key: randomUUID() }), payload: cancelBody })
    expect(res.statusCode).toBe(200)
    v4.assert('patch', '/pix/payments/consents/{consentId}', 200, res.json())
    expect(res.json().data[0]).toMatchObject({ paymentId: payment.paymentId, statusUpdateDateTime: expect.any(String) })
    expect((await get('v4', payment.paymentId)).cancellation).toMatchObject({ reason: 'CANCELADO_PENDENCIA' })
  })

  it('a cancellation that comes after the core released and settled the debit is refused (422); the payment follows the core', async () => {
    const { payment } = await pay('v4', '60.00')
    later(ANALYSIS_MS)
    await f.settlement.settleDue() // the core released and settled it; connectors has not looked yet
    const res = await f.app.inject({ method: 'PATCH', url: `/open-banking/payments/v4/pix/payments/${payment.paymentId}`, headers: await f.headers(), payload: cancelBody })
    expect(res.statusCode).toBe(422)
    v4.assert('patch', '/pix/payments/{paymentId}', 422, res.json())
    expect(res.json().errors[0].code).toBe('PAGAMENTO_NAO_PERMITE_CANCELAMENTO')
    await f.payments.followSettlement()
    expect((await get('v4', payment.paymentId)).status).toBe('ACSC')
  })

  it('the core cancelled the held debit but the payment was not updated (a crash in between): the follow-up records CANC', async () => {
    const before = await available(f.pool, anaChecking)
    const { payment } = await pay('v5', '80.00')
    expect((await f.core.cancelPix(ana, payment.endToEndId))?.status).toBe('CANCELLED')
    expect((await get('v5', payment.paymentId)).status).toBe('PDNG')
    await f.payments.followSettlement()
    const p = await get('v5', payment.paymentId)
    expect(p).toMatchObject({ status: 'CANC', cancellation: { reason: 'CANCELADO_PENDENCIA', cancelledFrom: 'DETENTORA' } })
    expect(await available(f.pool, anaChecking)).toBe(before)
  })
})
