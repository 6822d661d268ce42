import { Kafka, logLevel, type Admin, type Consumer, type Producer, type Message, type LogEntry } from 'kafkajs'
import type { z } from 'zod'
import type { Logger } from './logger.ts'
import { registerMetricSource, type MetricSample } from './metrics.ts'
import { tracingEnabled, withConsumeSpan } from './tracing.ts'

export type { Kafka } from 'kafkajs'

/** Options of {@link createKafka}. */
export interface KafkaOptions {
  brokers: string[]
  clientId: string
  logger: Logger
  /** Connection timeout in ms (default 3 000). */
  connectionTimeoutMs?: number
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

let negativeTimeoutFilterInstalled = false

/**
 * kafkajs 2.2.4 computes a negative delay in its request queue on Node 24, which Node reports as a
 * `TimeoutNegativeWarning` (and then uses 1 ms, which is what kafkajs meant). Drop that one warning; pass the rest.
 */
function silenceKafkajsNegativeTimeout(): void {
  if (negativeTimeoutFilterInstalled) return
  negativeTimeoutFilterInstalled = true
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof warning === 'string' ? (typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type) : warning.name
    if (type === 'TimeoutNegativeWarning') return
    emit(warning, ...rest)
  }) as typeof process.emitWarning
}

/** A kafkajs client whose log lines go through the platform logger (errors as warnings: kafkajs retries them). */
export function createKafka(options: KafkaOptions): Kafka {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
  silenceKafkajsNegativeTimeout()
  const log = options.logger.child({ component: 'kafka' })
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 300, retries: 5, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log
      const level = levels[entry.level] ?? 'info'
      log[level === 'error' ? 'warn' : level]({ namespace: entry.namespace, ...rest }, message)
    },
  })
}

/** A topic to create explicitly (brokers run with auto-creation off). */
export interface TopicSpec {
  topic: string
  partitions: number
  compacted: boolean
}

/** Creates the topics that do not exist yet and waits for their leaders. Existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const missing = specs.filter((s) => !existing.has(s.topic))
    if (missing.length === 0) return []
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: 1,
        configEntries: s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })),
    })
    return missing.map((s) => s.topic)
  } finally {
    await admin.disconnect()
  }
}

/** Checks that the cluster answers (readiness). */
export async function pingKafka(kafka: Kafka): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.describeCluster()
  } finally {
    await admin.disconnect()
  }
}

/** An event with the envelope fields the relay and consumers rely on. */
export interface EnvelopedEvent {
  id: string
  type: string
}

/** Publishes typed events: each event is checked against its zod schema before it leaves the process. */
export interface EventPublisher {
  connect(): Promise<void>
  /** Validates `event` with `schema` and sends it to `topic` keyed by `key`; resolves once the broker acknowledged. */
  publish<S extends z.ZodType<EnvelopedEvent>>(topic: string, schema: S, event: z.input<S>, key: string): Promise<void>
  /** Sends pre-validated messages in order (used by the outbox relay). */
  sendRaw(topic: string, messages: Message[]): Promise<void>
  disconnect(): Promise<void>
}

/** A producer with `acks: all`, short retries (callers such as the outbox relay own the long retry loop). */
export function createPublisher(kafka: Kafka): EventPublisher {
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2, initialRetryTime: 200 } })
  let connected: Promise<void> | undefined
  const ensure = () => (connected ??= producer.connect().catch((err) => { connected = undefined; throw err }))
  producer.on(producer.events.DISCONNECT, () => { connected = undefined })
  return {
    connect: ensure,
    async publish(topic, schema, event, key) {
      const parsed = schema.parse(event)
      await ensure()
      await producer.send({ topic, acks: -1, messages: [{ key, value: JSON.stringify(parsed), headers: { 'event-type': parsed.type } }] })
    },
    async sendRaw(topic, messages) {
      await ensure()
      await producer.send({ topic, acks: -1, messages })
    },
    async disconnect() {
      connected = undefined
      await producer.disconnect()
    },
  }
}

/** Where a consumed event came from. */
export interface EventMeta {
  topic: string
  partition: number
  offset: string
  key: string | null
}

/** Options of {@link subscribe}. */
export interface SubscribeOptions<S extends z.ZodType<EnvelopedEvent>> {
  kafka: Kafka
  groupId: string
  topic: string
  schema: S
  /** Handles one valid event. A throw makes Kafka redeliver it (at-least-once), so handlers must be idempotent. */
  handler: (event: z.output<S>, meta: EventMeta) => Promise<void>
  logger: Logger
  fromBeginning?: boolean
}

/** A running subscription. */
export interface Subscription {
  /** Counters since start: valid events handled, malformed ones skipped. */
  readonly stats: { handled: number; rejected: number }
  /** Resolves once the consumer joined its group and fetches. */
  ready: Promise<void>
  /**
   * With `fromBeginning`: resolves once every event the topic held when the subscription started has been handled
   * (its end offsets then), so state rebuilt from a compacted topic is complete before it is relied on; otherwise with
   * `ready`.
   */
  caughtUp: Promise<void>
  stop(): Promise<void>
}

/**
 * A group that reads from the end (not `fromBeginning`) and has committed nothing on a partition would start from the
 * end of that partition again at every restart, skipping whatever was published there while it was away (a Kafka
 * outage, a restart): webhooks never sent. So before a new group first joins, its offsets are committed at the
 * topic's current end: from then on it resumes where it was. Only an empty group can be given offsets; when another
 * instance of the group is already running, that instance did it.
 */
