import { describe, expect, it } from 'vitest'
import type { TrafficPolicy } from './traffic.ts'
import { indexPolicies, parsePolicyId, policyIdOf, policyLevel, resolveLimit } from './traffic-resolve.ts'

const EP = 'GET /open-banking/accounts/v2/accounts/{accountId}/balances'
const OTHER = 'GET /open-banking/accounts/v2/accounts'
const CONSENTS = 'POST /open-banking/consents/v3/consents'
const ORG = '0f3c2a9e-1b2c-4d5e-8f90-123456789abc'
const at = '2026-01-02T03:04:05.000Z'

function policy(p: Omit<TrafficPolicy, 'policyId' | 'updatedAt'> & { scope: 'default' | 'override' }): TrafficPolicy {
  const { scope, ...rest } = p
  return { ...rest, policyId: policyIdOf({ kind: p.kind, scope, endpoint: p.endpoint, organisationId: p.organisationId }), updatedAt: at }
}

const defaults = [
  policy({ scope: 'default', kind: 'tpm', endpoint: EP, limit: 2500, enabled: true }),
  policy({ scope: 'default', kind: 'tpm', endpoint: OTHER, limit: 1000, enabled: true }),
  policy({ scope: 'default', kind: 'monthly', endpoint: EP, limit: 420, enabled: false }),
  policy({ scope: 'default', kind: 'global-tps', limit: 300, enabled: true }),
]

describe('policy ids', () => {
  it('round-trip every scope and keep the endpoint intact', () => {
    const parts = { kind: 'tpm' as const, scope: 'override' as const, organisationId: ORG, endpoint: EP }
    expect(policyIdOf(parts)).toBe(`tpm|override|${ORG}|${EP}`)
    expect(parsePolicyId(policyIdOf(parts))).toEqual(parts)
    expect(parsePolicyId(policyIdOf({ kind: 'global-tps', scope: 'default' }))).toEqual({ kind: 'global-tps', scope: 'default' })
    expect(parsePolicyId('tpm|sometimes|*|*')).toBeUndefined()
    expect(parsePolicyId('nonsense')).toBeUndefined()
  })
})

describe('resolveLimit precedence: organisation+endpoint > organisation > endpoint > default', () => {
  const orgEndpoint = policy({ scope: 'override', kind: 'tpm', organisationId: ORG, endpoint: EP, limit: 9000, enabled: true })
  const orgWide = policy({ scope: 'override', kind: 'tpm', organisationId: ORG, limit: 7000, enabled: true })
  const endpointWide = policy({ scope: 'override', kind: 'tpm', endpoint: EP, limit: 5000, enabled: true })

  it('uses the default when nothing overrides it', () => {
    expect(resolveLimit(indexPolicies(defaults), { kind: 'tpm', endpoint: EP, organisationId: ORG })).toMatchObject({ limited: true, limit: 2500, level: 'default' })
  })
  it('an endpoint override beats the default, for every organisation', () => {
    const index = indexPolicies([...defaults, endpointWide])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP, organisationId: ORG })).toMatchObject({ limit: 5000, level: 'endpoint' })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP, organisationId: 'another-org' })).toMatchObject({ limit: 5000, level: 'endpoint' })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: OTHER, organisationId: ORG })).toMatchObject({ limit: 1000, level: 'default' })
  })
  it('an organisation override beats the endpoint override, only for that organisation', () => {
    const index = indexPolicies([...defaults, endpointWide, orgWide])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP, organisationId: ORG })).toMatchObject({ limit: 7000, level: 'organisation' })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: OTHER, organisationId: ORG })).toMatchObject({ limit: 7000, level: 'organisation' })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP, organisationId: 'another-org' })).toMatchObject({ limit: 5000, level: 'endpoint' })
  })
  it('an organisation+endpoint override beats everything else', () => {
    const index = indexPolicies([...defaults, endpointWide, orgWide, orgEndpoint])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP, organisationId: ORG })).toMatchObject({ limit: 9000, level: 'organisation-endpoint', policyId: orgEndpoint.policyId })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: OTHER, organisationId: ORG })).toMatchObject({ limit: 7000, level: 'organisation' })
  })
  it('open data (no organisation) ignores organisation overrides', () => {
    const index = indexPolicies([...defaults, orgWide, orgEndpoint])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP })).toMatchObject({ limit: 2500, level: 'default' })
  })
  it('the most specific policy decides alone, also when it is disabled', () => {
    const off = { ...orgWide, enabled: false }
    const index = indexPolicies([...defaults, endpointWide, off])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: EP, organisationId: ORG })).toEqual({ limited: false, reason: 'disabled', policyId: off.policyId, level: 'organisation' })
    const monthlyOn = policy({ scope: 'override', kind: 'monthly', organisationId: ORG, endpoint: EP, limit: 500, enabled: true })
    const index2 = indexPolicies([...defaults, monthlyOn])
    expect(resolveLimit(index2, { kind: 'monthly', endpoint: EP, organisationId: 'another-org' })).toMatchObject({ limited: false, reason: 'disabled', level: 'default' })
    expect(resolveLimit(index2, { kind: 'monthly', endpoint: EP, organisationId: ORG })).toMatchObject({ limited: true, limit: 500 })
  })
  it('an endpoint without a default is exempt, whatever overrides say', () => {
    const index = indexPolicies([...defaults, orgWide, policy({ scope: 'override', kind: 'tpm', endpoint: CONSENTS, limit: 5000, enabled: true })])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: CONSENTS, organisationId: ORG })).toEqual({ limited: false, reason: 'exempt' })
    expect(resolveLimit(index, { kind: 'monthly', endpoint: OTHER, organisationId: ORG })).toEqual({ limited: false, reason: 'exempt' })
    expect(resolveLimit(index, { kind: 'tpm' })).toEqual({ limited: false, reason: 'exempt' })
  })
  it('global capacity: the override when present, else the default', () => {
    expect(resolveLimit(indexPolicies(defaults), { kind: 'global-tps' })).toMatchObject({ limit: 300, level: 'default' })
    const raised = policy({ scope: 'override', kind: 'global-tps', limit: 450, enabled: true })
    expect(resolveLimit(indexPolicies([...defaults, raised]), { kind: 'global-tps', endpoint: EP, organisationId: ORG })).toMatchObject({ limit: 450, level: 'global' })
    expect(policyLevel(raised)).toBe('global')
  })
})
