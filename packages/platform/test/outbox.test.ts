import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  createKafka, createOutboxRelay, createPool, createPublisher, enqueueEvent, ensureTopics, idempotentHandler, migrate,
  subscribe, withTransaction,
} from '@ponte/platform'
import { kafkaScript, testLogger, testSchema, waitFor } from '@ponte/testkit'

const Thing = z.object({ id: z.uuid(), type: z.literal('thing.changed'), data: z.object({ thingId: z.string() }) })
const dir = fileURLToPath(new URL('./fixtures/migrations', import.meta.url))

// A second broker of our own on other ports, so stopping it does not disturb the other tests.
const ports = { KAFKA_PORT: '19192', KAFKA_CONTROLLER_PORT: '19193' }
const kafkaDir = mkdtempSync(join(tmpdir(), 'ponte-outbox-kafka-'))
const brokerEnv = { ...ports, KAFKA_DATA_DIR: join(kafkaDir, 'data') }

describe('transactional outbox across a Kafka outage', () => {
  const schema = testSchema('platform_outbox')
  const { logger } = testLogger('outbox-test')
  afterAll(async () => {
    await kafkaScript(['stop', '--kill'], brokerEnv).catch(() => undefined)
    rmSync(kafkaDir, { recursive: true, force: true })
    await schema.drop()
  })

  it('delivers an event committed while the broker was down exactly once after it comes back', async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir })
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name })
    const kafka = createKafka({ brokers: [`127.0.0.1:${ports.KAFKA_PORT}`], clientId: 'outbox-test', logger, connectionTimeoutMs: 1_000 })
    const publisher = createPublisher(kafka)
    const relay = createOutboxRelay({ pool, publisher, logger, intervalMs: 100, maxBackoffMs: 500 })
    try {
      // 1. The broker is down: commit a state change and its event in one transaction.
      const eventId = randomUUID()
      await withTransaction(pool, async (client) => {
        await client.query("insert into widget (name) values ('during-outage')")
        await enqueueEvent(client, { topic: 'test.outbox', key: 'w1', schema: Thing, event: { id: eventId, type: 'thing.changed', data: { thingId: 'w1' } } })
      })
      // 2. The relay tries and fails; the event stays in the outbox, unpublished.
      await waitFor(() => relay.stats.failures > 0, { timeoutMs: 20_000, what: 'a failed relay attempt' })
      const pending = await pool.query('select published_at, attempts from outbox where event_id = $1', [eventId])
      expect(pending.rows[0].published_at).toBeNull()

      // 3. A rolled-back change leaves no event behind.
      await expect(withTransaction(pool, async (client) => {
        await enqueueEvent(client, { topic: 'test.outbox', key: 'w2', schema: Thing, event: { id: randomUUID(), type: 'thing.changed', data: { thingId: 'w2' } } })
        throw new Error('business rule failed')
      })).rejects.toThrow('business rule failed')

      // 4. The broker starts; the topic is created; a consumer subscribes.
      await kafkaScript(['start'], brokerEnv)
      await kafkaScript(['wait'], brokerEnv)
      await ensureTopics(kafka, [{ topic: 'test.outbox', partitions: 1, compacted: false }])
      const seen: string[] = []
      const handledOnce: string[] = []
      const handler = idempotentHandler(pool, 'outbox-test', async (event: z.infer<typeof Thing>) => { handledOnce.push(event.id) })
      const sub = await subscribe({ kafka, groupId: `g-${randomUUID()}`, topic: 'test.outbox', schema: Thing, logger, fromBeginning: true,
        handler: async (event, meta) => { seen.push(event.id); await handler(event, meta) } })

      // 5. The relay delivers it; the event arrives once, and a redelivery is absorbed by the inbox.
      await waitFor(() => seen.length >= 1, { timeoutMs: 60_000, what: 'the outbox event at the consumer' })
      await relay.flush()
      await new Promise((r) => setTimeout(r, 1_000))
      expect(seen).toEqual([eventId])
      await handler(Thing.parse({ id: eventId, type: 'thing.changed', data: { thingId: 'w1' } }), {} as never)
      expect(handledOnce).toEqual([eventId])
      const published = await pool.query('select count(*)::int as n from outbox where published_at is not null')
      expect(published.rows[0].n).toBe(1)
      await sub.stop()
    } finally {
      await relay.stop()
      await publisher.disconnect().catch(() => undefined)
      await pool.end()
    }
  }, 180_000)
})

