import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentEvent, type PaymentsApiVersion } from '@ponte/contracts'
import { specValidator } from '@ponte/testkit'
import { BASE_URL, CNPJ, CPF, startConsentApp, type TestConsentApp } from './helpers.ts'
import { START, TODAY, consentData, creditorAccount, debtorAccount, paymentsApi } from './payment-helpers.ts'

const specs = { v4: specValidator('payments-v4.0.1.yaml'), v5: specValidator('payments-v5.0.0.yaml') }
const versions: PaymentsApiVersion[] = ['v4', 'v5']
const errorCode = (res: { json(): { errors: Array<{ code: string }> } }) => res.json().errors[0]!.code

describe('Payment consents API v4 and v5', () => {
  let t: TestConsentApp
  let api: ReturnType<typeof paymentsApi>
  beforeAll(async () => {
    t = await startConsentApp({ prefix: 'consent_pay_api' })
    t.clock.set(START)
    api = paymentsApi(t)
  })
  afterAll(async () => t?.close())

  /** POST, checked against the version's spec whatever the status. */
  async function post(version: PaymentsApiVersion, data: unknown, options: Parameters<typeof api.post>[2] = {}) {
    const res = await api.post(version, data, options)
    specs[version].assert('post', '/consents', res.statusCode, res.json())
    return res
  }
  async function get(version: PaymentsApiVersion, consentId: string, ctx = {}) {
    const res = await api.get(version, consentId, ctx)
    specs[version].assert('get', '/consents/{consentId}', res.statusCode, res.json())
    return res
  }

  describe.each(versions)('%s', (version) => {
    it('creates an AWAITING_AUTHORISATION consent expiring in 5 minutes, echoing the request, and reads it back', async () => {
      const data = consentData(version, {}, { businessEntity: { document: { identification: CNPJ, rel: 'CNPJ' } }, debtorAccount })
      const res = await post(version, data)
      expect(res.statusCode).toBe(201)
      expect(res.headers['x-v']).toBe(version === 'v4' ? '4.0.1' : '5.0.0')
      const body = res.json()
      expect(body.data).toMatchObject({
        status: 'AWAITING_AUTHORISATION',
        creationDateTime: '2026-12-07T15:00:00Z',
        statusUpdateDateTime: '2026-12-07T15:00:00Z',
        expirationDateTime: '2026-12-07T15:05:00Z',
        loggedUser: data.loggedUser,
        businessEntity: data.businessEntity,
        creditor: data.creditor,
        payment: data.payment,
        debtorAccount,
      })
      expect(body.data.consentId).toMatch(/^urn:ponte:[0-9a-f-]{36}$/)
      expect(body.links.self).toBe(`${BASE_URL}/open-banking/payments/${version}/consents/${body.data.consentId}`)
      const read = await get(version, body.data.consentId)
      expect(read.statusCode).toBe(200)
      expect(read.json().data).toEqual(body.data)
      // The event says it is a payment consent of this version.
      const { rows } = await t.pool.query('select payload from outbox where key = $1', [body.data.consentId])
      expect(rows.map((r) => ConsentEvent.parse(r.payload))).toMatchObject([{ type: 'consent.created', data: { kind: 'payment', apiVersion: version, permissions: [] } }])
    })

    it.each([
      ['single', { schedule: { single: { date: '2026-12-08' } } }],
      ['daily', { schedule: { daily: { startDate: '2026-12-08', quantity: 60 } } }],
      ['weekly', { schedule: { weekly: { dayOfWeek: 'QUINTA_FEIRA', startDate: '2026-12-08', quantity: 10 } } }],
      ['monthly', { schedule: { monthly: { dayOfMonth: 31, startDate: '2026-12-08', quantity: 24 } } }],
      ['custom', { schedule: { custom: { dates: ['2026-12-10', '2028-12-06'], additionalInformation: 'duas parcelas' } } }],
    ])('accepts a %s schedule', async (kind, payment) => {
      const schedule = { ...(payment.schedule as Record<string, unknown>), ...(version === 'v5' ? { additionalInformation: 'agendamento' } : {}) }
      const purpose = version === 'v5' ? { purpose: kind === 'single' ? 'SINGLE_SCHEDULED' : 'RECURRENT_SCHEDULED' } : {}
      const res = await post(version, consentData(version, { date: undefined, schedule, ...purpose }))
      expect(res.statusCode, res.body).toBe(201)
      expect(res.json().data.payment.schedule).toEqual(schedule)
    })

    it('answers 403 to another client and 404 for an unknown consent or a data consent', async () => {
      const id = await api.create(version)
      expect((await get(version, id, { clientId: 'client-b' })).statusCode).toBe(403)
      expect((await get(version, `urn:ponte:${randomUUID()}`)).statusCode).toBe(404)
      const dataConsent = await t.create()
      expect((await get(version, dataConsent)).statusCode).toBe(404)
      // ...and the Consents API does not serve payment consents.
      const v3 = await t.app.inject({ method: 'GET', url: `/open-banking/consents/v3/consents/${id}`, headers: await t.tpp() })
      expect(v3.statusCode).toBe(404)
      const del = await t.app.inject({ method: 'DELETE', url: `/open-banking/consents/v3/consents/${id}`, headers: await t.tpp() })
      expect(del.statusCode).toBe(404)
      // ...and a consent is read in the version that created it.
      expect((await get(version === 'v4' ? 'v5' : 'v4', id)).statusCode).toBe(404)
    })

    it('refuses a token without the payments scope (403) and a body without data (400)', async () => {
      expect((await post(version, consentData(version), { ctx: { scopes: ['consents'] } })).statusCode).toBe(403)
      const res = await post(version, undefined, { body: { consent: {} } })
      expect(res.statusCode).toBe(400)
    })
  })

  // -------------------------------------------------------------------------------------------------------------
  // The refusal matrix (docs/regulation/payments.md#validation-order): each body rule with its status and code.
  // -------------------------------------------------------------------------------------------------------------

  type Case = [string, PaymentsApiVersion[], string, (v: PaymentsApiVersion) => unknown]
  const both: PaymentsApiVersion[] = ['v4', 'v5']
  const withPayment = (p: Record<string, unknown>) => (v: PaymentsApiVersion) => consentData(v, p)
  const scheduled = (schedule: Record<string, unknown>, recurring = true) => (v: PaymentsApiVersion) =>
    consentData(v, {
      date: undefined,
      schedule: { ...schedule, ...(v === 'v5' ? { additionalInformation: 'x' } : {}) },
      ...(v === 'v5' ? { purpose: recurring ? 'RECURRENT_SCHEDULED' : 'SINGLE_SCHEDULED' } : {}),
    })
  const details = (d: Record<string, unknown>) => withPayment({ details: { creditorAccount, ...d } })
  const cases: Case[] = [
    ['PARAMETRO_NAO_INFORMADO', both, 'creditor missing', (v) => ({ ...consentData(v), creditor: undefined })],
    ['PARAMETRO_NAO_INFORMADO', both, 'amount missing', withPayment({ amount: undefined })],
    ['PARAMETRO_NAO_INFORMADO', both, 'neither date nor schedule', withPayment({ date: undefined })],
    ['PARAMETRO_INVALIDO', both, 'amount format', withPayment({ amount: '100.0' })],
    ['PARAMETRO_INVALIDO', both, 'amount zero', withPayment({ amount: '0.00' })],
    ['PARAMETRO_INVALIDO', both, 'currency not BRL', withPayment({ currency: 'USD' })],
    ['PARAMETRO_INVALIDO', both, 'ibgeTownCode format', withPayment({ ibgeTownCode: '53001' })],
    ['PARAMETRO_INVALIDO', both, 'loggedUser CPF format', (v) => ({ ...consentData(v), loggedUser: { document: { identification: '123', rel: 'CPF' } } })],
    ['PARAMETRO_INVALIDO', both, 'date and schedule together', (v) => consentData(v, { schedule: { single: { date: '2026-12-08' } } })],
    ['PARAMETRO_INVALIDO', both, 'date that does not exist', withPayment({ date: '2026-02-30' })],
    ['PARAMETRO_INVALIDO', both, 'daily over 60 payments', scheduled({ daily: { startDate: '2026-12-08', quantity: 61 } })],
    ['PARAMETRO_INVALIDO', both, 'monthly over 24 payments', scheduled({ monthly: { dayOfMonth: 8, startDate: '2026-12-08', quantity: 25 } })],
    ['PARAMETRO_INVALIDO', both, 'weekly past two years', scheduled({ weekly: { dayOfWeek: 'SEGUNDA_FEIRA', startDate: '2028-10-01', quantity: 20 } })],
    ['PARAMETRO_INVALIDO', both, 'custom over 60 dates', scheduled({ custom: { additionalInformation: 'x', dates: Array.from({ length: 61 }, (_, i) => new Date(Date.UTC(2026, 11, 8 + i)).toISOString().slice(0, 10)) } })],
    ['PARAMETRO_INVALIDO', both, 'custom repeated dates', scheduled({ custom: { additionalInformation: 'x', dates: ['2026-12-10', '2026-12-10'] } })],
    ['PARAMETRO_INVALIDO', both, 'two schedule kinds', scheduled({ single: { date: '2026-12-08' }, daily: { startDate: '2026-12-08', quantity: 2 } })],
    ['FORMA_PAGAMENTO_INVALIDA', both, 'type not PIX', withPayment({ type: 'TED' })],
    ['FORMA_PAGAMENTO_INVALIDA', both, 'unknown localInstrument', details({ localInstrument: 'XXXX', proxy: 'pix@lojaexemplo.com.br' })],
    ['FORMA_PAGAMENTO_INVALIDA', ['v4'], 'APES before v5', details({ localInstrument: 'APES', proxy: 'pix@lojaexemplo.com.br', qrCode: 'qr' })],
    ['FORMA_PAGAMENTO_INVALIDA', both, 'INIC in a recurring schedule', (v) => {
      const d = scheduled({ daily: { startDate: '2026-12-08', quantity: 2 } })(v)
      return { ...d, payment: { ...d.payment, details: { localInstrument: 'INIC', proxy: 'pix@lojaexemplo.com.br', creditorAccount } } }
    }],
    ['DATA_PAGAMENTO_INVALIDA', both, 'immediate payment dated tomorrow', withPayment({ date: '2026-12-08' })],
    ['DATA_PAGAMENTO_INVALIDA', both, 'single schedule for today', scheduled({ single: { date: TODAY } }, false)],
    ['DATA_PAGAMENTO_INVALIDA', both, 'single schedule past D+730', scheduled({ single: { date: '2028-12-08' } }, false)],
    ['DATA_PAGAMENTO_INVALIDA', both, 'recurrence starting today', scheduled({ daily: { startDate: TODAY, quantity: 2 } })],
    ['DETALHE_PAGAMENTO_INVALIDO', both, 'MANU with a proxy', details({ localInstrument: 'MANU', proxy: 'pix@lojaexemplo.com.br' })],
    ['DETALHE_PAGAMENTO_INVALIDO', both, 'DICT without a proxy', details({ localInstrument: 'DICT' })],
    ['DETALHE_PAGAMENTO_INVALIDO', both, 'DICT with a malformed key', details({ localInstrument: 'DICT', proxy: 'not a key' })],
    ['DETALHE_PAGAMENTO_INVALIDO', both, 'QRES without a QR code', details({ localInstrument: 'QRES', proxy: 'pix@lojaexemplo.com.br' })],
    ['DETALHE_PAGAMENTO_INVALIDO', ['v5'], 'QRDN without payloadJWS', details({ localInstrument: 'QRDN', proxy: 'pix@lojaexemplo.com.br', qrCode: 'qr' })],
    ['DETALHE_PAGAMENTO_INVALIDO', both, 'CACC creditor account without branch', withPayment({ details: { localInstrument: 'MANU', creditorAccount: { ...creditorAccount, issuer: undefined } } })],
    ['DETALHE_PAGAMENTO_INVALIDO', both, 'PESSOA_NATURAL with a CNPJ', (v) => ({ ...consentData(v), creditor: { personType: 'PESSOA_NATURAL', cpfCnpj: '11444777000161', name: 'Loja' } })],
    ['PARAMETRO_NAO_INFORMADO', ['v4'], 'custom schedule without additionalInformation', scheduled({ custom: { dates: ['2026-12-10', '2026-12-11'] } })],
    ['PARAMETRO_NAO_INFORMADO', ['v5'], 'schedule without additionalInformation', (v) => consentData(v, { date: undefined, purpose: 'SINGLE_SCHEDULED', schedule: { single: { date: '2026-12-08' } } })],
    ['PARAMETRO_NAO_INFORMADO', ['v5'], 'purpose missing', withPayment({ purpose: undefined })],
    ['PROPOSITO_INVALIDO', ['v5'], 'immediate payment with a scheduled purpose', withPayment({ purpose: 'SINGLE_SCHEDULED' })],
  ]
  const matrix = cases.flatMap(([code, vs, what, build]) => vs.map((v) => [v, code, what, build] as const))

  it.each(matrix)('%s answers 422 %s for %s, and stores nothing', async (version, code, _what, build) => {
    const key = randomUUID()
    const before = (await t.pool.query('select count(*)::int as n from consents')).rows[0].n
    const res = await post(version, JSON.parse(JSON.stringify(build(version))), { key })
    expect(res.statusCode, res.body).toBe(422)
    expect(errorCode(res)).toBe(code)
    expect((await t.pool.query('select count(*)::int as n from consents')).rows[0].n).toBe(before)
    // A refused request leaves its key free.
    expect((await t.pool.query('select count(*)::int as n from payment_consent_idempotency where idempotency_key = $1', [key])).rows[0].n).toBe(0)
  })

  it.each(versions)('%s accepts v5-only forms only in v5 (APDN with payloadJWS, alphanumeric CNPJ)', async (version) => {
    const data = consentData(version, {
      details: { localInstrument: 'APDN', proxy: '+5561988887777', qrCode: '000201abc', payloadJWS: 'eyJh.eyJi.c2ln', creditorAccount },
    }, { businessEntity: { document: { identification: 'AB12CD34000195', rel: 'CNPJ' } } })
    const res = await post(version, data)
    expect(res.statusCode, res.body).toBe(version === 'v5' ? 201 : 422)
  })

  // -------------------------------------------------------------------------------------------------------------
  // x-idempotency-key (docs/regulation/payments.md#idempotency)
  // -------------------------------------------------------------------------------------------------------------

  describe('x-idempotency-key', () => {
    it('is required and must be 1 to 40 characters without surrounding blanks', async () => {
      const missing = await post('v4', consentData('v4'), { key: null })
      expect([missing.statusCode, errorCode(missing)]).toEqual([422, 'PARAMETRO_NAO_INFORMADO'])
      for (const key of ['x'.repeat(41), ' padded']) {
        const res = await post('v4', consentData('v4'), { key })
        expect([res.statusCode, errorCode(res)]).toEqual([422, 'PARAMETRO_INVALIDO'])
      }
    })

    it('answers the original consent, in its current state, to the same key and the same data', async () => {
      const key = randomUUID()
      const data = consentData('v5')
      const first = await post('v5', data, { key })
      expect(first.statusCode).toBe(201)
      const id = first.json().data.consentId
      expect((await api.authorise(id)).statusCode).toBe(200)
      // Same data with its keys in another order: the same request.
      const reordered = JSON.parse(JSON.stringify({ payment: data.payment, creditor: data.creditor, loggedUser: data.loggedUser }))
      const again = await post('v5', reordered, { key })
      expect(again.statusCode).toBe(201)
      expect(again.json().data).toMatchObject({ consentId: id, status: 'AUTHORISED', debtorAccount })
      expect((await t.pool.query('select count(*)::int as n from consents where consent_id = $1', [id])).rows[0].n).toBe(1)
      const events = await t.pool.query('select payload from outbox where key = $1 order by seq', [id])
      expect(events.rows.map((r) => r.payload.type)).toEqual(['consent.created', 'consent.authorised'])
    })

    it('refuses other data with the same key (422 ERRO_IDEMPOTENCIA) and another organisation\'s key (403)', async () => {
      const key = randomUUID()
      expect((await post('v4', consentData('v4'), { key })).statusCode).toBe(201)
      const other = await post('v4', consentData('v4', { amount: '100.01' }), { key })
      expect([other.statusCode, errorCode(other)]).toEqual([422, 'ERRO_IDEMPOTENCIA'])
      const foreign = await post('v4', consentData('v4'), { key, ctx: { organisationId: 'org-b', clientId: 'client-b' } })
      expect(foreign.statusCode).toBe(403)
    })

    it('forgets a key after 24 hours (sweep), so it creates a new consent', async () => {
      const key = randomUUID()
      const first = (await post('v4', consentData('v4'), { key })).json().data.consentId
      t.clock.advance(24 * 60 * 60_000)
      try {
        expect(await t.consents.sweepIdempotencyKeys(10_000)).toBeGreaterThanOrEqual(1)
        expect((await t.pool.query('select count(*)::int as n from payment_consent_idempotency where idempotency_key = $1', [key])).rows[0].n).toBe(0)
        // The payment date must be the new today.
        const res = await post('v4', consentData('v4', { date: '2026-12-08' }), { key })
        expect(res.statusCode).toBe(201)
        expect(res.json().data.consentId).not.toBe(first)
      } finally {
        t.clock.set(START)
      }
    })

    it('creates one consent for 20 concurrent requests with one key, and answers all of them with it', async () => {
      const key = randomUUID()
      const data = consentData('v4')
      const results = await Promise.all(Array.from({ length: 20 }, () => api.post('v4', data, { key })))
      expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(201))
      const ids = new Set(results.map((r) => r.json().data.consentId))
      expect(ids.size).toBe(1)
      const [id] = [...ids]
      const stored = await t.pool.query('select consent_id from payment_consent_idempotency where idempotency_key = $1', [key])
      expect(stored.rows).toEqual([{ consent_id: id }])
      const events = await t.pool.query(`select count(*)::int as n from outbox where key = $1`, [id])
      expect(events.rows[0].n).toBe(1)
    })
  })

  it('keeps the creditor of the customer out of the event stream and the CPF in the audit trail only', async () => {
    const id = await api.create('v4')
    const audit = await t.pool.query('select action, actor_type, via from consent_audit where consent_id = $1', [id])
    expect(audit.rows).toEqual([{ action: 'created', actor_type: 'TPP', via: 'gateway' }])
    const { rows } = await t.pool.query('select payload from outbox where key = $1', [id])
    expect(JSON.stringify(rows[0].payload)).not.toContain(CPF)
  })
})