async function anchorNewGroup(admin: Admin, connect: () => Promise<void>, groupId: string, topic: string, log: Logger): Promise<void> {
  try {
    await connect()
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const missing = new Set((committed?.partitions ?? []).filter((p) => Number(p.offset) < 0).map((p) => p.partition))
    if (missing.size === 0) return
    const ends = await admin.fetchTopicOffsets(topic)
    await admin.setOffsets({ groupId, topic, partitions: ends.filter((e) => missing.has(e.partition)).map((e) => ({ partition: e.partition, offset: e.high })) })
    log.info({ partitions: missing.size }, 'consumer group anchored at the end of the topic')
  } catch (err) {
    // A running group (another instance) refuses new offsets; Kafka unreachable: the consumer's own retries take over.
    log.debug({ err: err instanceof Error ? err.message : String(err) }, 'consumer group not anchored')
  }
}

/**
 * Consumes `topic` in consumer group `groupId`, parsing each message with `schema`. A malformed message (bad JSON or
 * not matching the schema) is logged, counted and skipped: it never stops the consumer.
 */
export async function subscribe<S extends z.ZodType<EnvelopedEvent>>(options: SubscribeOptions<S>): Promise<Subscription> {
  const log = options.logger.child({ component: 'consumer', topic: options.topic, groupId: options.groupId })
  const consumer: Consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, retry: { retries: 8 } })
  const stats = { handled: 0, rejected: 0 }
  let markReady: () => void = () => undefined
  const ready = new Promise<void>((resolve) => { markReady = resolve })
  consumer.on(consumer.events.GROUP_JOIN, () => markReady())
  let markCaughtUp: () => void = () => undefined
  const caughtUp = new Promise<void>((resolve) => { markCaughtUp = resolve })
  // The end offset of each partition when the subscription started, and the next offset handled in each.
  let targets: Map<number, number> | undefined
  const reached = new Map<number, number>()
  const checkCaughtUp = () => {
    if (targets && [...targets].every(([partition, high]) => (reached.get(partition) ?? 0) >= high)) markCaughtUp()
  }
  // Lag per partition for /metrics, read when Prometheus scrapes: the partition's end offset minus the group's committed
  // offset (one admin round trip each). Before the group committed anything, the lag seen in the last batch, else
  // what the start position implies.
  const batchLag = new Map<number, number>()
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => { batchLag.set(payload.partition, Math.max(0, Number(payload.offsetLag) || 0)) })
  const labels = { group: options.groupId, topic: options.topic }
  const admin = options.kafka.admin()
  let adminConnected: Promise<void> | undefined
  const connectAdmin = () => (adminConnected ??= admin.connect().catch((err: unknown) => { adminConnected = undefined; throw err }))
  const readLag = async (): Promise<MetricSample[]> => {
    await connectAdmin()
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(options.topic),
      admin.fetchOffsets({ groupId: options.groupId, topics: [options.topic] }),
    ])
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
    return ends.map((e) => {
      const high = Number(e.high)
      const at = done.get(e.partition) ?? -1
      const value = at >= 0 ? high - at : batchLag.get(e.partition) ?? (options.fromBeginning ? high - Number(e.low) : 0)
      return { labels: { ...labels, partition: String(e.partition) }, value: Math.max(0, value) }
    })
  }
  const unregister = [
    registerMetricSource('ponte_kafka_consumer_lag', 'Messages not yet consumed by the consumer group, per partition (end offset − committed offset)', 'gauge', readLag),
    registerMetricSource('ponte_kafka_consumed_total', 'Events consumed, by outcome (handled, or rejected as malformed)', 'counter',
      () => [{ labels: { ...labels, outcome: 'handled' }, value: stats.handled }, { labels: { ...labels, outcome: 'rejected' }, value: stats.rejected }]),
  ]
  if (!options.fromBeginning) await anchorNewGroup(admin, connectAdmin, options.groupId, options.topic, log)
  await consumer.connect()
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? false })
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const meta: EventMeta = { topic, partition, offset: message.offset, key: message.key?.toString() ?? null }
      let event: z.output<S>
      try {
        event = options.schema.parse(JSON.parse(message.value?.toString() ?? ''))
      } catch (err) {
        stats.rejected++
        log.warn({ ...meta, err: err instanceof Error ? err.message.slice(0, 500) : String(err) }, 'malformed event skipped')
        reached.set(partition, Number(message.offset) + 1)
        checkCaughtUp()
        return
      }
      // With tracing on, the handler runs in a CONSUMER span continuing the producer's trace.
      if (!tracingEnabled()) await options.handler(event, meta)
      else {
        await withConsumeSpan(topic, options.groupId, message.headers,
          { 'messaging.destination.partition.id': String(partition), 'messaging.kafka.offset': Number(message.offset), 'messaging.message.id': event.id },
          () => options.handler(event, meta))
      }
      stats.handled++
      reached.set(partition, Number(message.offset) + 1)
      checkCaughtUp()
    },
  })
  if (!options.fromBeginning) void ready.then(() => markCaughtUp())
  else {
    void (async () => {
      try {
        await connectAdmin()
        const ends = await admin.fetchTopicOffsets(options.topic)
        targets = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]))
        checkCaughtUp()
      } catch (err) {
        // Without the end offsets nothing can tell when the replay is over: consumption goes on, readiness does not wait.
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'end offsets unknown; not waiting for the replay')
        markCaughtUp()
      }
    })()
  }
  return {
    stats,
    ready,
    caughtUp,
    async stop() {
      for (const u of unregister) u()
      if (adminConnected) await admin.disconnect().catch(() => undefined)
      await consumer.disconnect()
    },
  }
}
