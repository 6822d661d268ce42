import { describe, expect, it } from 'vitest'
import { ConfigError } from '@ponte/platform'
import { loadConfig } from './config.ts'

describe('consent config', () => {
  it('defaults to every per-resource group, the ponte prefix and the gateway as the only regulated caller', () => {
    const c = loadConfig({})
    expect(c.consents.idPrefix).toBe('ponte')
    expect(c.consents.offeredGroups).toContain('ACCOUNTS_BALANCES')
    expect(c.consents.regulatedCallers).toEqual(['gateway'])
  })

  it('refuses unknown permission groups, product groups and a prefix that would break the urn pattern', () => {
    expect(() => loadConfig({ OFFERED_PERMISSION_GROUPS: 'ACCOUNTS_BALANCES,LOANS' })).toThrow(ConfigError)
    expect(() => loadConfig({ CONSENT_ID_PREFIX: 'banco:x' })).toThrow(ConfigError)
    expect(loadConfig({ OFFERED_PERMISSION_GROUPS: 'ACCOUNTS_BALANCES', PUBLIC_BASE_URL: 'https://api.banco.com.br/' }).consents)
      .toMatchObject({ offeredGroups: ['ACCOUNTS_BALANCES'], publicBaseUrl: 'https://api.banco.com.br' })
  })
})
