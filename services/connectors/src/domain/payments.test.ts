import { describe, expect, it } from 'vitest'
import type { InternalPaymentConsent } from '@ponte/contracts'
import { canMove, cancellationReason, checkConsentUsable, checkLocalInstrument, consentDates, endToEndDate, matchConsent, parseBrCode, requestHash, type PaymentItem } from './payments.ts'

const creditorAccount = { ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' }
const item = (over: Partial<PaymentItem> = {}): PaymentItem => ({
  endToEndId: 'E9999900120260310150000000000001',
  localInstrument: 'DICT',
  payment: { amount: '10.00', currency: 'BRL' },
  creditorAccount,
  proxy: 'pix@lojaexemplo.com.br',
  cnpjInitiator: '11222333000181',
  ...over,
})
const consent = (payment: Record<string, unknown>, over: Partial<InternalPaymentConsent> = {}): InternalPaymentConsent => ({
  consentId: 'urn:bank:c1', apiVersion: 'v4', status: 'AUTHORISED', clientId: 'c', organisationId: 'o',
  creationDateTime: '2026-03-10T12:00:00Z', statusUpdateDateTime: '2026-03-10T12:00:00Z', expirationDateTime: '2026-03-10T13:00:00Z',
  loggedUser: { cpf: '76109277673' }, creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: '11444777000161', name: 'Loja' },
  payment: { amount: '10.00', currency: 'BRL', details: { localInstrument: 'DICT', proxy: 'pix@lojaexemplo.com.br', creditorAccount }, ...payment },
  authorisedDebtorAccount: { resourceId: 'acc', account: { ispb: '99999001', issuer: '0001', number: '1', accountType: 'CACC' } },
  authorisedBy: { cpf: '76109277673' },
  ...over,
})
const now = new Date('2026-03-10T12:30:00Z')

