import { randomUUID } from 'node:crypto'
import { TrafficPolicyEvent, topics, type TrafficPolicy } from '@ponte/contracts'
import { withTransaction, type Kafka, type Logger, type Pool } from '@ponte/platform'
import { samePolicy } from '../domain/policy-rules.ts'
import { enqueueDeleted, enqueueUpserted, listPolicies, lockDefaults, pendingPolicyEvents } from './policy-store.ts'

/**
 * Keeps the compacted `ponte.traffic-policy.v1` equal to the policy table. At start, `traffic` reads the topic from
 * the beginning to its end, lays the events still waiting in the outbox over it, and enqueues (through the outbox)
 * exactly the events that make it match: an upsert for each policy missing or different, a delete for each key the
 * table no longer has. A topic already in line gets nothing, so the step is idempotent and safe on every start.
 */

/** What the topic says, per key: the last policy, `null` for a delete, `undefined` for an unreadable record. */
export type TopicState = Map<string, TrafficPolicy | null | undefined>

/** Reads the whole topic (from the first offset to the high watermark at call time) into its state per key. */
export async function readPolicyTopic(kafka: Kafka, logger: Logger, topic: string = topics.trafficPolicy, timeoutMs = 60_000): Promise<TopicState> {
  const state: TopicState = new Map()
  const admin = kafka.admin()
  await admin.connect()
  let ends: Map<number, bigint>
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]))
  } finally {
    await admin.disconnect()
  }
  if (ends.size === 0) return state

  const groupId = `traffic-sync-${randomUUID()}`
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false })
  const remaining = new Set(ends.keys())
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => { done = resolve })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString()
        if (key !== undefined) {
          if (message.value === null) state.set(key, null)
          else {
            let parsed: ReturnType<typeof TrafficPolicyEvent.safeParse>
            try {
              parsed = TrafficPolicyEvent.safeParse(JSON.parse(message.value.toString()))
            } catch {
              parsed = { success: false } as ReturnType<typeof TrafficPolicyEvent.safeParse>
            }
            if (!parsed.success) state.set(key, undefined)
            else state.set(key, parsed.data.type === 'traffic.policy.upserted' ? parsed.data.data : null)
          }
        }
        const end = ends.get(partition)
        if (end !== undefined && BigInt(message.offset) + 1n >= end) {
          remaining.delete(partition)
          if (remaining.size === 0) done()
        }
      },
    })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      finished,
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`reading ${topic} timed out after ${timeoutMs} ms`)), timeoutMs) }),
    ]).finally(() => clearTimeout(timer))
  } finally {
    await consumer.disconnect().catch((err) => logger.warn({ err }, 'policy topic reader did not disconnect cleanly'))
    const cleanup = kafka.admin()
    await cleanup.connect().then(() => cleanup.deleteGroups([groupId])).catch(() => undefined).finally(() => cleanup.disconnect())
  }
  return state
}

/** The events that bring `topic` in line with `table`. Pure. */
export function policyTopicDiff(table: TrafficPolicy[], topic: TopicState): { upserts: TrafficPolicy[]; deletes: string[] } {
  const upserts = table.filter((p) => {
    const seen = topic.get(p.policyId)
    return !seen || !samePolicy(seen, p)
  })
  const inTable = new Set(table.map((p) => p.policyId))
  const deletes = [...topic.entries()].filter(([key, value]) => !inTable.has(key) && value !== null).map(([key]) => key)
  return { upserts, deletes }
}

/**
 * Reads the topic and enqueues what is missing; returns the counts. The events still in the outbox are read first and
 * the topic's end is taken after, so an event the relay publishes meanwhile is seen in one place or the other. A
 * change committed during the check can at worst be enqueued twice, which consumers absorb (same content, same key).
 */
export async function syncPolicyTopic(deps: { pool: Pool; kafka: Kafka; logger: Logger; now?: () => Date; topic?: string }): Promise<{ upserts: number; deletes: number }> {
  const name = deps.topic ?? topics.trafficPolicy
  const pending = await pendingPolicyEvents(deps.pool, name)
  const topic = await readPolicyTopic(deps.kafka, deps.logger, name)
  for (const event of pending) {
    const parsed = TrafficPolicyEvent.safeParse(event.payload)
    if (parsed.success) topic.set(event.key, parsed.data.type === 'traffic.policy.upserted' ? parsed.data.data : null)
  }
  return withTransaction(deps.pool, async (client) => {
    // Same lock as seeding, so a replica seeding now does not race this comparison.
    await lockDefaults(client)
    const diff = policyTopicDiff(await listPolicies(client), topic)
    const at = (deps.now ?? (() => new Date()))()
    for (const p of diff.upserts) await enqueueUpserted(client, p, at, name)
    for (const key of diff.deletes) await enqueueDeleted(client, key, at, name)
    if (diff.upserts.length || diff.deletes.length) {
      deps.logger.info({ upserts: diff.upserts.length, deletes: diff.deletes.length }, 'policy topic was behind the table; missing events enqueued')
    }
    return { upserts: diff.upserts.length, deletes: diff.deletes.length }
  })
}
