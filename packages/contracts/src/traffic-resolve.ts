import type { LimitKind, TrafficPolicy } from './traffic.ts'

/**
 * How traffic-limit policies resolve to the limit that applies to one call. Pure and free of zod, so `traffic` (which
 * writes policies) and `gateway` (which enforces them) run exactly the same logic. See services/traffic/README.md.
 *
 * A policy is either a **default** (seeded by `traffic` from the NFR reference: one per limitable endpoint and kind,
 * plus the global TPS capacity) or an **override** (set by bank staff). The scope is part of the policy id, built by
 * {@link policyIdOf}: `<kind>|<scope>|<organisationId or *>|<endpoint or *>`.
 *
 * For `tpm` and `monthly`, an endpoint is limitable only if it has a default policy of that kind; endpoints without one
 * are exempt (Consents, Resources, security, services, reports: docs/regulation/traffic-and-slas.md#exempt-apis) whatever overrides exist. Among the
 * policies that match, the most specific wins:
 *   1. override for the organisation and the endpoint,
 *   2. override for the organisation (every limitable endpoint of that kind),
 *   3. override for the endpoint (every organisation),
 *   4. the endpoint's default.
 * For `global-tps` (neither organisation nor endpoint): the override when present, else the default.
 * The winning policy decides alone: when it is disabled the call has no limit of that kind, even if a less specific
 * policy is enabled. Open-data endpoints are counted per client IP, so callers pass no `organisationId` for them.
 */

/** Whether a policy is a seeded default or a staff override. */
export type PolicyScope = 'default' | 'override'

/** Which rule of the precedence list a resolved policy came from. */
export type PolicyLevel = 'organisation-endpoint' | 'organisation' | 'endpoint' | 'global' | 'default'

/** What identifies a policy. */
export interface PolicyIdParts {
  kind: LimitKind
  scope: PolicyScope
  organisationId?: string
  endpoint?: string
}

const ANY = '*'

/** The deterministic id (and compacted-topic key) of a policy: `<kind>|<scope>|<organisationId or *>|<endpoint or *>`. */
export function policyIdOf(parts: PolicyIdParts): string {
  return [parts.kind, parts.scope, parts.organisationId ?? ANY, parts.endpoint ?? ANY].join('|')
}

/** Parses a policy id made by {@link policyIdOf}; `undefined` when it is not one. */
export function parsePolicyId(policyId: string): PolicyIdParts | undefined {
  const first = policyId.indexOf('|')
  const second = policyId.indexOf('|', first + 1)
  const third = policyId.indexOf('|', second + 1)
  if (first < 0 || second < 0 || third < 0) return undefined
  const kind = policyId.slice(0, first)
  const scope = policyId.slice(first + 1, second)
  const org = policyId.slice(second + 1, third)
  const endpoint = policyId.slice(third + 1)
  if (kind !== 'tpm' && kind !== 'global-tps' && kind !== 'monthly') return undefined
  if (scope !== 'default' && scope !== 'override') return undefined
  if (!org || !endpoint) return undefined
  return {
    kind,
    scope,
    ...(org === ANY ? {} : { organisationId: org }),
    ...(endpoint === ANY ? {} : { endpoint }),
  }
}

/** The precedence level of a policy (from its scope and which of organisation/endpoint it names). */
export function policyLevel(policy: Pick<TrafficPolicy, 'policyId' | 'organisationId' | 'endpoint'>): PolicyLevel {
  if (parsePolicyId(policy.policyId)?.scope === 'default') return 'default'
  if (policy.organisationId !== undefined && policy.endpoint !== undefined) return 'organisation-endpoint'
  if (policy.organisationId !== undefined) return 'organisation'
  if (policy.endpoint !== undefined) return 'endpoint'
  return 'global'
}

/** A lookup table of the current policy set, keyed by policy id. Build it with {@link indexPolicies}. */
export type PolicyIndex = ReadonlyMap<string, TrafficPolicy>

/** Indexes a policy set (e.g. from `GET /internal/policies` or replayed from `ponte.traffic-policy.v1`). */
export function indexPolicies(policies: Iterable<TrafficPolicy>): Map<string, TrafficPolicy> {
  const index = new Map<string, TrafficPolicy>()
  for (const p of policies) index.set(p.policyId, p)
  return index
}

/** The call whose limit is asked for. */
export interface LimitQuery {
  kind: LimitKind
  /** Templated endpoint key `METHOD /path/{param}`; required for `tpm` and `monthly`. */
  endpoint?: string
  /** The calling organisation; leave out for open data (counted per client IP). */
  organisationId?: string
}

/** The outcome of {@link resolveLimit}. */
export type ResolvedLimit =
  | { limited: true; limit: number; policyId: string; level: PolicyLevel }
  | { limited: false; reason: 'exempt'; policyId?: undefined; level?: undefined }
  | { limited: false; reason: 'disabled'; policyId: string; level: PolicyLevel }

const EXEMPT: ResolvedLimit = { limited: false, reason: 'exempt' }

/** The policy ids to look at for a query, most specific first. */
export function candidatePolicyIds(query: LimitQuery): string[] {
  const { kind, endpoint, organisationId } = query
  if (kind === 'global-tps') return [policyIdOf({ kind, scope: 'override' }), policyIdOf({ kind, scope: 'default' })]
  if (endpoint === undefined) return []
  const ids: string[] = []
  if (organisationId !== undefined) {
    ids.push(policyIdOf({ kind, scope: 'override', organisationId, endpoint }))
    ids.push(policyIdOf({ kind, scope: 'override', organisationId }))
  }
  ids.push(policyIdOf({ kind, scope: 'override', endpoint }))
  ids.push(policyIdOf({ kind, scope: 'default', endpoint }))
  return ids
}

/** Resolves the limit of one kind that applies to a call (see the module comment for the rules). */
export function resolveLimit(index: PolicyIndex, query: LimitQuery): ResolvedLimit {
  const ids = candidatePolicyIds(query)
  const defaultId = ids[ids.length - 1]
  // No default → the endpoint (or the capacity) is not limited by this kind at all: overrides cannot create a limit.
  if (defaultId === undefined || !index.has(defaultId)) return EXEMPT
  for (const id of ids) {
    const policy = index.get(id)
    if (!policy) continue
    const level = policyLevel(policy)
    return policy.enabled ? { limited: true, limit: policy.limit, policyId: id, level } : { limited: false, reason: 'disabled', policyId: id, level }
  }
  return EXEMPT
}
