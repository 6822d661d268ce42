import { describe, expect, it } from 'vitest'
import { consentIdOfScope, consentIdsOfScopeString, scopesForRoles } from './scopes.ts'

describe('scopes', () => {
  it('derives allowed scopes from roles (DCR-BR §7.2)', () => {
    expect(scopesForRoles(['PAGTO'])).toEqual(['openid', 'payments', 'recurring-payments', 'nrp-consents'])
    const dados = scopesForRoles(['DADOS'])
    expect(dados).toContain('accounts')
    expect(dados).not.toContain('payments')
    expect(scopesForRoles(['UNKNOWN'])).toEqual([])
  })

  it('parses consent scopes and refuses malformed ids', () => {
    expect(consentIdOfScope('consent:urn:bancoex:C1DD33123')).toBe('urn:bancoex:C1DD33123')
    expect(consentIdOfScope('consent:not-a-urn')).toBeUndefined()
    expect(consentIdOfScope('accounts')).toBeUndefined()
    expect(consentIdsOfScopeString('openid accounts consent:urn:a:1 consent:x')).toEqual(['urn:a:1'])
  })
})
