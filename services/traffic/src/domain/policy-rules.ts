import type { CatalogueEntry, LimitKind, PolicyView, TrafficPolicy } from '@ponte/contracts'
import { parsePolicyId, policyIdOf, policyLevel } from '@ponte/contracts'
import { DomainError } from '@ponte/platform'
import { GLOBAL_TPS_FLOOR } from './nfr-catalogue.ts'

/**
 * The rules of traffic-limit policies (docs/regulation/traffic-and-slas.md), free of I/O: which defaults exist, which overrides are allowed,
 * and the regulatory floor under which no limit may be set.
 */

/** The catalogue indexed by endpoint key. */
export type CatalogueIndex = ReadonlyMap<string, CatalogueEntry>

/** Indexes the catalogue entries by endpoint key. */
export function indexCatalogue(entries: readonly CatalogueEntry[]): CatalogueIndex {
  return new Map(entries.map((e) => [e.endpoint, e]))
}

/** Who made a change: the staff member (or `system`) and the service that relayed it. */
export interface Actor { actor: string; via: string }

/**
 * The default policy set from the NFR reference: per limitable endpoint a `tpm` default at the floor, enabled, and
 * (customer data only) a `monthly` default at the floor, disabled (operational limits are optional, issue 7);
 * plus the global capacity of 300 requests per second, enabled.
 */
export function defaultPolicies(catalogue: CatalogueIndex, now: Date): TrafficPolicy[] {
  const at = now.toISOString()
  const out: TrafficPolicy[] = [
    { policyId: policyIdOf({ kind: 'global-tps', scope: 'default' }), kind: 'global-tps', limit: GLOBAL_TPS_FLOOR, enabled: true, updatedAt: at, updatedBy: 'system' },
  ]
  for (const e of catalogue.values()) {
    out.push({ policyId: policyIdOf({ kind: 'tpm', scope: 'default', endpoint: e.endpoint }), kind: 'tpm', endpoint: e.endpoint, limit: e.tpmFloor, enabled: true, updatedAt: at, updatedBy: 'system' })
    if (e.monthlyFloor !== null) {
      out.push({ policyId: policyIdOf({ kind: 'monthly', scope: 'default', endpoint: e.endpoint }), kind: 'monthly', endpoint: e.endpoint, limit: e.monthlyFloor, enabled: false, updatedAt: at, updatedBy: 'system' })
    }
  }
  return out
}

const refuse = (ofbCode: string, message: string) => new DomainError('UNPROCESSABLE_ENTITY', message, { ofbCode })

/** The scope of a requested override, checked against the rules. */
export interface OverrideScope {
  kind: LimitKind
  endpoint?: string
  organisationId?: string
  /** The lowest limit allowed for this scope. */
  floor: number
  /** The endpoint that sets the floor (for messages). */
  floorSetBy?: string
}

function floorOf(e: CatalogueEntry, kind: 'tpm' | 'monthly'): number | null {
  return kind === 'tpm' ? e.tpmFloor : e.monthlyFloor
}

/**
 * Checks where an override may apply and returns the floor of that scope. For an organisation-wide override the floor
 * is the highest floor among the endpoints it covers, so the limit is lawful on every one of them.
 */
