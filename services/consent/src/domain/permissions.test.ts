import { describe, expect, it } from 'vitest'
import type { Permission, PermissionGroupName } from '@ponte/contracts'
import { DEFAULT_OFFERED_GROUPS, OPTIONAL_GROUPS, resolvePermissions } from './permissions.ts'

const all = new Set<PermissionGroupName>(DEFAULT_OFFERED_GROUPS)
const pf = { hasBusinessEntity: false, offered: all }
const pj = { hasBusinessEntity: true, offered: all }
const resolve = (ps: string[], opts = pf) => resolvePermissions(ps as Permission[], opts)

describe('resolvePermissions', () => {
  it('accepts complete groups and returns them in the spec order', () => {
    const r = resolve(['RESOURCES_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_READ'])
    expect(r).toMatchObject({ ok: true, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'], groups: ['ACCOUNTS_BALANCES'] })
  })

  it('refuses a group without RESOURCES_READ or a partial group', () => {
    expect(resolve(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ'])).toMatchObject({ ok: false, code: 'COMBINACAO_PERMISSOES_INCORRETA' })
    expect(resolve(['ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'])).toMatchObject({ ok: false, code: 'COMBINACAO_PERMISSOES_INCORRETA' })
    expect(resolve(['RESOURCES_READ'])).toMatchObject({ ok: false, code: 'COMBINACAO_PERMISSOES_INCORRETA' })
    expect(resolve(['LOANS_READ', 'LOANS_WARRANTIES_READ', 'RESOURCES_READ'])).toMatchObject({ ok: false, code: 'COMBINACAO_PERMISSOES_INCORRETA' })
  })

  it('accepts the whole credit-operations block as the union of its products', () => {
    const credit = ['LOANS', 'FINANCINGS', 'UNARRANGED_ACCOUNTS_OVERDRAFT', 'INVOICE_FINANCINGS']
      .flatMap((p) => [`${p}_READ`, `${p}_WARRANTIES_READ`, `${p}_SCHEDULED_INSTALMENTS_READ`, `${p}_PAYMENTS_READ`])
    const r = resolve([...credit, 'RESOURCES_READ'])
    expect(r.ok && r.permissions.length).toBe(17)
  })

  it('applies the PF/PJ rules', () => {
    expect(resolve(['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'], pj))
      .toMatchObject({ ok: false, code: 'PERMISSAO_PF_PJ_EM_CONJUNTO' })
    expect(resolve(['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'])).toMatchObject({ ok: false, code: 'INFORMACOES_PJ_NAO_INFORMADAS' })
    expect(resolve(['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'RESOURCES_READ'], pj)).toMatchObject({ ok: false, code: 'PERMISSOES_PJ_INCORRETAS' })
    expect(resolve(['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'], pj)).toMatchObject({ ok: true })
    expect(resolve(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'], pj)).toMatchObject({ ok: true })
  })

  it('trims per-resource groups the bank does not offer, keeps product groups, and refuses when nothing is left', () => {
    const offered = new Set<PermissionGroupName>(['ACCOUNTS_BALANCES'])
    const r = resolve(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'CREDIT_CARDS_ACCOUNTS_READ',
      'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'EXCHANGES_READ', 'RESOURCES_READ'], { hasBusinessEntity: false, offered })
    expect(r).toMatchObject({ ok: true, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ', 'EXCHANGES_READ'] })
    expect(r.ok && r.trimmed).toEqual(['ACCOUNTS_TRANSACTIONS', 'CREDIT_CARDS_LIMITS'])
    expect(resolve(['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'RESOURCES_READ'], { hasBusinessEntity: false, offered }))
      .toMatchObject({ ok: false, code: 'SEM_PERMISSOES_FUNCIONAIS_RESTANTES' })
  })

  it('lists only per-resource groups as optional', () => {
    expect(OPTIONAL_GROUPS).not.toContain('LOANS')
    expect(OPTIONAL_GROUPS).toContain('CREDIT_CARDS_BILLS')
  })
})
