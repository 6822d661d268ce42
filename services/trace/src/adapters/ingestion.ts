import { z } from 'zod'
import { ApiCallEvent, ConsentEvent, eventEnvelope, topics } from '@ponte/contracts'
import type { Kafka, Logger } from '@ponte/platform'
import type { StoredCall } from '../domain/calls.ts'
import type { CallStore, StoryEvent } from './pg-call-store.ts'

/** Payment and audit events have no schema in the contracts yet: only their envelope and the ids they carry are read. */
const LooseEvent = z.object({
  ...eventEnvelope,
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()).default({}),
})

/** Options of {@link startIngestion}. */
export interface IngestionOptions {
  kafka: Kafka
  groupId: string
  store: CallStore
  logger: Logger
  /** Topic names (tests use private ones). */
  topics?: { apiCall: string; consent: string; payment: string; audit: string }
  fromBeginning?: boolean
}

/** A running ingestion consumer. */
export interface Ingestion {
  /** Resolves once the consumer joined its group. */
  ready: Promise<void>
  /** The topics it reads (payment and audit only when they exist on the broker). */
  readonly topics: string[]
  readonly stats: { batches: number; stored: number; duplicates: number; expired: number; stories: number; malformed: number; failures: number }
  /** Messages not yet consumed by the group, summed over its topics and partitions (asks the broker). */
  lag(): Promise<number>
  stop(): Promise<void>
}

const asString = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined)

/**
 * Consumes the api-call topic (and the consent, payment and audit topics) in batches: each Kafka batch is parsed and
 * stored in one transaction, and its offsets are committed only after that transaction committed. A crash between the
 * two redelivers the batch, which the store absorbs (stored once). A malformed message is logged, counted and skipped.
 */
export async function startIngestion(options: IngestionOptions): Promise<Ingestion> {
  const names = options.topics ?? { apiCall: topics.apiCall, consent: topics.consent, payment: topics.payment, audit: topics.audit }
  const log = options.logger.child({ component: 'ingestion' })
  const admin = options.kafka.admin()
  await admin.connect()
  const existing = new Set(await admin.listTopics())
  const wanted = [names.apiCall, names.consent, ...[names.payment, names.audit].filter((t) => existing.has(t))]
  const stats = { batches: 0, stored: 0, duplicates: 0, expired: 0, stories: 0, malformed: 0, failures: 0 }
  const consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, retry: { retries: 8 }, maxBytesPerPartition: 4 * 1_048_576 })
  let markReady: () => void = () => undefined
  const ready = new Promise<void>((resolve) => { markReady = resolve })
  consumer.on(consumer.events.GROUP_JOIN, () => markReady())
  await consumer.connect()
  await consumer.subscribe({ topics: wanted, fromBeginning: options.fromBeginning ?? true })

  function parse(topic: string, value: string): { call?: StoredCall; story?: StoryEvent } | undefined {
    const json: unknown = JSON.parse(value)
    if (topic === names.apiCall) {
      const e = ApiCallEvent.parse(json)
      return { call: { eventId: e.id, receivedAt: new Date(e.data.receivedAt), data: e.data } }
    }
    if (topic === names.consent) {
      const e = ConsentEvent.parse(json)
      const { clientId, organisationId, kind, ...rest } = e.data
      return { story: { eventId: e.id, topic, type: e.type, occurredAt: new Date(e.occurredAt), interactionId: e.interactionId, consentId: e.data.consentId,
        detail: { kind, clientId, organisationId, ...('resourceIds' in rest ? { resources: rest.resourceIds.length } : {}),
          ...('rejectedBy' in rest ? { rejectedBy: rest.rejectedBy, reason: rest.reason, previousStatus: rest.previousStatus } : {}),
          ...('expirationDateTime' in rest ? { expirationDateTime: rest.expirationDateTime } : {}) } } }
    }
    const e = LooseEvent.parse(json)
    return { story: { eventId: e.id, topic, type: e.type, occurredAt: new Date(e.occurredAt), interactionId: e.interactionId,
      consentId: asString(e.data.consentId), paymentId: asString(e.data.paymentId), detail: e.data } }
  }

  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return
      const calls: StoredCall[] = []
      const stories: StoryEvent[] = []
      for (const m of batch.messages) {
        try {
          const parsed = parse(batch.topic, m.value?.toString() ?? '')
          if (parsed?.call) calls.push(parsed.call)
          if (parsed?.story) stories.push(parsed.story)
        } catch (err) {
          stats.malformed++
          log.warn({ topic: batch.topic, partition: batch.partition, offset: m.offset, err: err instanceof Error ? err.message.slice(0, 300) : String(err) }, 'malformed event skipped')
        }
      }
      try {
        const r = await options.store.ingest(calls, stories)
        stats.batches++
        stats.stored += r.stored
        stats.duplicates += r.duplicates
        stats.expired += r.expired
        stats.stories += r.stories
      } catch (err) {
        stats.failures++
        throw err // kafkajs retries the batch from its first uncommitted offset
      }
      resolveOffset(batch.lastOffset())
      await commitOffsetsIfNecessary()
      await heartbeat()
    },
  })

  return {
    ready,
    topics: wanted,
    stats,
    async lag() {
      let total = 0
      const committed = await admin.fetchOffsets({ groupId: options.groupId, topics: wanted })
      for (const t of committed) {
        const ends = await admin.fetchTopicOffsets(t.topic)
        for (const p of t.partitions) {
          const end = ends.find((e) => e.partition === p.partition)
          if (!end) continue
          const at = Number(p.offset) < 0 ? Number(end.low) : Number(p.offset)
          total += Math.max(0, Number(end.high) - at)
        }
      }
      return total
    },
    async stop() {
      await consumer.disconnect()
      await admin.disconnect()
    },
  }
}