export function overrideScope(catalogue: CatalogueIndex, input: { kind: LimitKind; endpoint?: string; organisationId?: string }): OverrideScope {
  const { kind, endpoint, organisationId } = input
  if (kind === 'global-tps') {
    if (endpoint !== undefined || organisationId !== undefined) {
      throw refuse('INVALID_SCOPE', 'global-tps is the capacity across every API and caller: it takes no endpoint and no organisationId')
    }
    return { kind, floor: GLOBAL_TPS_FLOOR }
  }
  if (endpoint === undefined && organisationId === undefined) {
    throw refuse('INVALID_SCOPE', `a ${kind} override needs an organisationId, an endpoint or both; the per-endpoint defaults come from the NFR reference`)
  }
  if (endpoint !== undefined) {
    const entry = catalogue.get(endpoint)
    if (!entry) throw refuse('ENDPOINT_NOT_LIMITED', `${endpoint} has no ${kind} limit: it is exempt (Consents, Resources, security, services, reports) or not an endpoint of the NFR reference`)
    const floor = floorOf(entry, kind)
    if (floor === null) throw refuse('ENDPOINT_NOT_LIMITED', `${endpoint} is not a customer-data endpoint: the rules allow monthly operational limits only on customer data`)
    if (organisationId !== undefined && entry.tpmOrigin === 'client-ip') {
      throw refuse('INVALID_SCOPE', `${endpoint} is open data, limited per client IP: organisation overrides do not apply`)
    }
    return { kind, endpoint, ...(organisationId === undefined ? {} : { organisationId }), floor, floorSetBy: endpoint }
  }
  // Organisation-wide: every endpoint counted per organisation that has this kind of limit.
  let floor = 0
  let floorSetBy: string | undefined
  for (const e of catalogue.values()) {
    const f = e.tpmOrigin === 'organisation' ? floorOf(e, kind) : null
    if (f !== null && f > floor) { floor = f; floorSetBy = e.endpoint }
  }
  if (floor === 0) throw refuse('ENDPOINT_NOT_LIMITED', `no endpoint has a ${kind} limit per organisation`)
  return { kind, organisationId: organisationId!, floor, ...(floorSetBy ? { floorSetBy } : {}) }
}

/** Refuses a limit under the scope's floor (docs/regulation/traffic-and-slas.md#any-limit-at-least-the-floor). */
export function assertAtLeastFloor(scope: OverrideScope, limit: number): void {
  if (limit >= scope.floor) return
  const where = scope.endpoint ?? (scope.organisationId ? `every endpoint of organisation ${scope.organisationId}` : 'the global capacity')
  const unit = scope.kind === 'tpm' ? 'requests per minute' : scope.kind === 'monthly' ? 'calls per month' : 'requests per second'
  const because = scope.floorSetBy && scope.floorSetBy !== scope.endpoint ? ` (set by ${scope.floorSetBy})` : ''
  throw refuse('LIMIT_BELOW_FLOOR', `${scope.kind} limit ${limit} for ${where} is below the regulatory floor of ${scope.floor} ${unit}${because}; any limit must be at least the floor (docs/regulation/traffic-and-slas.md#any-limit-at-least-the-floor)`)
}

/** The floor that applies to an existing policy (shown next to it, and enforced when it is written). */
export function policyFloor(catalogue: CatalogueIndex, policy: TrafficPolicy): number {
  const parts = parsePolicyId(policy.policyId)
  if (policy.kind === 'global-tps') return GLOBAL_TPS_FLOOR
  if (parts?.scope === 'default' && policy.endpoint !== undefined) {
    const e = catalogue.get(policy.endpoint)
    const f = e ? floorOf(e, policy.kind) : null
    return f ?? policy.limit
  }
  try {
    return overrideScope(catalogue, policy).floor
  } catch {
    return policy.limit
  }
}

/** The API view of a policy. */
export function policyView(catalogue: CatalogueIndex, policy: TrafficPolicy): PolicyView {
  const scope = parsePolicyId(policy.policyId)?.scope ?? 'override'
  return { ...policy, scope, level: policyLevel(policy), floor: policyFloor(catalogue, policy) }
}

/** Compares two policies by content (field order and absent-vs-undefined do not matter). */
export function samePolicy(a: TrafficPolicy | undefined, b: TrafficPolicy | undefined): boolean {
  if (!a || !b) return a === b
  return a.policyId === b.policyId && a.kind === b.kind && a.endpoint === b.endpoint && a.organisationId === b.organisationId &&
    a.limit === b.limit && a.enabled === b.enabled && a.updatedAt === b.updatedAt && a.updatedBy === b.updatedBy
}
