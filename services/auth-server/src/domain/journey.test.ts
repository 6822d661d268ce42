import { describe, expect, it } from 'vitest'
import { PERMISSIONS, type InternalConsent } from '@ponte/contracts'
import { PERMISSION_GROUPS, consentRefusal, groupPermissions, normaliseCpf, pickLocale, resourceTypesFor } from './journey.ts'

const aConsent = (over: Partial<InternalConsent> = {}): InternalConsent => ({
  consentId: 'urn:ponte:1', kind: 'data', status: 'AWAITING_AUTHORISATION', clientId: 'c1', permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'],
  creationDateTime: '2026-01-01T10:00:00Z', statusUpdateDateTime: '2026-01-01T10:00:00Z', loggedUser: { cpf: '12345678901' }, resources: [], ...over,
})
const now = new Date('2026-01-01T10:10:00Z')

describe('journey rules', () => {
  it('accepts only an awaiting data consent of the same client within 60 minutes', () => {
    expect(consentRefusal(aConsent(), 'c1', now)).toBeUndefined()
    expect(consentRefusal(undefined, 'c1', now)).toMatch(/does not exist/)
    expect(consentRefusal(aConsent(), 'other', now)).toMatch(/another client/)
    expect(consentRefusal(aConsent({ status: 'AUTHORISED' }), 'c1', now)).toMatch(/AUTHORISED/)
    expect(consentRefusal(aConsent({ kind: 'payment' }), 'c1', now)).toMatch(/LoA3/)
    expect(consentRefusal(aConsent(), 'c1', new Date('2026-01-01T11:00:01Z'))).toMatch(/60 minutes/)
  })

  it('groups permissions as the spec does and derives the resource types to choose', () => {
    const groups = groupPermissions(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'RESOURCES_READ'])
    expect(groups.map((g) => g.id)).toEqual(['cadastro', 'contas'])
    expect(groups[1]!.items).toHaveLength(2)
    expect([...resourceTypesFor(['CREDIT_CARDS_ACCOUNTS_READ', 'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ'])]).toEqual(['CREDIT_CARD_ACCOUNT'])
  })

  it('shows every permission of the catalogue but RESOURCES_READ in exactly one block, blocks in the catalogue order', () => {
    const shown = PERMISSION_GROUPS.flatMap((g) => g.items.map((i) => i.permission))
    expect([...shown].sort()).toEqual(PERMISSIONS.filter((p) => p !== 'RESOURCES_READ').sort())
    expect(PERMISSION_GROUPS.map((g) => g.id)).toEqual(['cadastro', 'contas', 'cartao', 'emprestimos', 'financiamentos', 'adiantamento', 'direitos-creditorios',
      'renda-fixa-bancaria', 'renda-fixa-credito', 'fundos', 'renda-variavel', 'tesouro', 'cambio'])
    expect(PERMISSION_GROUPS[1]!.items.map((i) => i.permission)).toEqual(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_OVERDRAFT_LIMITS_READ', 'ACCOUNTS_TRANSACTIONS_READ'])
  })

  it('normalises CPFs and picks the page language', () => {
    expect(normaliseCpf('123.456.789-01')).toBe('12345678901')
    expect(normaliseCpf('1234')).toBeUndefined()
    expect(pickLocale(undefined)).toBe('pt-BR')
    expect(pickLocale('en-US pt-BR')).toBe('en')
    expect(pickLocale('fr')).toBe('pt-BR')
  })
})
