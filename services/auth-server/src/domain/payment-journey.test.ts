import { describe, expect, it } from 'vitest'
import type { InternalPaymentConsent } from '@ponte/contracts'
import { describeWhen, eligibleDebtorAccounts, formatAmount, maskDocument, paymentConsentRefusal, sameAccount } from './payment-journey.ts'

const consent = (over: Partial<InternalPaymentConsent> = {}): InternalPaymentConsent => ({
  consentId: 'urn:ponte:1', apiVersion: 'v4', status: 'AWAITING_AUTHORISATION', clientId: 'c1', organisationId: 'o1',
  creationDateTime: '2026-01-01T10:00:00Z', statusUpdateDateTime: '2026-01-01T10:00:00Z', expirationDateTime: '2026-01-01T10:05:00Z',
  loggedUser: { cpf: '12345678901' }, creditor: { personType: 'PESSOA_NATURAL', cpfCnpj: '52998224725', name: 'M' }, payment: { amount: '1.00', currency: 'BRL' }, ...over,
})

describe('payment journey rules', () => {
  it('accepts only an awaiting payment consent of the same client before its expiry', () => {
    const now = new Date('2026-01-01T10:04:59Z')
    expect(paymentConsentRefusal(consent(), 'c1', now)).toBeUndefined()
    expect(paymentConsentRefusal(undefined, 'c1', now)).toMatch(/does not exist/)
    expect(paymentConsentRefusal(consent(), 'c2', now)).toMatch(/another client/)
    expect(paymentConsentRefusal(consent({ status: 'CONSUMED' }), 'c1', now)).toMatch(/CONSUMED/)
    expect(paymentConsentRefusal(consent(), 'c1', new Date('2026-01-01T10:05:00Z'))).toMatch(/window/)
  })

  it('masks documents, formats amounts and says when', () => {
    expect(maskDocument('52998224725')).toBe('***.982.247-**')
    expect(maskDocument('04252011000110')).toBe('04.252.011/****-**')
    expect(formatAmount({ amount: '1234.56', currency: 'BRL' }, 'pt-BR')).toMatch(/^R\$\s1\.234,56$/)
    expect(formatAmount({ amount: '1234.56', currency: 'BRL' }, 'en')).toBe('R$1,234.56')
    expect(describeWhen({ date: '2026-12-07' }, 'pt-BR')).toBe('7 de dezembro de 2026')
    expect(describeWhen({ schedule: { weekly: { dayOfWeek: 'SEGUNDA_FEIRA', startDate: '2026-12-07', quantity: 4 } } }, 'pt-BR')).toBe('Semanal, às segundas-feiras, 4 pagamentos a partir de 7 de dezembro de 2026')
    expect(describeWhen({ schedule: { monthly: { dayOfMonth: 5, startDate: '2026-12-05', quantity: 3 } } }, 'en')).toBe('Monthly on day 5, 3 payments from 5 December 2026')
    expect(describeWhen({ schedule: { custom: { dates: ['2026-12-07', '2026-12-09'] } } }, 'en')).toBe('On 7 December 2026, 9 December 2026')
  })

  it('offers only accounts in the Payments API form and matches the named account regardless of leading zeros', () => {
    const acc = { ispb: '12345678', issuer: '0001', number: '000123456', accountType: 'CACC' as const }
    const eligible = eligibleDebtorAccounts([
      { type: 'ACCOUNT', resourceId: 'a', label: 'x', maskedNumber: '1', paymentAccount: acc },
      { type: 'ACCOUNT', resourceId: 'b', label: 'x', maskedNumber: '1' },
      { type: 'CREDIT_CARD_ACCOUNT', resourceId: 'c', label: 'x', maskedNumber: '1' },
    ])
    expect(eligible.map((a) => a.resourceId)).toEqual(['a'])
    expect(sameAccount(acc, { ...acc, issuer: '1', number: '123456' })).toBe(true)
    expect(sameAccount(acc, { ...acc, accountType: 'SVGS' })).toBe(false)
    expect(sameAccount(acc, { ...acc, number: '000123457' })).toBe(false)
    expect(sameAccount(acc, { ...acc, ispb: '87654321' })).toBe(false)
  })
})
