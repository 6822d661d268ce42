import { randomUUID } from 'node:crypto'
import { TrafficPolicyDeleted, TrafficPolicyUpserted, topics, type LimitKind, type TrafficPolicy } from '@ponte/contracts'
import { enqueueEvent, type Pool, type PoolClient } from '@ponte/platform'
import type { Actor } from '../domain/policy-rules.ts'

/**
 * PostgreSQL storage of policies (schema `traffic`). Every write records its change in `policy_changes` and enqueues
 * the matching `ponte.traffic-policy.v1` event in the outbox, inside the caller's transaction: the compacted topic
 * never misses a committed change and never sees one that was rolled back.
 */

interface PolicyRow {
  policy_id: string
  kind: LimitKind
  scope: 'default' | 'override'
  endpoint: string | null
  organisation_id: string | null
  limit: number
  enabled: boolean
  updated_at: Date
  updated_by: string | null
}

const columns = 'policy_id, kind, scope, endpoint, organisation_id, "limit", enabled, updated_at, updated_by'

function toPolicy(r: PolicyRow): TrafficPolicy {
  return {
    policyId: r.policy_id,
    kind: r.kind,
    ...(r.endpoint === null ? {} : { endpoint: r.endpoint }),
    ...(r.organisation_id === null ? {} : { organisationId: r.organisation_id }),
    limit: r.limit,
    enabled: r.enabled,
    updatedAt: r.updated_at.toISOString(),
    ...(r.updated_by === null ? {} : { updatedBy: r.updated_by }),
  }
}

/** Filters of {@link listPolicies}; all optional. */
export interface PolicyFilter {
  kind?: LimitKind
  scope?: 'default' | 'override'
  endpoint?: string
  organisationId?: string
}

/** Policies matching the filter, ordered by id. */
export async function listPolicies(db: Pool | PoolClient, filter: PolicyFilter = {}): Promise<TrafficPolicy[]> {
  const where: string[] = []
  const args: unknown[] = []
  const add = (sql: string, v: unknown) => { args.push(v); where.push(`${sql} = $${args.length}`) }
  if (filter.kind) add('kind', filter.kind)
  if (filter.scope) add('scope', filter.scope)
  if (filter.endpoint) add('endpoint', filter.endpoint)
  if (filter.organisationId) add('organisation_id', filter.organisationId)
  const { rows } = await db.query<PolicyRow>(`select ${columns} from policies ${where.length ? `where ${where.join(' and ')}` : ''} order by policy_id`, args)
  return rows.map(toPolicy)
}

/** One policy, optionally locked for the rest of the transaction. */
export async function getPolicy(db: Pool | PoolClient, policyId: string, forUpdate = false): Promise<TrafficPolicy | undefined> {
  const { rows } = await db.query<PolicyRow>(`select ${columns} from policies where policy_id = $1${forUpdate ? ' for update' : ''}`, [policyId])
  return rows[0] ? toPolicy(rows[0]) : undefined
}

/** Serialises writers of one policy id for the rest of the transaction (also when the row does not exist yet). */
export async function lockPolicyId(client: PoolClient, policyId: string): Promise<void> {
  await client.query("select pg_advisory_xact_lock(hashtext('traffic.policy'), hashtext($1))", [policyId])
}

/** Serialises the seeding of defaults across replicas. */
export async function lockDefaults(client: PoolClient): Promise<void> {
  await client.query("select pg_advisory_xact_lock(hashtext('traffic.policy'), hashtext('defaults'))")
}

async function recordChange(client: PoolClient, policyId: string, action: 'created' | 'updated' | 'deleted', who: Actor, at: Date, before?: TrafficPolicy, after?: TrafficPolicy) {
  await client.query('insert into policy_changes (policy_id, action, actor, via, at, before, after) values ($1, $2, $3, $4, $5, $6, $7)',
    [policyId, action, who.actor, who.via, at, before ? JSON.stringify(before) : null, after ? JSON.stringify(after) : null])
}

