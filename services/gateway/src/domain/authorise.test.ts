import type { ConsentLookup } from '@ponte/contracts'
import type { DomainError } from '@ponte/platform'
import { describe, expect, test } from 'vitest'
import { checkConsent, checkScopes, consentIdOf, type AccessTokenFacts } from './authorise.ts'
import type { RouteSpec } from './route-table.ts'

const route: RouteSpec = {
  key: 'GET /open-banking/accounts/v2/accounts/{accountId}/balances', method: 'GET', path: '/open-banking/accounts/v2/accounts/{accountId}/balances',
  specFile: 'accounts-v2.5.1.yaml', specPath: '/accounts/{accountId}/balances', version: '2.5.1', service: 'connectors', access: 'protected',
  tokenKind: 'consent', scopes: ['accounts'], permissions: ['ACCOUNTS_BALANCES_READ'], resourceParam: 'accountId', resourceType: 'ACCOUNT',
  paginated: false, frequency: 'high', p95SlaMs: 1500, tpm: 2500, monthly: 420,
}
const token: AccessTokenFacts = { clientId: 'c1', scopes: ['openid', 'accounts', 'consent:urn:b:1'], consentId: 'urn:b:1', x5tS256: 't', exp: 2e9 }
const consent: ConsentLookup = {
  consentId: 'urn:b:1', status: 'AUTHORISED', clientId: 'c1', expirationDateTime: '2030-01-01T00:00:00Z',
  permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'], resources: [{ type: 'ACCOUNT', resourceId: 'a1' }, { type: 'CREDIT_CARD_ACCOUNT', resourceId: 'k1' }],
}
const now = Date.parse('2026-06-01T00:00:00Z')
const code = (fn: () => void) => {
  try {
    fn()
    return 'ok'
  } catch (e) {
    return (e as DomainError).ofbCode
  }
}

describe('consentIdOf', () => {
  test('reads the claim or the consent scope; refuses two different ones', () => {
    expect(consentIdOf(undefined, ['consent:urn:b:1'])).toBe('urn:b:1')
    expect(consentIdOf('urn:b:1', ['accounts'])).toBe('urn:b:1')
    expect(consentIdOf('urn:b:1', ['consent:urn:b:1'])).toBe('urn:b:1')
    expect(consentIdOf('urn:b:2', ['consent:urn:b:1'])).toBeNull()
    expect(consentIdOf(undefined, ['consent:urn:b:1', 'consent:urn:b:2'])).toBeNull()
    expect(consentIdOf(undefined, ['accounts'])).toBeUndefined()
  })
})

describe('checkScopes', () => {
  test('needs the API scope and, on consent routes, a consent', () => {
    expect(code(() => checkScopes(route, token))).toBe('ok')
    expect(code(() => checkScopes(route, { ...token, scopes: ['openid', 'consent:urn:b:1'] }))).toBe('SCOPE_MISSING')
    const { consentId: _c, ...noConsent } = token
    expect(code(() => checkScopes(route, { ...noConsent, scopes: ['accounts'] }))).toBe('SCOPE_MISSING')
  })
})

describe('checkConsent', () => {
  const p = { accountId: 'a1' }
  test('accepts an authorised, unexpired consent of the client with the permission and the resource', () => {
    expect(code(() => checkConsent(route, token, consent, p, now))).toBe('ok')
  })
  test('refuses, in order: unknown, other client, not authorised, expired, permission, resource (of the right type)', () => {
    expect(code(() => checkConsent(route, token, undefined, p, now))).toBe('CONSENT_UNKNOWN')
    expect(code(() => checkConsent(route, token, { ...consent, clientId: 'c2', status: 'REJECTED' }, p, now))).toBe('CONSENT_CLIENT_MISMATCH')
    expect(code(() => checkConsent(route, token, { ...consent, status: 'AWAITING_AUTHORISATION' }, p, now))).toBe('CONSENT_NOT_AUTHORISED')
    expect(code(() => checkConsent(route, token, { ...consent, expirationDateTime: '2026-05-31T23:59:59Z' }, p, now))).toBe('CONSENT_EXPIRED')
    expect(code(() => checkConsent(route, token, { ...consent, permissions: ['ACCOUNTS_READ'] }, p, now))).toBe('PERMISSION_NOT_GRANTED')
    expect(code(() => checkConsent(route, token, consent, { accountId: 'a9' }, now))).toBe('RESOURCE_NOT_CONSENTED')
    expect(code(() => checkConsent(route, token, consent, { accountId: 'k1' }, now))).toBe('RESOURCE_NOT_CONSENTED')
  })
  test('an indefinite consent never expires; routes that leave the status to the owning service skip it', () => {
    const { expirationDateTime: _e, ...indefinite } = consent
    expect(code(() => checkConsent(route, token, indefinite, p, now))).toBe('ok')
    const extend: RouteSpec = { ...route, permissions: [], resourceParam: undefined, pathConsentParam: 'consentId', checkConsentStatus: false }
    expect(code(() => checkConsent(extend, token, { ...consent, status: 'REJECTED' }, { consentId: 'urn:b:1' }, now))).toBe('ok')
    expect(code(() => checkConsent(extend, token, consent, { consentId: 'urn:b:2' }, now))).toBe('CONSENT_CLIENT_MISMATCH')
  })
})