describe('payment rules', () => {
  it('expands every kind of schedule into its dates', () => {
    expect(consentDates({ date: '2026-03-10' })).toEqual(['2026-03-10'])
    expect(consentDates({ schedule: { single: { date: '2026-04-01' } } })).toEqual(['2026-04-01'])
    expect(consentDates({ schedule: { daily: { startDate: '2026-02-27', quantity: 3 } } })).toEqual(['2026-02-27', '2026-02-28', '2026-03-01'])
    // 2026-03-10 is a Tuesday: the first Friday on or after it is the 13th.
    expect(consentDates({ schedule: { weekly: { startDate: '2026-03-10', dayOfWeek: 'SEXTA_FEIRA', quantity: 2 } } })).toEqual(['2026-03-13', '2026-03-20'])
    expect(consentDates({ schedule: { monthly: { startDate: '2026-01-31', dayOfMonth: 31, quantity: 3 } } })).toEqual(['2026-01-31', '2026-02-28', '2026-03-31'])
    expect(consentDates({ schedule: { monthly: { startDate: '2026-01-20', dayOfMonth: 5, quantity: 2 } } })).toEqual(['2026-02-05', '2026-03-05'])
    expect(consentDates({ schedule: { custom: { dates: ['2026-05-02', '2026-04-01'], additionalInformation: 'x' } } })).toEqual(['2026-04-01', '2026-05-02'])
    expect(consentDates({})).toBeUndefined()
  })

  it('reads the date of an end-to-end id, and hashes data independently of key order', () => {
    expect(endToEndDate('E9999900120260310150000000000001')).toBe('2026-03-10')
    expect(requestHash({ a: 1, b: [{ c: 2, d: 3 }] })).toBe(requestHash({ b: [{ d: 3, c: 2 }], a: 1 }))
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }))
  })

  it('local-instrument rules', () => {
    expect(checkLocalInstrument(item(), 'v4')).toBeUndefined()
    expect(checkLocalInstrument(item({ localInstrument: 'MANU' }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(checkLocalInstrument(item({ localInstrument: 'MANU', proxy: undefined }), 'v4')).toBeUndefined()
    expect(checkLocalInstrument(item({ localInstrument: 'QRES' }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(checkLocalInstrument(item({ localInstrument: 'INIC' }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(checkLocalInstrument(item({ localInstrument: 'INIC', transactionIdentification: 'abc123' }), 'v4')).toBeUndefined()
    expect(checkLocalInstrument(item({ localInstrument: 'APES' }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(checkLocalInstrument(item({ localInstrument: 'APES' }), 'v5')).toBeUndefined()
    expect(checkLocalInstrument(item({ transactionIdentification: 'x' }), 'v5')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
  })

  it('the consent must be AUTHORISED and within its window', () => {
    expect(checkConsentUsable(consent({}), now)).toBeUndefined()
    expect(checkConsentUsable(consent({}, { status: 'CONSUMED' }), now)?.code).toBe('CONSENTIMENTO_INVALIDO')
    expect(checkConsentUsable(consent({}, { status: 'PARTIALLY_ACCEPTED' }), now)?.code).toBe('CONSENTIMENTO_PENDENTE_AUTORIZACAO')
    expect(checkConsentUsable(consent({}), new Date('2026-03-10T13:00:00Z'))?.code).toBe('CONSENTIMENTO_INVALIDO')
  })

  it('matches items to the consent and its dates', () => {
    const c = consent({ date: '2026-03-10' })
    expect(matchConsent([item()], c, 'v4', now)).toEqual({ dates: ['2026-03-10'] })
    expect(matchConsent([item({ payment: { amount: '10.01', currency: 'BRL' } })], c, 'v4', now)).toMatchObject({ code: 'PAGAMENTO_DIVERGENTE_CONSENTIMENTO' })
    expect(matchConsent([item({ creditorAccount: { ...creditorAccount, number: '1' } })], c, 'v4', now)).toMatchObject({ code: 'PAGAMENTO_DIVERGENTE_CONSENTIMENTO' })
    expect(matchConsent([item({ endToEndId: 'E9999900120260311150000000000001' })], c, 'v4', now)).toMatchObject({ code: 'PAGAMENTO_DIVERGENTE_CONSENTIMENTO' })
    expect(matchConsent([item(), item({ endToEndId: 'E9999900120260310150000000000002' })], c, 'v4', now)).toMatchObject({ code: 'PAGAMENTO_DIVERGENTE_CONSENTIMENTO' })
    const sched = consent({ schedule: { daily: { startDate: '2026-03-11', quantity: 2 } } })
    const two = [item({ endToEndId: 'E9999900120260312150000000000001' }), item({ endToEndId: 'E9999900120260311150000000000002' })]
    expect(matchConsent(two, sched, 'v4', now)).toEqual({ dates: ['2026-03-12', '2026-03-11'] })
    // 22:30 in Brasília is already the next day in UTC: an immediate payment may carry that UTC date.
    const late = new Date('2026-03-11T01:30:00Z')
    expect(matchConsent([item({ endToEndId: 'E9999900120260311013000000000001' })], c, 'v4', late)).toEqual({ dates: ['2026-03-10'] })
  })

  it('status machine and cancellation', () => {
    expect(canMove('RCVD', 'ACCP')).toBe(true)
    expect(canMove('ACSC', 'CANC')).toBe(false)
    expect(canMove('ACPD', 'CANC')).toBe(false)
    expect(cancellationReason({ status: 'SCHD', paymentDate: '2026-03-11' }, now)).toBe('CANCELADO_AGENDAMENTO')
    // On the payment's own date (Brasília) it is too late.
    expect(cancellationReason({ status: 'SCHD', paymentDate: '2026-03-10' }, now)).toBeUndefined()
    expect(cancellationReason({ status: 'PDNG', paymentDate: '2026-03-10' }, now)).toBe('CANCELADO_PENDENCIA')
    expect(cancellationReason({ status: 'ACSC', paymentDate: '2026-03-20' }, now)).toBeUndefined()
  })
})

describe('BR Code (QR) rules', () => {
  /** Builds a static BR Code for `key` (and `amount`) with its CRC, as a payer's app reads it. */
  function brCode(key: string, amount?: string): string {
    const f = (id: string, v: string) => `${id}${String(v.length).padStart(2, '0')}${v}`
    const body = f('00', '01') + f('26', f('00', 'br.gov.bcb.pix') + f('01', key)) + f('52', '0000') + f('53', '986') + (amount ? f('54', amount) : '')
      + f('58', 'BR') + f('59', 'LOJA EXEMPLO') + f('60', 'BRASILIA') + f('62', f('05', '***')) + '6304'
    return body + crc(body)
  }
  function crc(text: string): string {
    let c = 0xffff
    for (const b of Buffer.from(text)) {
      c ^= b << 8
      for (let i = 0; i < 8; i++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
    }
    return c.toString(16).toUpperCase().padStart(4, '0')
  }

  it('reads key and amount, and refuses a wrong CRC', () => {
    // The spec's own example code (payments-v4.0.1.yaml, qrCode) is a valid BR Code.
    const spec = '00020104141234567890123426660014BR.GOV.BCB.PIX014466756C616E6F32303139406578616D706C652E636F6D27300012BR.COM.OUTRO011001234567895204000053039865406123.455802BR5915NOMEDORECEBEDOR6008BRASILIA61087007490062530515RP12345678-201950300017BR.GOV.BCB.BRCODE01051.0.080450014BR.GOV.BCB.PIX0123PADRAO.URL.PIX/0123ABCD81390012BR.COM.OUTRO01190123.ABCD.3456.WXYZ6304EB76'
    expect(parseBrCode(spec)).toEqual({ key: '66756C616E6F32303139406578616D706C652E636F6D', amount: '123.45' })
    expect(parseBrCode(brCode('pix@lojaexemplo.com.br', '10.00'))).toEqual({ key: 'pix@lojaexemplo.com.br', amount: '10.00' })
    expect(parseBrCode(brCode('pix@lojaexemplo.com.br').replace(/.{4}$/, '0000'))).toBeUndefined()
    expect(parseBrCode('not a qr code')).toBeUndefined()
  })

  it('QRES: the code must carry the proxy and the payment amount', () => {
    const qres = { localInstrument: 'QRES', proxy: 'pix@lojaexemplo.com.br' }
    expect(checkLocalInstrument(item({ ...qres, qrCode: brCode('pix@lojaexemplo.com.br', '10.00') }), 'v4')).toBeUndefined()
    expect(checkLocalInstrument(item({ ...qres, qrCode: brCode('outra@chave.com', '10.00') }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(checkLocalInstrument(item({ ...qres, qrCode: brCode('pix@lojaexemplo.com.br', '11.00') }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
    expect(checkLocalInstrument(item({ ...qres, qrCode: 'garbage' }), 'v4')?.code).toBe('DETALHE_PAGAMENTO_INVALIDO')
  })
})
