import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { PaymentEvent } from '@ponte/contracts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { available } from './pix-support.ts'
import { demoId, DEMO_CUSTOMERS } from '../src/seed/demo-bank.ts'
import { aConsent, anaChecking, itemsFor, ORG, paymentsFixture, type PaymentsFixture } from './payments-support.ts'

const v4 = specValidator('payments-v4.0.1.yaml')
const v5 = specValidator('payments-v5.0.0.yaml')
const V4 = '/open-banking/payments/v4'
const V5 = '/open-banking/payments/v5'
const cancelBody = { data: { status: 'CANC', cancellation: { cancelledBy: { document: { identification: '76109277673', rel: 'CPF' } } } } }

describe('Pix payments v4/v5 (connectors)', () => {
  let f: PaymentsFixture
  beforeAll(async () => { f = await paymentsFixture('connectors_payments') })
  afterAll(async () => { await f?.close() })

  async function post(version: 'v4' | 'v5', consentId: string, data: unknown, key: string = randomUUID(), over: { organisationId?: string } = {}) {
    return f.app.inject({ method: 'POST', url: `/open-banking/payments/${version}/pix/payments`, headers: await f.headers({ consentId, key, ...over }), payload: { data } })
  }
  async function events(paymentId: string) {
    const { rows } = await f.pool.query(`select payload from outbox where key = $1 order by seq`, [paymentId])
    return rows.map((r) => PaymentEvent.parse(r.payload))
  }
  function givenConsent(...args: Parameters<typeof aConsent>) {
    const c = aConsent(...args)
    f.consent.consents.set(c.consentId, c)
    return c
  }

  it('an immediate DICT payment is debited (ACPD), consumes the consent, settles to ACSC; every change is an event; answers match the spec', async () => {
    const now = f.clock.now
    const consent = givenConsent(now)
    const before = await available(f.pool, anaChecking)
    const res = await post('v4', consent.consentId, itemsFor(consent, [brasiliaToday(now)], now))
    expect(res.statusCode).toBe(201)
    v4.assert('post', '/pix/payments', 201, res.json())
    const [p] = res.json().data
    expect(p.status).toBe('ACPD')
    expect(p.consentId).toBe(consent.consentId)
    expect(await available(f.pool, anaChecking)).not.toBe(before)
    expect(f.consent.consumed).toContainEqual({ consentId: consent.consentId, paymentIds: [p.paymentId] })

    f.clock.now = new Date(now.getTime() + 1_000)
    await f.settlement.settleDue()
    expect(await f.payments.followSettlement()).toBeGreaterThanOrEqual(1)
    const got = await f.app.inject({ method: 'GET', url: `${V4}/pix/payments/${p.paymentId}`, headers: await f.headers() })
    expect(got.statusCode).toBe(200)
    v4.assert('get', '/pix/payments/{paymentId}', 200, got.json())
    expect(got.json().data.status).toBe('ACSC')
    expect(got.headers['x-v']).toBe('4.0.1')
    const ev = await events(p.paymentId)
    expect(ev.map((e) => e.data.status)).toEqual(['RCVD', 'ACCP', 'ACPD', 'ACSC'])
    expect(ev[0]!.type).toBe('payment.created')
    // Another client cannot read it.
    const other = await f.app.inject({ method: 'GET', url: `${V4}/pix/payments/${p.paymentId}`, headers: await f.headers({ clientId: 'someone-else' }) })
    expect(other.statusCode).toBe(404)
  })

  it('idempotency: same key and data answers the original with its current state; other data 422 ERRO_IDEMPOTENCIA; another organisation 403', async () => {
    const now = f.clock.now
    const consent = givenConsent(now)
    const data = itemsFor(consent, [brasiliaToday(now)], now)
    const key = randomUUID()
    const first = await post('v5', consent.consentId, data, key)
    expect(first.statusCode).toBe(201)
    v5.assert('post', '/pix/payments', 201, first.json())
    const again = await post('v5', consent.consentId, data, key)
    expect(again.statusCode).toBe(201)
    expect(again.json().data[0].paymentId).toBe(first.json().data[0].paymentId)
    const changed = await post('v5', consent.consentId, [{ ...data[0], remittanceInformation: 'outro' }], key)
    expect(changed.statusCode).toBe(422)
    expect(changed.json().errors[0].code).toBe('ERRO_IDEMPOTENCIA')
    const foreign = await post('v5', consent.consentId, data, key, { organisationId: 'org-other' })
    expect(foreign.statusCode).toBe(403)
    // Past 24 h the key is forgotten (and purged).
    f.clock.now = new Date(now.getTime() + 24 * 3_600_000 + 1)
    try {
      expect(await f.payments.purgeExpiredKeys()).toBeGreaterThanOrEqual(1)
      const { rows } = await f.pool.query(`select count(*)::int as n from payment_idempotency where idempotency_key = $1`, [key])
      expect(rows[0].n).toBe(0)
    } finally {
      f.clock.now = now
    }
    // A second POST with another key cannot pay the same consent again.
    const second = await post('v5', consent.consentId, data, randomUUID())
    expect(second.statusCode).toBe(422)
    expect(second.json().errors[0].code).toBe('CONSENTIMENTO_INVALIDO')
  })

  it('20 concurrent duplicate POSTs with one key: one payment, one debit', async () => {
    const now = f.clock.now
    const consent = givenConsent(now, { amount: '3.17' })
    const data = itemsFor(consent, [brasiliaToday(now)], now)
    const key = randomUUID()
    const before = await available(f.pool, anaChecking)
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('v4', consent.consentId, data, key)))
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(201))
    expect(new Set(answers.map((a) => a.json().data[0].paymentId)).size).toBe(1)
    const { rows } = await f.pool.query(`select count(*)::int as n from pix_payment where end_to_end_id = $1`, [data[0]!.endToEndId])
    expect(rows[0].n).toBe(1)
    const { rows: mine } = await f.pool.query(`select count(*)::int as n from pix_payment_initiation where consent_id = $1`, [consent.consentId])
    expect(mine[0].n).toBe(1)
    const after = await available(f.pool, anaChecking)
    expect(Math.round((Number(before) - Number(after)) * 100)).toBe(317)
  })

  it('checks at payment time answer their 422 codes; a DICT failure consumes the consent, the others do not', async () => {
    const now = f.clock.now
    const today = brasiliaToday(now)
    const expired = givenConsent(now, { status: 'REJECTED' })
    let res = await post('v4', expired.consentId, itemsFor(expired, [today], now))
    expect(res.statusCode).toBe(422)
    v4.assert('post', '/pix/payments', 422, res.json())
    expect(res.json().errors[0].code).toBe('CONSENTIMENTO_INVALIDO')

    const c1 = givenConsent(now)
    res = await post('v4', c1.consentId, [{ ...itemsFor(c1, [today], now)[0], payment: { amount: '99.99', currency: 'BRL' } }])
    expect(res.json().errors[0].code).toBe('PAGAMENTO_DIVERGENTE_CONSENTIMENTO')
    res = await post('v4', c1.consentId, [{ ...itemsFor(c1, [today], now)[0], endToEndId: itemsFor(c1, [addDays(today, 3)], now)[0]!.endToEndId }])
    expect(res.json().errors[0].code).toBe('PAGAMENTO_DIVERGENTE_CONSENTIMENTO')

    const manu = givenConsent(now, { localInstrument: 'MANU', proxy: null })
    res = await post('v4', manu.consentId, [{ ...itemsFor(manu, [today], now)[0], proxy: 'pix@lojaexemplo.com.br' }])
    expect(res.json().errors[0].code).toBe('PAGAMENTO_DIVERGENTE_CONSENTIMENTO')
    const inic = givenConsent(now, { localInstrument: 'INIC' })
    res = await post('v4', inic.consentId, itemsFor(inic, [today], now))
    expect(res.json().errors[0].code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(f.consent.consumed.some((c) => [c1.consentId, manu.consentId, inic.consentId].includes(c.consentId))).toBe(false)

    const unknownKey = givenConsent(now, { proxy: 'nobody@nowhere.example' })
    res = await post('v4', unknownKey.consentId, itemsFor(unknownKey, [today], now))
    expect(res.statusCode).toBe(422)
    expect(res.json().errors[0].code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(f.consent.consumed).toContainEqual({ consentId: unknownKey.consentId, paymentIds: [] })
  })

  it('balance refused by the rail: the payment is recorded RJCT with SALDO_INSUFICIENTE (asynchronous check of the spec)', async () => {
    const now = f.clock.now
    const consent = givenConsent(now, { amount: '90000.00' })
    const res = await post('v4', consent.consentId, itemsFor(consent, [brasiliaToday(now)], now))
    expect(res.statusCode).toBe(201)
    const p = res.json().data[0]
    expect(p.status).toBe('RJCT')
    expect(p.rejectionReason.code).toBe('SALDO_INSUFICIENTE')
    v4.assert('post', '/pix/payments', 201, res.json())
    expect((await events(p.paymentId)).map((e) => e.data.status)).toEqual(['RCVD', 'ACCP', 'RJCT'])
  })

  it('v5 schedule: items are SCHD, listed, cancelled one by one or all (202); the scheduler pays the rest on their Brasília date', async () => {
    const now = f.clock.now
    const today = brasiliaToday(now)
    const start = addDays(today, 2)
    const consent = givenConsent(now, { amount: '1.11', schedule: { daily: { startDate: start, quantity: 3 } } })
    const dates = [start, addDays(start, 1), addDays(start, 2)]
    const res = await post('v5', consent.consentId, itemsFor(consent, dates, now))
    expect(res.statusCode).toBe(201)
    const ids = res.json().data.map((p: { paymentId: string }) => p.paymentId)
    expect(res.json().data.map((p: { status: string }) => p.status)).toEqual(['SCHD', 'SCHD', 'SCHD'])

    const list = await f.app.inject({ method: 'GET', url: `${V5}/consents/${encodeURIComponent(consent.consentId)}/pix/payments`, headers: await f.headers() })
    expect(list.statusCode).toBe(200)
    v5.assert('get', '/consents/{consentId}/pix/payments', 200, list.json())
    expect(list.json().data).toHaveLength(3)

    const cancel = await f.app.inject({ method: 'PATCH', url: `${V5}/pix/payments/${ids[2]}`, headers: await f.headers(), payload: cancelBody })
    expect(cancel.statusCode).toBe(200)
    v5.assert('patch', '/pix/payments/{paymentId}', 200, cancel.json())
    expect(cancel.json().data.status).toBe('CANC')
    expect(cancel.json().data.cancellation.reason).toBe('CANCELADO_AGENDAMENTO')

    // The first date arrives: the scheduler pays that one.
    f.clock.now = new Date(`${start}T12:00:00Z`)
    expect(await f.payments.runDue()).toBe(1)
    const first = await f.payments.get({ clientId: 'client-tpp-1', organisationId: ORG, scopes: [] }, ids[0])
    expect(first?.status).toBe('ACPD')
    // Too late to cancel it; the second (tomorrow) is still cancellable by cancel-all.
    const late = await f.app.inject({ method: 'PATCH', url: `${V5}/pix/payments/${ids[0]}`, headers: await f.headers(), payload: cancelBody })
    expect(late.statusCode).toBe(422)
    expect(late.json().errors[0].code).toBe('PAGAMENTO_NAO_PERMITE_CANCELAMENTO')
    const all = await f.app.inject({ method: 'PATCH', url: `${V5}/consents/${encodeURIComponent(consent.consentId)}/pix/payments`, headers: await f.headers({ key: randomUUID() }), payload: cancelBody })
    expect(all.statusCode).toBe(202)
    const second = await f.payments.get({ clientId: 'client-tpp-1', organisationId: ORG, scopes: [] }, ids[1])
    expect(second?.status).toBe('CANC')
    expect((await events(ids[1])).map((e) => e.data.status)).toEqual(['SCHD', 'CANC'])
    f.clock.now = new Date()
  })

  it('v4 cancel-all answers the cancelled payments and is idempotent by key', async () => {
    const now = f.clock.now
    const start = addDays(brasiliaToday(now), 5)
    const consent = givenConsent(now, { amount: '2.22', schedule: { daily: { startDate: start, quantity: 2 } } })
    const res = await post('v4', consent.consentId, itemsFor(consent, [start, addDays(start, 1)], now))
    expect(res.statusCode).toBe(201)
    const key = randomUUID()
    const url = `${V4}/pix/payments/consents/${encodeURIComponent(consent.consentId)}`
    const all = await f.app.inject({ method: 'PATCH', url, headers: await f.headers({ key }), payload: cancelBody })
    expect(all.statusCode).toBe(200)
    v4.assert('patch', '/pix/payments/consents/{consentId}', 200, all.json())
    expect(all.json().data).toHaveLength(2)
    const again = await f.app.inject({ method: 'PATCH', url, headers: await f.headers({ key }), payload: cancelBody })
    expect(again.statusCode).toBe(200)
    expect(again.json().data.map((d: { paymentId: string }) => d.paymentId)).toEqual(all.json().data.map((d: { paymentId: string }) => d.paymentId))
    const fresh = await f.app.inject({ method: 'PATCH', url, headers: await f.headers({ key: randomUUID() }), payload: cancelBody })
    expect(fresh.statusCode).toBe(422)
    expect(fresh.json().errors[0].code).toBe('PAGAMENTO_NAO_PERMITE_CANCELAMENTO')
  })

  it('consent unreachable after recording: the payment stands and payment.created carries the consent for catch-up', async () => {
    const now = f.clock.now
    const consent = givenConsent(now)
    // Read succeeds, then consent goes down before consume.
    const data = itemsFor(consent, [brasiliaToday(now)], now)
    const original = f.consent.consents.get(consent.consentId)!
    let reads = 0
    f.consent.consents.get = (id: string) => {
      if (id === consent.consentId && reads++ === 0) setImmediate(() => { f.consent.down = true })
      return id === consent.consentId ? original : Map.prototype.get.call(f.consent.consents, id)
    }
    try {
      const res = await post('v4', consent.consentId, data)
      expect(res.statusCode).toBe(201)
      const p = res.json().data[0]
      expect(f.consent.consumed.some((c) => c.consentId === consent.consentId)).toBe(false)
      const [created] = await events(p.paymentId)
      expect(created!.type).toBe('payment.created')
      expect(created!.data.consentId).toBe(consent.consentId)
    } finally {
      f.consent.down = false
      f.consent.consents.get = Map.prototype.get.bind(f.consent.consents)
    }
  })

  it('malformed bodies and a missing or malformed x-idempotency-key answer 422 in the OFB envelope; no payment consent in the token is 403', async () => {
    const consent = givenConsent(f.clock.now)
    const noKey = await f.app.inject({ method: 'POST', url: `${V4}/pix/payments`, headers: await f.headers({ consentId: consent.consentId }), payload: { data: [] } })
    expect(noKey.statusCode).toBe(422)
    expect(noKey.json().errors[0].code).toBe('PARAMETRO_NAO_INFORMADO')
    for (const key of ['x'.repeat(41), ' padded']) {
      const badKey = await post('v4', consent.consentId, itemsFor(consent, [brasiliaToday(f.clock.now)], f.clock.now), key)
      expect([badKey.statusCode, badKey.json().errors[0].code]).toEqual([422, 'PARAMETRO_INVALIDO'])
      v4.assert('post', '/pix/payments', 422, badKey.json())
    }
    const bad = await post('v4', consent.consentId, [{ endToEndId: 'x' }])
    expect(bad.statusCode).toBe(422)
    expect(['PARAMETRO_INVALIDO', 'PARAMETRO_NAO_INFORMADO']).toContain(bad.json().errors[0].code)
    const noConsent = await f.app.inject({ method: 'POST', url: `${V4}/pix/payments`, headers: await f.headers({ key: 'k1' }), payload: { data: itemsFor(consent, [brasiliaToday(f.clock.now)], f.clock.now) } })
    expect(noConsent.statusCode).toBe(403)
  })

  it('two schedulers racing over the same due payments debit each exactly once', async () => {
    const now = f.clock.now
    const start = addDays(brasiliaToday(now), 10)
    const dates = [start, addDays(start, 1), addDays(start, 2)]
    const consent = givenConsent(now, { amount: '0.97', schedule: { custom: { dates, additionalInformation: 'x' } } })
    const res = await post('v4', consent.consentId, itemsFor(consent, dates, now))
    expect(res.statusCode).toBe(201)
    const before = await available(f.pool, anaChecking)
    // Both processes wake up after the last date: all three are due.
    f.clock.now = new Date(`${dates[2]}T12:00:00Z`)
    try {
      const [a, b] = await Promise.all([f.payments.runDue(), f.another().runDue()])
      expect(a + b).toBe(3)
      const { rows } = await f.pool.query(`select status, count(*)::int as n from pix_payment_initiation where consent_id = $1 group by status`, [consent.consentId])
      expect(rows).toEqual([{ status: 'ACPD', n: 3 }])
      expect(Math.round((Number(before) - Number(await available(f.pool, anaChecking))) * 100)).toBe(291)
    } finally {
      f.clock.now = new Date()
    }
  })

  it('a settlement the arrangement rejects ends RJCT with PAGAMENTO_RECUSADO_SPI and the debit returned', async () => {
    const now = f.clock.now
    const consent = givenConsent(now, { amount: '4.44', localInstrument: 'MANU', proxy: null })
    const details = consent.payment.details as Record<string, unknown>
    details.creditorAccount = { ispb: '99999004', issuer: '0001', number: '99999999', accountType: 'CACC' }
    const before = await available(f.pool, anaChecking)
    const res = await post('v5', consent.consentId, itemsFor(consent, [brasiliaToday(now)], now))
    expect(res.json().data[0].status).toBe('ACPD')
    f.clock.now = new Date(now.getTime() + 1_000)
    await f.settlement.settleDue()
    await f.payments.followSettlement()
    const got = await f.app.inject({ method: 'GET', url: `${V5}/pix/payments/${res.json().data[0].paymentId}`, headers: await f.headers() })
    v5.assert('get', '/pix/payments/{paymentId}', 200, got.json())
    expect(got.json().data.status).toBe('RJCT')
    expect(got.json().data.rejectionReason.code).toBe('PAGAMENTO_RECUSADO_SPI')
    expect(await available(f.pool, anaChecking)).toBe(before)
  })

  it('over the customer\'s daily Pix limit: RJCT with VALOR_ACIMA_LIMITE, nothing debited', async () => {
    const now = f.clock.now
    const mariana = DEMO_CUSTOMERS.mariana.cpf
    await f.pool.query(`update customer set pix_daily_limit = 1.00 where cpf = $1`, [mariana])
    const consent = givenConsent(now, { amount: '1.01' })
    consent.loggedUser = { cpf: mariana }
    consent.authorisedBy = { cpf: mariana }
    consent.authorisedDebtorAccount = { resourceId: demoId('mariana:checking'), account: { ispb: '99999001', issuer: '0001', number: '00099887', accountType: 'CACC' } }
    const before = await available(f.pool, demoId('mariana:checking'))
    const res = await post('v5', consent.consentId, itemsFor(consent, [brasiliaToday(now)], now))
    expect(res.statusCode).toBe(201)
    v5.assert('post', '/pix/payments', 201, res.json())
    expect(res.json().data[0]).toMatchObject({ status: 'RJCT', rejectionReason: { code: 'VALOR_ACIMA_LIMITE' } })
    expect(await available(f.pool, demoId('mariana:checking'))).toBe(before)
  })
})