/** The upserted event of a policy, for the outbox. */
export async function enqueueUpserted(client: PoolClient, policy: TrafficPolicy, at: Date, topic: string = topics.trafficPolicy): Promise<void> {
  await enqueueEvent(client, {
    topic,
    key: policy.policyId,
    schema: TrafficPolicyUpserted,
    event: { id: randomUUID(), source: 'traffic', occurredAt: at.toISOString(), version: 1, type: 'traffic.policy.upserted', data: policy },
  })
}

/** The deleted event of a policy id, for the outbox. */
export async function enqueueDeleted(client: PoolClient, policyId: string, at: Date, topic: string = topics.trafficPolicy): Promise<void> {
  await enqueueEvent(client, {
    topic,
    key: policyId,
    schema: TrafficPolicyDeleted,
    event: { id: randomUUID(), source: 'traffic', occurredAt: at.toISOString(), version: 1, type: 'traffic.policy.deleted', data: { policyId } },
  })
}

/** A write of one policy. */
export interface PolicyWrite {
  policy: TrafficPolicy
  scope: 'default' | 'override'
  who: Actor
  /** The policy as it was (absent when new). */
  before?: TrafficPolicy
  /** Topic of the event; `ponte.traffic-policy.v1` unless a test isolates itself. */
  topic: string
}

/** Inserts or replaces a policy, records the change and enqueues its event. Call inside a transaction. */
export async function savePolicy(client: PoolClient, { policy, scope, who, before, topic }: PolicyWrite): Promise<void> {
  const at = new Date(policy.updatedAt)
  await client.query(
    `insert into policies (${columns}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     on conflict (policy_id) do update set "limit" = excluded."limit", enabled = excluded.enabled, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    [policy.policyId, policy.kind, scope, policy.endpoint ?? null, policy.organisationId ?? null, policy.limit, policy.enabled, at, policy.updatedBy ?? null],
  )
  await recordChange(client, policy.policyId, before ? 'updated' : 'created', who, at, before, policy)
  await enqueueUpserted(client, policy, at, topic)
}

/** Deletes a policy, records the change and enqueues the deleted event. Call inside a transaction. */
export async function removePolicy(client: PoolClient, before: TrafficPolicy, who: Actor, at: Date, topic: string = topics.trafficPolicy): Promise<void> {
  await client.query('delete from policies where policy_id = $1', [before.policyId])
  await recordChange(client, before.policyId, 'deleted', who, at, before, undefined)
  await enqueueDeleted(client, before.policyId, at, topic)
}

/** A recorded change. */
export interface StoredChange {
  changeId: string
  policyId: string
  action: 'created' | 'updated' | 'deleted'
  actor: string
  via: string
  at: string
  before: TrafficPolicy | null
  after: TrafficPolicy | null
}

/** The change history of a policy id, oldest first (kept after the policy is deleted). */
export async function policyChanges(db: Pool | PoolClient, policyId: string, limit = 500): Promise<StoredChange[]> {
  const { rows } = await db.query<{ change_id: string; policy_id: string; action: StoredChange['action']; actor: string; via: string; at: Date; before: TrafficPolicy | null; after: TrafficPolicy | null }>(
    'select change_id, policy_id, action, actor, via, at, before, after from policy_changes where policy_id = $1 order by change_id desc limit $2', [policyId, limit])
  return rows.reverse().map((r) => ({ changeId: String(r.change_id), policyId: r.policy_id, action: r.action, actor: r.actor, via: r.via, at: r.at.toISOString(), before: r.before, after: r.after }))
}

/** The `ponte.traffic-policy.v1` events committed but not yet relayed, in order (latest per key wins). */
export async function pendingPolicyEvents(db: Pool | PoolClient, topic: string = topics.trafficPolicy): Promise<Array<{ key: string; payload: unknown }>> {
  const { rows } = await db.query<{ key: string; payload: unknown }>('select key, payload from outbox where topic = $1 and published_at is null order by seq', [topic])
  return rows
}
