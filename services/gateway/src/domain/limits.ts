import { policyIdOf, resolveLimit, type TrafficPolicy, type TrafficPolicyEvent } from '@ponte/contracts'
import type { RouteSpec } from './route-table.ts'

/**
 * Traffic-limit policies as the gateway holds them: a local seed of the NFR defaults built from the route table (so the
 * floors apply from the first request, even before `traffic` answers), overlaid by the policies `traffic` publishes
 * under the same ids. Resolution is the shared `resolveLimit` of @ponte/contracts.
 */
export interface PolicyStore {
  /** Replaces everything received from `traffic` (start-up load). */
  load(policies: readonly TrafficPolicy[]): void
  /** Applies one `ponte.traffic-policy.v1` event. */
  apply(event: TrafficPolicyEvent): void
  /** The limits that apply to a call, resolved once per distinct (route, origin) and cached until the next change. */
  plan(route: RouteSpec, organisationId: string | undefined): LimitPlan
  readonly size: number
}

/** The limits of one call: 0 = no limit of that kind. */
export interface LimitPlan {
  tps: number
  tpm: number
  monthly: number
}

/**
 * The seeded defaults: the NFR floors per route (monthly disabled: optional), and the global capacity. The regulator's
 * endpoints (served by trace) have no NFR floor; they get `regulatorTpm` per client IP, like open data (0 = no limit,
 * docs/decisions/gateway-regulator-endpoints.md).
 */
export function seedPolicies(routes: readonly RouteSpec[], globalTps: number, now = new Date(0), regulatorTpm = 0): TrafficPolicy[] {
  const updatedAt = now.toISOString()
  const out: TrafficPolicy[] = [{ policyId: policyIdOf({ kind: 'global-tps', scope: 'default' }), kind: 'global-tps', limit: globalTps, enabled: true, updatedAt, updatedBy: 'gateway-seed' }]
  for (const r of routes) {
    const tpm = r.tpm ?? (r.service === 'trace' && regulatorTpm > 0 ? regulatorTpm : null)
    if (tpm !== null) out.push({ policyId: policyIdOf({ kind: 'tpm', scope: 'default', endpoint: r.key }), kind: 'tpm', endpoint: r.key, limit: tpm, enabled: true, updatedAt, updatedBy: 'gateway-seed' })
    if (r.monthly !== null) out.push({ policyId: policyIdOf({ kind: 'monthly', scope: 'default', endpoint: r.key }), kind: 'monthly', endpoint: r.key, limit: r.monthly, enabled: false, updatedAt, updatedBy: 'gateway-seed' })
  }
  return out
}

/** Creates the store with its seed. */
export function createPolicyStore(seed: readonly TrafficPolicy[]): PolicyStore {
  const seeded = new Map(seed.map((p) => [p.policyId, p]))
  let received = new Map<string, TrafficPolicy>()
  let index = new Map(seeded)
  const plans = new Map<string, LimitPlan>()
  const rebuild = () => {
    index = new Map(seeded)
    for (const [id, p] of received) index.set(id, p)
    plans.clear()
  }
  return {
    load(policies) {
      received = new Map(policies.map((p) => [p.policyId, p]))
      rebuild()
    },
    apply(event) {
      if (event.type === 'traffic.policy.upserted') received.set(event.data.policyId, event.data)
      else received.delete(event.data.policyId)
      rebuild()
    },
    plan(route, organisationId) {
      const cacheKey = `${route.key}\u0000${organisationId ?? ''}`
      let plan = plans.get(cacheKey)
      if (!plan) {
        const limitOf = (r: ReturnType<typeof resolveLimit>) => (r.limited ? r.limit : 0)
        plan = {
          tps: limitOf(resolveLimit(index, { kind: 'global-tps' })),
          tpm: limitOf(resolveLimit(index, { kind: 'tpm', endpoint: route.key, ...(organisationId ? { organisationId } : {}) })),
          monthly: route.monthly === null ? 0 : limitOf(resolveLimit(index, { kind: 'monthly', endpoint: route.key, ...(organisationId ? { organisationId } : {}) })),
        }
        if (plans.size > 50_000) plans.clear()
        plans.set(cacheKey, plan)
      }
      return plan
    },
    get size() {
      return index.size
    },
  }
}

/** Seconds until the next calendar minute (the `Retry-After` of a 429). */
export function secondsToNextMinute(nowMs: number): number {
  return Math.max(1, Math.ceil((60_000 - (nowMs % 60_000)) / 1000))
}

/** Seconds until the first day of next month, UTC (the `Retry-After` of a 423). */
export function secondsToNextMonth(nowMs: number): number {
  const d = new Date(nowMs)
  return Math.max(1, Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - nowMs) / 1000))
}
