import { describe, expect, it } from 'vitest'
import { brasiliaDay, decideDebit, heldForAnalysis, fromCents, pixKeyHasType, settlementOutcome, toCents } from './pix.ts'

describe('Pix rules of the reference core', () => {
  it('tells key types apart by their format', () => {
    expect(pixKeyHasType('pix@lojaexemplo.com.br', 'EMAIL')).toBe(true)
    expect(pixKeyHasType('Pix@LojaExemplo.com.br', 'EMAIL')).toBe(false) // the DICT stores e-mail keys in lower case
    expect(pixKeyHasType('+5561988887777', 'PHONE')).toBe(true)
    expect(pixKeyHasType('61988887777', 'PHONE')).toBe(false)
    expect(pixKeyHasType('52998224725', 'CPF')).toBe(true)
    expect(pixKeyHasType('52998224725', 'CNPJ')).toBe(false)
    expect(pixKeyHasType('11444777000161', 'CNPJ')).toBe(true)
    expect(pixKeyHasType('123e4567-e89b-42d3-a456-426614174000', 'EVP')).toBe(true)
    expect(pixKeyHasType('123e4567-e89b-12d3-a456-426614174000', 'EVP')).toBe(false)
    expect(pixKeyHasType(`${'a'.repeat(70)}@ex.com.br`, 'EMAIL')).toBe(false)
  })

  it('counts money in integer cents', () => {
    expect(toCents('0.10') + toCents('0.20')).toBe(30n)
    expect(fromCents(toCents('12345678901234567.89'))).toBe('12345678901234567.89')
    expect(fromCents(-5n)).toBe('-0.05')
  })

  it('refuses a debit over the daily limit, then over the balance, and to the same account', () => {
    const base = { amount: '100.00', available: '100.00', spentToday: '900.00', dailyLimit: '1000.00', sameAccount: false }
    expect(decideDebit(base)).toEqual({ ok: true })
    expect(decideDebit({ ...base, amount: '100.01' })).toMatchObject({ ok: false, code: 'VALOR_ACIMA_LIMITE' })
    expect(decideDebit({ ...base, available: '99.99' })).toMatchObject({ ok: false, code: 'SALDO_INSUFICIENTE' })
    expect(decideDebit({ ...base, sameAccount: true })).toMatchObject({ ok: false, code: 'CONTAS_ORIGEM_DESTINO_IGUAIS' })
  })

  it('holds debits at or above the analysis threshold, none without one', () => {
    expect(heldForAnalysis('999.99', '1000.00')).toBe(false)
    expect(heldForAnalysis('1000.00', '1000.00')).toBe(true)
    expect(heldForAnalysis('1000.01', '1000.00')).toBe(true)
    expect(heldForAnalysis('1000000.00', undefined)).toBe(false)
  })

  it('takes the Brasília calendar day, not the UTC one', () => {
    const day = brasiliaDay(new Date('2031-03-15T02:50:00Z')) // 23:50 on the 14th in Brasília
    expect(day).toEqual({ day: '2031-03-14', start: new Date('2031-03-14T03:00:00Z'), end: new Date('2031-03-15T03:00:00Z') })
  })

  it('settles unless configured to reject, paying to the refused account, or to an unknown account of this bank', () => {
    const rules = { rejectAll: false, rejectedCreditorAccount: '99999999' }
    const p = { creditorNumber: '12345678', creditorInBank: false, creditorFound: false }
    expect(settlementOutcome(p, rules)).toEqual({ status: 'SETTLED' })
    expect(settlementOutcome(p, { ...rules, rejectAll: true })).toMatchObject({ status: 'REJECTED', code: 'PAGAMENTO_RECUSADO_SPI' })
    expect(settlementOutcome({ ...p, creditorNumber: '0099999999' }, rules)).toMatchObject({ status: 'REJECTED', code: 'PAGAMENTO_RECUSADO_SPI' })
    expect(settlementOutcome({ ...p, creditorInBank: true }, rules)).toMatchObject({ status: 'REJECTED' })
    expect(settlementOutcome({ ...p, creditorInBank: true, creditorFound: true }, rules)).toEqual({ status: 'SETTLED' })
  })
})
