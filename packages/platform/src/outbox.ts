import type { Pool, PoolClient } from 'pg'
import type { z } from 'zod'
import type { EnvelopedEvent, EventPublisher } from './kafka.ts'
import type { Logger } from './logger.ts'
import { registerMetricSource } from './metrics.ts'
import { captureTraceContext, endSpans, startPublishSpan } from './tracing.ts'

/**
 * Writes an event to the transactional outbox of the caller's schema, inside the caller's transaction: the event
 * exists if and only if the state change it describes was committed. The relay sends it to Kafka later.
 */
export async function enqueueEvent<S extends z.ZodType<EnvelopedEvent>>(
  client: PoolClient,
  input: { topic: string; key: string; schema: S; event: z.input<S> },
): Promise<void> {
  const event = input.schema.parse(input.event)
  // With tracing on, the active trace context travels with the event (the relay publishes it as a span of this trace).
  const traceContext = captureTraceContext()
  await client.query('insert into outbox (event_id, topic, key, payload, trace_context) values ($1, $2, $3, $4, $5)',
    [event.id, input.topic, input.key, JSON.stringify(event), traceContext === null ? null : JSON.stringify(traceContext)])
  await client.query("select pg_notify('ponte_outbox', current_schema())")
}

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  pool: Pool
  /** Where the LISTEN connection comes from (default `pool`): a session connection behind a transaction pooler. */
  listenPool?: Pool | undefined
  publisher: EventPublisher
  logger: Logger
  /** Polling interval in ms when idle (a NOTIFY wakes it earlier). Default 250. */
  intervalMs?: number
  batchSize?: number
  /** Longest wait between retries while Kafka is unreachable. Default 5 000. */
  maxBackoffMs?: number
}

/** A running relay. */
export interface OutboxRelay {
  /** Relays one batch now; returns how many events were published. */
  flush(): Promise<number>
  /** Events published since start, and failed attempts. */
  readonly stats: { published: number; failures: number }
  stop(): Promise<void>
}

interface OutboxRow { seq: string; event_id: string; topic: string; key: string; payload: unknown; type: string; trace_context: Record<string, string> | null }

