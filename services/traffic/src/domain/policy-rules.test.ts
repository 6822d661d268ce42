import { describe, expect, it } from 'vitest'
import type { CatalogueEntry } from '@ponte/contracts'
import { DomainError } from '@ponte/platform'
import { assertAtLeastFloor, defaultPolicies, indexCatalogue, overrideScope } from './policy-rules.ts'

const entry = (endpoint: string, over: Partial<CatalogueEntry>): CatalogueEntry => ({
  endpoint, group: 'customer-data', api: 'x', nfrPath: '/x', frequency: 'low', tpmFloor: 1000, tpmOrigin: 'organisation',
  tpmScalesWithQca: false, monthlyFloor: 8, spec: null, ...over,
})
const BALANCES = 'GET /open-banking/accounts/v2/accounts/{accountId}/balances'
const LIST = 'GET /open-banking/accounts/v2/accounts'
const BRANCHES = 'GET /open-banking/channels/v2/branches'
const catalogue = indexCatalogue([
  entry(BALANCES, { frequency: 'high', tpmFloor: 2500, tpmScalesWithQca: true, monthlyFloor: 420 }),
  entry(LIST, {}),
  entry(BRANCHES, { group: 'open-data', tpmFloor: 500, tpmOrigin: 'client-ip', monthlyFloor: null }),
])

function refusal(fn: () => unknown): { code: string; ofbCode: string; status: number; message: string } {
  try {
    fn()
  } catch (err) {
    if (err instanceof DomainError) return { code: err.code, ofbCode: err.ofbCode, status: err.status, message: err.message }
    throw err
  }
  throw new Error('expected a refusal')
}

describe('defaults from the catalogue', () => {
  it('tpm at the floor and on, monthly at the floor and off (customer data only), global capacity 300', () => {
    const byId = new Map(defaultPolicies(catalogue, new Date(0)).map((p) => [p.policyId, p]))
    expect(byId.get(`tpm|default|*|${BALANCES}`)).toMatchObject({ limit: 2500, enabled: true })
    expect(byId.get(`monthly|default|*|${BALANCES}`)).toMatchObject({ limit: 420, enabled: false })
    expect(byId.get(`tpm|default|*|${BRANCHES}`)).toMatchObject({ limit: 500, enabled: true })
    expect(byId.has(`monthly|default|*|${BRANCHES}`)).toBe(false)
    expect(byId.get('global-tps|default|*|*')).toMatchObject({ limit: 300, enabled: true })
    expect(byId.size).toBe(1 + 3 + 2)
  })
})

describe('override scopes and floors', () => {
  it('refuses a limit below the endpoint floor with 422 LIMIT_BELOW_FLOOR', () => {
    const scope = overrideScope(catalogue, { kind: 'tpm', endpoint: LIST })
    expect(() => assertAtLeastFloor(scope, 1000)).not.toThrow()
    const r = refusal(() => assertAtLeastFloor(scope, 999))
    expect([r.status, r.ofbCode]).toEqual([422, 'LIMIT_BELOW_FLOOR'])
    expect(r.message).toContain('floor of 1000')
    expect(refusal(() => assertAtLeastFloor(overrideScope(catalogue, { kind: 'monthly', endpoint: BALANCES, organisationId: 'org-1' }), 419)).ofbCode).toBe('LIMIT_BELOW_FLOOR')
    expect(refusal(() => assertAtLeastFloor(overrideScope(catalogue, { kind: 'global-tps' }), 299)).ofbCode).toBe('LIMIT_BELOW_FLOOR')
  })
  it('an organisation-wide override must respect the highest floor it covers', () => {
    const tpm = overrideScope(catalogue, { kind: 'tpm', organisationId: 'org-1' })
    expect([tpm.floor, tpm.floorSetBy]).toEqual([2500, BALANCES])
    expect(overrideScope(catalogue, { kind: 'monthly', organisationId: 'org-1' }).floor).toBe(420)
  })
  it('refuses exempt and unknown endpoints, monthly on open data, and organisations on open data', () => {
    expect(refusal(() => overrideScope(catalogue, { kind: 'tpm', endpoint: 'POST /open-banking/consents/v3/consents' })).ofbCode).toBe('ENDPOINT_NOT_LIMITED')
    expect(refusal(() => overrideScope(catalogue, { kind: 'monthly', endpoint: BRANCHES })).ofbCode).toBe('ENDPOINT_NOT_LIMITED')
    expect(refusal(() => overrideScope(catalogue, { kind: 'tpm', endpoint: BRANCHES, organisationId: 'org-1' })).ofbCode).toBe('INVALID_SCOPE')
    expect(refusal(() => overrideScope(catalogue, { kind: 'tpm' })).ofbCode).toBe('INVALID_SCOPE')
    expect(refusal(() => overrideScope(catalogue, { kind: 'global-tps', organisationId: 'org-1' })).ofbCode).toBe('INVALID_SCOPE')
  })
})
