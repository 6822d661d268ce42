import { policyIdOf, parsePolicyId, topics, type LimitKind, type TrafficPolicy, type UpsertOverride } from '@ponte/contracts'
import { DomainError, withTransaction, type Pool } from '@ponte/platform'
import { getPolicy, listPolicies, lockDefaults, lockPolicyId, policyChanges, removePolicy, savePolicy, type PolicyFilter, type StoredChange } from './policy-store.ts'
import { assertAtLeastFloor, defaultPolicies, overrideScope, policyFloor, type Actor, type CatalogueIndex } from '../domain/policy-rules.ts'

/** What the admin console and the gateway can do with policies. Every write commits its event through the outbox. */
export interface PolicyService {
  list(filter?: PolicyFilter): Promise<TrafficPolicy[]>
  get(policyId: string): Promise<TrafficPolicy>
  history(policyId: string): Promise<StoredChange[]>
  /** Creates or replaces the override of a scope; a write that changes nothing is a no-op (no event). */
  upsertOverride(input: UpsertOverride, who: Actor): Promise<{ policy: TrafficPolicy; created: boolean }>
  /** Turns one policy (default or override) on or off. */
  setEnabled(policyId: string, enabled: boolean, who: Actor): Promise<TrafficPolicy>
  /** Turns every default of a kind on or off; returns how many changed. */
  setDefaultsEnabled(kind: LimitKind, enabled: boolean, who: Actor): Promise<number>
  /** Deletes an override (the scope falls back to the next level). Defaults cannot be deleted, only disabled. */
  deleteOverride(policyId: string, who: Actor): Promise<void>
  /** Brings the stored defaults in line with the catalogue (missing ones created, changed floors applied, stale ones removed). */
  seedDefaults(): Promise<{ created: number; updated: number; deleted: number }>
}

/** Dependencies of {@link createPolicyService}. */
export interface PolicyServiceDeps {
  pool: Pool
  catalogue: CatalogueIndex
  now?: () => Date
  /** Topic of the policy events; `ponte.traffic-policy.v1` unless a test isolates itself. */
  topic?: string
}

const SYSTEM: Actor = { actor: 'system', via: 'traffic' }

/** Builds the policy service. */
export function createPolicyService(deps: PolicyServiceDeps): PolicyService {
  const { pool, catalogue } = deps
  const now = deps.now ?? (() => new Date())
  const topic = deps.topic ?? topics.trafficPolicy
  const notFound = (policyId: string) => new DomainError('NOT_FOUND', `no policy ${policyId}`)

  return {
    list: (filter) => listPolicies(pool, filter),

    async get(policyId) {
      const p = await getPolicy(pool, policyId)
      if (!p) throw notFound(policyId)
      return p
    },

    history: (policyId) => policyChanges(pool, policyId),

    async upsertOverride(input, who) {
      const scope = overrideScope(catalogue, input)
      const limit = input.limit ?? scope.floor
      assertAtLeastFloor(scope, limit)
      const policyId = policyIdOf({ kind: scope.kind, scope: 'override', endpoint: scope.endpoint, organisationId: scope.organisationId })
      return withTransaction(pool, async (client) => {
        await lockPolicyId(client, policyId)
        const before = await getPolicy(client, policyId, true)
        const enabled = input.enabled ?? true
        if (before && before.limit === limit && before.enabled === enabled) return { policy: before, created: false }
        const policy: TrafficPolicy = {
          policyId,
          kind: scope.kind,
          ...(scope.endpoint === undefined ? {} : { endpoint: scope.endpoint }),
          ...(scope.organisationId === undefined ? {} : { organisationId: scope.organisationId }),
          limit,
          enabled,
          updatedAt: now().toISOString(),
          updatedBy: who.actor,
        }
        await savePolicy(client, { policy, scope: 'override', who, before, topic })
        return { policy, created: !before }
      })
    },

    async setEnabled(policyId, enabled, who) {
      return withTransaction(pool, async (client) => {
        await lockPolicyId(client, policyId)
        const before = await getPolicy(client, policyId, true)
        if (!before) throw notFound(policyId)
        if (before.enabled === enabled) return before
        // A limit switched back on must still be lawful (a floor may have risen since it was written).
        if (enabled && before.limit < policyFloor(catalogue, before)) {
          throw new DomainError('UNPROCESSABLE_ENTITY', `${policyId} has limit ${before.limit}, below the floor ${policyFloor(catalogue, before)}; set a new limit instead`, { ofbCode: 'LIMIT_BELOW_FLOOR' })
        }
        const policy: TrafficPolicy = { ...before, enabled, updatedAt: now().toISOString(), updatedBy: who.actor }
        await savePolicy(client, { policy, scope: parsePolicyId(policyId)?.scope ?? 'override', who, before, topic })
        return policy
      })
    },

    async setDefaultsEnabled(kind, enabled, who) {
      return withTransaction(pool, async (client) => {
        await lockDefaults(client)
        const defaults = await listPolicies(client, { kind, scope: 'default' })
        const at = now().toISOString()
        let changed = 0
        for (const before of defaults) {
          if (before.enabled === enabled) continue
          await savePolicy(client, { policy: { ...before, enabled, updatedAt: at, updatedBy: who.actor }, scope: 'default', who, before, topic })
          changed++
        }
        return changed
      })
    },

    async deleteOverride(policyId, who) {
      if (parsePolicyId(policyId)?.scope === 'default') {
        throw new DomainError('UNPROCESSABLE_ENTITY', `${policyId} is a default from the NFR reference: it cannot be deleted; disable it instead`, { ofbCode: 'DEFAULT_NOT_DELETABLE' })
      }
      await withTransaction(pool, async (client) => {
        await lockPolicyId(client, policyId)
        const before = await getPolicy(client, policyId, true)
        if (!before) throw notFound(policyId)
        await removePolicy(client, before, who, now(), topic)
      })
    },

    async seedDefaults() {
      return withTransaction(pool, async (client) => {
        await lockDefaults(client)
        const at = now()
        const wanted = new Map(defaultPolicies(catalogue, at).map((p) => [p.policyId, p]))
        const stored = new Map((await listPolicies(client, { scope: 'default' })).map((p) => [p.policyId, p]))
        const counts = { created: 0, updated: 0, deleted: 0 }
        for (const [id, policy] of wanted) {
          const before = stored.get(id)
          if (!before) {
            await savePolicy(client, { policy, scope: 'default', who: SYSTEM, topic })
            counts.created++
          } else if (before.limit !== policy.limit) {
            // The floor changed in the NFR reference: the default follows it, its on/off state is kept.
            await savePolicy(client, { policy: { ...before, limit: policy.limit, updatedAt: at.toISOString(), updatedBy: 'system' }, scope: 'default', who: SYSTEM, before, topic })
            counts.updated++
          }
        }
        for (const [id, before] of stored) {
          if (wanted.has(id)) continue
          await removePolicy(client, before, SYSTEM, at, topic)
          counts.deleted++
        }
        return counts
      })
    },
  }
}
