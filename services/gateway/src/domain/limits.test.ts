import { policyIdOf, type TrafficPolicy } from '@ponte/contracts'
import { describe, expect, test } from 'vitest'
import { createPolicyStore, secondsToNextMinute, secondsToNextMonth, seedPolicies } from './limits.ts'
import type { RouteSpec } from './route-table.ts'

const detail = { key: 'GET /open-banking/accounts/v2/accounts/{accountId}', tpm: 1000, monthly: 8 } as RouteSpec
const consents = { key: 'POST /open-banking/consents/v3/consents', tpm: null, monthly: null } as RouteSpec
const at = '2026-01-01T00:00:00Z'
const upsert = (p: Omit<TrafficPolicy, 'updatedAt'>) => ({ id: '00000000-0000-4000-8000-000000000000', source: 't', occurredAt: '2026-01-01T00:00:00.000Z', version: 1 as const, type: 'traffic.policy.upserted' as const, data: { ...p, updatedAt: at } })

const metrics = { key: 'GET /open-banking/admin/v2/metrics', service: 'trace', access: 'open-data', tpm: null, monthly: null } as RouteSpec

describe('policy store', () => {
  test("the regulator's endpoints (no NFR floor) get the configured per-IP budget; 0 leaves them unlimited; other exempt endpoints stay exempt", () => {
    const store = createPolicyStore(seedPolicies([detail, consents, metrics], 300, new Date(0), 60))
    expect(store.plan(metrics, undefined)).toEqual({ tps: 300, tpm: 60, monthly: 0 })
    expect(store.plan(consents, 'org-1').tpm).toBe(0)
    expect(createPolicyStore(seedPolicies([metrics], 300, new Date(0), 0)).plan(metrics, undefined).tpm).toBe(0)
  })
  test('the NFR floors apply before traffic answers; monthly is off by default; exempt endpoints have no TPM', () => {
    const store = createPolicyStore(seedPolicies([detail, consents], 300))
    expect(store.plan(detail, 'org-1')).toEqual({ tps: 300, tpm: 1000, monthly: 0 })
    expect(store.plan(consents, 'org-1')).toEqual({ tps: 300, tpm: 0, monthly: 0 })
  })
  test('overrides from traffic win by precedence and are followed without restart; a delete falls back', () => {
    const store = createPolicyStore(seedPolicies([detail, consents], 300))
    const id = policyIdOf({ kind: 'tpm', scope: 'override', organisationId: 'org-1', endpoint: detail.key })
    store.apply(upsert({ policyId: id, kind: 'tpm', endpoint: detail.key, organisationId: 'org-1', limit: 5000, enabled: true }))
    store.apply(upsert({ policyId: policyIdOf({ kind: 'monthly', scope: 'default', endpoint: detail.key }), kind: 'monthly', endpoint: detail.key, limit: 8, enabled: true }))
    expect(store.plan(detail, 'org-1')).toEqual({ tps: 300, tpm: 5000, monthly: 8 })
    expect(store.plan(detail, 'org-2').tpm).toBe(1000)
    store.apply({ id: '00000000-0000-4000-8000-000000000001', source: 't', occurredAt: '2026-01-01T00:00:00.000Z', version: 1, type: 'traffic.policy.deleted', data: { policyId: id } })
    expect(store.plan(detail, 'org-1').tpm).toBe(1000)
    // An override cannot create a limit on an exempt endpoint.
    store.apply(upsert({ policyId: policyIdOf({ kind: 'tpm', scope: 'override', endpoint: consents.key }), kind: 'tpm', endpoint: consents.key, limit: 10, enabled: true }))
    expect(store.plan(consents, 'org-1').tpm).toBe(0)
  })
})

describe('retry-after', () => {
  test('counts to the next calendar minute and month', () => {
    expect(secondsToNextMinute(Date.parse('2026-03-01T10:00:50.000Z'))).toBe(10)
    expect(secondsToNextMinute(Date.parse('2026-03-01T10:00:59.900Z'))).toBe(1)
    expect(secondsToNextMonth(Date.parse('2026-03-31T23:59:00Z'))).toBe(60)
  })
})