describe('outbox relay and a PostgreSQL restart', () => {
  const schema = testSchema('platform_outbox_listen')
  afterAll(async () => { await schema.drop() })

  it('survives the loss of its LISTEN connection (no unhandled error), keeps relaying, and listens again', async () => {
    const { logger, lines } = testLogger('outbox-listen-test')
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir })
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name, applicationName: `relay-${schema.name}`.slice(0, 60) })
    const admin = createPool({ url: schema.databaseUrl, schema: schema.name, max: 1 })
    const sent: string[] = []
    const publisher = { sendRaw: async (_t: string, messages: Array<{ key: string }>) => { sent.push(...messages.map((m) => m.key)) } }
    const relay = createOutboxRelay({ pool, publisher: publisher as never, logger, intervalMs: 100, maxBackoffMs: 500 })
    const listeners = async () => (await admin.query<{ pid: number }>(
      `select pid from pg_stat_activity where application_name = $1 and query ilike 'listen ponte_outbox%'`, [`relay-${schema.name}`.slice(0, 60)])).rows
    try {
      const first = await waitFor(async () => (await listeners())[0], { timeoutMs: 10_000, what: 'the relay to LISTEN' })
      // The server ends the LISTEN connection, as a restart does: the relay must not crash the process.
      await admin.query('select pg_terminate_backend($1)', [first.pid])
      await waitFor(() => lines.some((l) => l.msg === 'outbox relay lost its LISTEN connection; polling until it is back'), { timeoutMs: 10_000, what: 'the relay to notice' })
      await withTransaction(pool, async (client) => {
        await enqueueEvent(client, { topic: 'test.outbox', key: 'after-cut', schema: Thing, event: { id: randomUUID(), type: 'thing.changed', data: { thingId: 'after-cut' } } })
      })
      await waitFor(() => sent.includes('after-cut'), { timeoutMs: 10_000, what: 'the event relayed after the cut' })
      const again = await waitFor(async () => (await listeners()).find((l) => l.pid !== first.pid), { timeoutMs: 10_000, what: 'a new LISTEN connection' })
      expect(again.pid).not.toBe(first.pid)
    } finally {
      await relay.stop()
      await pool.end()
      await admin.end()
    }
  }, 60_000)

  it('does not send an event again when PostgreSQL went away between the broker\'s acknowledgement and the mark', async () => {
    const { logger } = testLogger('outbox-mark-test')
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir })
    const app = `mark-${schema.name}`.slice(0, 60)
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name, applicationName: app })
    const admin = createPool({ url: schema.databaseUrl, schema: schema.name, max: 1 })
    const sent: string[] = []
    let cut = 0
    // The broker acknowledges; then the relay's transaction (still open, holding the claimed rows) is ended by the
    // server, as a restart does, so the mark that follows fails.
    const publisher = {
      sendRaw: async (_t: string, messages: Array<{ key: string }>) => {
        sent.push(...messages.map((m) => m.key))
        if (messages.some((m) => m.key === 'cut-after-ack') && cut === 0) {
          const { rows } = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where application_name = $1 and state = 'idle in transaction'`, [app])
          for (const r of rows) await admin.query('select pg_terminate_backend($1)', [r.pid])
          cut = rows.length
        }
      },
    }
    const relay = createOutboxRelay({ pool, publisher: publisher as never, logger, intervalMs: 100, maxBackoffMs: 200 })
    try {
      const eventId = randomUUID()
      await withTransaction(pool, async (client) => {
        await enqueueEvent(client, { topic: 'test.outbox', key: 'cut-after-ack', schema: Thing, event: { id: eventId, type: 'thing.changed', data: { thingId: 'cut' } } })
      })
      const row = await waitFor(async () => (await admin.query<{ published_at: Date | null }>('select published_at from outbox where event_id = $1', [eventId])).rows[0]?.published_at ?? undefined,
        { timeoutMs: 20_000, what: 'the event marked published after the cut' })
      expect(row).toBeInstanceOf(Date)
      expect(cut, 'the relay\'s transaction was ended after the acknowledgement').toBe(1)
      expect(relay.stats.failures, 'the mark failed once').toBeGreaterThan(0)
      expect(sent.filter((k) => k === 'cut-after-ack')).toEqual(['cut-after-ack'])
    } finally {
      await relay.stop()
      await pool.end()
      await admin.end()
    }
  }, 60_000)
})