/**
 * Moves committed outbox events to Kafka, oldest first, at-least-once. Rows are claimed with `FOR UPDATE SKIP
 * LOCKED`, so several replicas can relay the same schema without sending an event twice in the normal case; a crash
 * between the broker's acknowledgement and the commit can resend, which consumers absorb by event id. When the
 * process lives on but PostgreSQL went away in that gap (a restart, a failover), the relay remembers what the broker
 * acknowledged and the next batch only marks it: no resend.
 * While Kafka is unreachable it backs off and keeps the events; nothing is dropped.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, publisher } = options
  const log = options.logger.child({ component: 'outbox-relay' })
  const intervalMs = options.intervalMs ?? 250
  const batchSize = options.batchSize ?? 100
  const maxBackoffMs = options.maxBackoffMs ?? 5_000
  const stats = { published: 0, failures: 0 }
  let stopped = false
  let running: Promise<number> | undefined
  let wake: () => void = () => undefined
  let listener: PoolClient | undefined
  // Event ids the broker acknowledged whose `published_at` could not be committed yet. Bounded: an entry leaves once
  // marked, and the oldest are forgotten past a few batches (another replica may have marked them meanwhile).
  const sentUnmarked = new Set<string>()
  const remember = (ids: string[]) => {
    for (const id of ids) sentUnmarked.add(id)
    for (const id of sentUnmarked) {
      if (sentUnmarked.size <= batchSize * 10) break
      sentUnmarked.delete(id)
    }
  }

  async function relayBatch(): Promise<number> {
    const client = await pool.connect()
    try {
      await client.query('begin')
      const { rows } = await client.query<OutboxRow>(
        `select seq, event_id, topic, key, payload, payload->>'type' as type, trace_context from outbox
          where published_at is null order by seq limit $1 for update skip locked`, [batchSize])
      if (rows.length === 0) { await client.query('commit'); return 0 }
      // Keep order per topic: one send per topic, in seq order. What the broker already has is only marked.
      const byTopic = new Map<string, OutboxRow[]>()
      for (const r of rows) if (!sentUnmarked.has(r.event_id)) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r])
      try {
        for (const [topic, list] of byTopic) {
          const spans: Array<ReturnType<typeof startPublishSpan>> = []
          const messages = list.map((r) => {
            const headers: Record<string, string> = { 'event-type': r.type ?? '' }
            spans.push(startPublishSpan(topic, r.trace_context, headers, { 'messaging.message.id': r.event_id, 'messaging.kafka.message.key': r.key }))
            return { key: r.key, value: JSON.stringify(r.payload), headers }
          })
          try {
            await publisher.sendRaw(topic, messages)
          } catch (err) {
            endSpans(spans, err)
            throw err
          }
          endSpans(spans)
          remember(list.map((r) => r.event_id))
        }
      } catch (err) {
        await client.query('rollback')
        await pool.query('update outbox set attempts = attempts + 1, last_error = $2 where seq = any($1::bigint[])',
          [rows.map((r) => r.seq), err instanceof Error ? err.message.slice(0, 500) : String(err)]).catch(() => undefined)
        throw err
      }
      await client.query('update outbox set published_at = now(), attempts = attempts + 1, last_error = null where seq = any($1::bigint[])', [rows.map((r) => r.seq)])
      await client.query('commit')
      for (const r of rows) sentUnmarked.delete(r.event_id)
      stats.published += rows.length
      return rows.length
    } catch (err) {
      await client.query('rollback').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }

  const flush = () => (running ??= relayBatch().finally(() => { running = undefined }))

  async function loop() {
    let backoff = intervalMs
    while (!stopped) {
      try {
        const n = await flush()
        backoff = intervalMs
        if (n === batchSize) continue
      } catch (err) {
        stats.failures++
        backoff = Math.min(maxBackoffMs, backoff * 2)
        log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: backoff }, 'outbox relay could not publish; will retry')
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff)
        wake = () => { clearTimeout(t); resolve() }
      })
    }
  }

  // The LISTEN connection is held out of the pool, so the pool does not watch it: its errors (PostgreSQL restarted,
  // the connection cut) are handled here, or the process would die of an unhandled 'error' event. The relay polls
  // meanwhile, and listens again once PostgreSQL answers.
  const listen = async (): Promise<void> => {
    if (stopped) return
    let client: PoolClient | undefined
    let dropped = false
    const drop = (err: Error) => {
      if (dropped) return
      dropped = true
      if (listener === client) listener = undefined
      client?.release(err)
      if (!stopped) setTimeout(() => void listen(), 1_000).unref()
    }
    try {
      // A session connection behind a transaction pooler (LISTEN needs one); the pool itself otherwise.
      client = await (options.listenPool ?? pool).connect()
      client.on('error', (err) => {
        log.warn({ err: err.message }, 'outbox relay lost its LISTEN connection; polling until it is back')
        drop(err)
      })
      await client.query('listen ponte_outbox')
      client.on('notification', () => wake())
      if (stopped) { dropped = true; client.release(); return }
      listener = client
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox relay runs without LISTEN for now; polling only')
      drop(err instanceof Error ? err : new Error(String(err)))
    }
  }
  void listen()
  const done = loop()

  // Backlog for /metrics, read when Prometheus scrapes (the partial index on unpublished rows keeps it cheap); the
  // families of one scrape are collected concurrently and share one query.
  let schemaName: Promise<string> | undefined
  const schemaOf = () => (schemaName ??= pool.query<{ s: string }>('select current_schema() as s')
    .then((r) => r.rows[0]!.s, (err: unknown) => { schemaName = undefined; throw err }))
  let backlogQuery: Promise<{ schema: string; pending: number; oldest: number }> | undefined
  const readBacklog = () => (backlogQuery ??= pool.query<{ schema: string; pending: string; oldest: number | null }>(
    `select current_schema() as schema, count(*) as pending, coalesce(extract(epoch from now() - min(created_at))::float8, 0) as oldest
       from outbox where published_at is null`)
    .then(({ rows }) => ({ schema: rows[0]!.schema, pending: Number(rows[0]!.pending), oldest: Number(rows[0]!.oldest) }))
    .finally(() => { backlogQuery = undefined }))
  const unregister = [
    registerMetricSource('ponte_outbox_backlog_events', 'Committed events not yet published to Kafka, per schema', 'gauge',
      async () => { const b = await readBacklog(); return [{ labels: { schema: b.schema }, value: b.pending }] }),
    registerMetricSource('ponte_outbox_oldest_pending_age_seconds', 'Age of the oldest unpublished event, per schema (0 when none)', 'gauge',
      async () => { const b = await readBacklog(); return [{ labels: { schema: b.schema }, value: b.oldest }] }),
    registerMetricSource('ponte_outbox_published_total', 'Events published by this relay since start', 'counter',
      async () => [{ labels: { schema: await schemaOf() }, value: stats.published }]),
    registerMetricSource('ponte_outbox_publish_failures_total', 'Failed publish attempts of this relay since start (Kafka unreachable)', 'counter',
      async () => [{ labels: { schema: await schemaOf() }, value: stats.failures }]),
  ]

  return {
    flush,
    stats,
    async stop() {
      for (const u of unregister) u()
      stopped = true
      wake()
      await done
      const l = listener
      listener = undefined
      if (l) {
        await l.query('unlisten ponte_outbox').catch(() => undefined)
        // Checked out, the client carries only this relay's listeners; the pool adds its own again on release.
        l.removeAllListeners('error')
        l.removeAllListeners('notification')
        l.release()
      }
    },
  }
}

/**
 * Wraps a consumer handler so each event id is handled at most once per consumer name: the id is recorded in the
 * schema's inbox in the same transaction as the handler's own writes, and a redelivered event is skipped.
 */
export function idempotentHandler<E extends EnvelopedEvent, M>(
  pool: Pool,
  consumer: string,
  handler: (event: E, client: PoolClient, meta: M) => Promise<void>,
): (event: E, meta: M) => Promise<void> {
  return async (event, meta) => {
    const client = await pool.connect()
    try {
      await client.query('begin')
      const { rowCount } = await client.query('insert into inbox (consumer, event_id) values ($1, $2) on conflict do nothing', [consumer, event.id])
      if (rowCount === 1) await handler(event, client, meta)
      await client.query('commit')
    } catch (err) {
      await client.query('rollback').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }
}
