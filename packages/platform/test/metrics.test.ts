import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  createKafka, createOutboxRelay, createPool, createPublisher, createServer, enqueueEvent, ensureTopics, migrate,
  startMetricsListener, subscribe, withTransaction, type MetricsListener,
} from '@ponte/platform'
import { deleteTopics, testInfra, testLogger, testSchema, waitFor } from '@ponte/testkit'

const Thing = z.object({ id: z.uuid(), type: z.literal('thing.changed'), data: z.object({ thingId: z.string() }) })
const dir = fileURLToPath(new URL('./fixtures/migrations', import.meta.url))

/** Parses Prometheus text into `name{labels}` → value (labels as written, in order). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

async function scrape(listener: MetricsListener): Promise<Map<string, number>> {
  const res = await fetch(`${listener.address}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parse(await res.text())
}

describe('Prometheus metrics of a service process', () => {
  const { logger } = testLogger('metrics-test')
  let listener: MetricsListener
  const schema = testSchema('platform_metrics')
  const topic = `test.metrics.${schema.name}`

  afterAll(async () => {
    await listener?.close()
    await schema.drop()
    await deleteTopics([topic]).catch(() => undefined)
  })

  it('serves only GET /metrics, on its own listener', async () => {
    listener = await startMetricsListener({ host: '127.0.0.1', port: 0, logger })
    expect((await fetch(`${listener.address}/other`)).status).toBe(404)
    expect((await fetch(`${listener.address}/metrics`, { method: 'POST' })).status).toBe(405)
    const m = await scrape(listener)
    // Node's process metrics come with it.
    expect([...m.keys()].some((k) => k.startsWith('nodejs_eventloop_lag_seconds'))).toBe(true)
  })

  it('observes latency per route template, method and status; unmatched paths apart; probes left out', async () => {
    const app = createServer({ logger })
    app.get('/things/:thingId', async (req, reply) => reply.code((req.params as { thingId: string }).thingId === 'gone' ? 410 : 200).send({ ok: true }))
    await app.ready()
    const before = await scrape(listener)
    const key = (route: string, method: string, status: string, suffix = '_count') => `ponte_http_request_duration_seconds${suffix}{route="${route}",method="${method}",status="${status}"}`
    const base = (k: string) => before.get(k) ?? 0
    for (const id of ['a1', 'b2', 'c3']) await app.inject({ method: 'GET', url: `/things/${id}` })
    await app.inject({ method: 'GET', url: '/things/gone' })
    await app.inject({ method: 'GET', url: '/nowhere/123' })
    await app.inject({ method: 'GET', url: '/healthz' })
    const after = await scrape(listener)
    expect(after.get(key('/things/:thingId', 'GET', '200'))! - base(key('/things/:thingId', 'GET', '200'))).toBe(3)
    expect(after.get(key('/things/:thingId', 'GET', '410'))! - base(key('/things/:thingId', 'GET', '410'))).toBe(1)
    expect(after.get(key('(unmatched)', 'GET', '404'))! - base(key('(unmatched)', 'GET', '404'))).toBe(1)
    // Buckets are cumulative and end with +Inf = count.
    expect(after.get(`ponte_http_request_duration_seconds_bucket{route="/things/:thingId",method="GET",status="200",le="+Inf"}`)).toBe(after.get(key('/things/:thingId', 'GET', '200')))
    const keys = [...after.keys()]
    expect(keys.some((k) => k.includes('/things/a1') || k.includes('/nowhere/123'))).toBe(false)
    expect(keys.some((k) => k.includes('route="/healthz"'))).toBe(false)
    await app.close()
  })

  it('reports the outbox backlog and the consumer lag and counts of a real relay and consumer group', async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir })
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name })
    const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'metrics-test', logger })
    await ensureTopics(kafka, [{ topic, partitions: 1, compacted: false }])
    const publisher = createPublisher(kafka)
    const ids = [randomUUID(), randomUUID(), randomUUID()]
    for (const id of ids) {
      await withTransaction(pool, (client) => enqueueEvent(client, { topic, key: id, schema: Thing, event: { id, type: 'thing.changed', data: { thingId: id } } }))
    }
    const backlog = `ponte_outbox_backlog_events{schema="${schema.name}"}`
    // No relay yet: nothing reports the backlog.
    expect((await scrape(listener)).has(backlog)).toBe(false)
    // Kafka unreachable (nothing listens on port 1): the events wait in the outbox and show as backlog.
    const deadKafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'metrics-test-dead', logger, connectionTimeoutMs: 200 })
    const deadPublisher = createPublisher(deadKafka)
    const stuck = createOutboxRelay({ pool, publisher: deadPublisher, logger, intervalMs: 100, maxBackoffMs: 200 })
    await waitFor(() => stuck.stats.failures > 0, { timeoutMs: 60_000, what: 'a failed relay attempt' })
    const m = await scrape(listener)
    expect(m.get(backlog)).toBe(3)
    expect(m.get(`ponte_outbox_oldest_pending_age_seconds{schema="${schema.name}"}`)).toBeGreaterThan(0)
    expect(m.get(`ponte_outbox_publish_failures_total{schema="${schema.name}"}`)).toBeGreaterThan(0)
    await stuck.stop()
    const relay = createOutboxRelay({ pool, publisher, logger, intervalMs: 60_000 })
    const seen: string[] = []
    const groupId = `metrics-${randomUUID()}`
    // The handler holds the first event until released: meanwhile the group is behind by all three.
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => { release = resolve })
    const sub = await subscribe({ kafka, groupId, topic, schema: Thing, logger, fromBeginning: true, handler: async (e) => { await gate; seen.push(e.id) } })
    const lag = `ponte_kafka_consumer_lag{group="${groupId}",topic="${topic}",partition="0"}`
    try {
      await waitFor(async () => (await scrape(listener)).get(backlog) === 0, { timeoutMs: 30_000, what: 'an empty outbox backlog' })
      const m0 = await scrape(listener)
      expect(m0.get(`ponte_outbox_published_total{schema="${schema.name}"}`)).toBe(3)
      expect(m0.get(`ponte_outbox_oldest_pending_age_seconds{schema="${schema.name}"}`)).toBe(0)
      expect((await scrape(listener)).get(lag)).toBe(3)
      release()
      await waitFor(() => seen.length === 3, { timeoutMs: 60_000, what: 'the three events at the consumer' })
      await waitFor(async () => (await scrape(listener)).get(`ponte_kafka_consumed_total{group="${groupId}",topic="${topic}",outcome="handled"}`) === 3,
        { timeoutMs: 10_000, what: 'the consumed counter' })
      await waitFor(async () => (await scrape(listener)).get(lag) === 0, { timeoutMs: 20_000, what: 'the lag back to 0 once committed' })
    } finally {
      await sub.stop()
      await relay.stop()
      await publisher.disconnect().catch(() => undefined)
      await deadPublisher.disconnect().catch(() => undefined)
      await pool.end()
    }
    // Stopped components leave the metrics.
    const m2 = await scrape(listener)
    expect([...m2.keys()].some((k) => k.includes(groupId) || k.includes(`schema="${schema.name}"`))).toBe(false)
  }, 120_000)
})
