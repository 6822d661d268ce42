import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConsentEvent, topics } from '@ponte/contracts'
import { createKafka, createOutboxRelay, createPublisher, ensureTopics, subscribe } from '@ponte/platform'
import { kafkaScript, testLogger, waitFor } from '@ponte/testkit'
import { startConsentApp, type TestConsentApp } from './helpers.ts'

// A broker of our own on other ports, so stopping it does not disturb the shared one.
const ports = { KAFKA_PORT: '19292', KAFKA_CONTROLLER_PORT: '19293' }
const kafkaDir = mkdtempSync(join(tmpdir(), 'ponte-consent-kafka-'))
const brokerEnv = { ...ports, KAFKA_DATA_DIR: join(kafkaDir, 'data') }

describe('consent events across a Kafka outage', () => {
  let t: TestConsentApp | undefined
  afterAll(async () => {
    await kafkaScript(['stop', '--kill'], brokerEnv).catch(() => undefined)
    rmSync(kafkaDir, { recursive: true, force: true })
    await t?.close()
  })

  it('delivers every transition committed while the broker was down, once, in order, after it comes back', async () => {
    t = await startConsentApp({ prefix: 'consent_outbox' })
    const { logger } = testLogger('consent-outbox')
    const kafka = createKafka({ brokers: [`127.0.0.1:${ports.KAFKA_PORT}`], clientId: 'consent-outbox-test', logger, connectionTimeoutMs: 1_000 })
    const publisher = createPublisher(kafka)
    const relay = createOutboxRelay({ pool: t.pool, publisher, logger, intervalMs: 100, maxBackoffMs: 500 })
    try {
      // 1. Broker down: the API keeps working; create, authorise and revoke commit their events to the outbox.
      const id = await t.create()
      expect((await t.authorise(id)).statusCode).toBe(200)
      const del = await t.app.inject({ method: 'DELETE', url: `/open-banking/consents/v3/consents/${id}`, headers: await t.tpp() })
      expect(del.statusCode).toBe(204)
      // 2. A refused transition leaves no event behind.
      expect((await t.authorise(id)).statusCode).toBe(422)
      await waitFor(() => relay.stats.failures > 0, { timeoutMs: 20_000, what: 'a failed relay attempt' })
      const pending = await t.pool.query<{ event_id: string }>('select event_id from outbox where published_at is null order by seq')
      expect(pending.rows).toHaveLength(3)

      // 3. The broker comes back; a consumer reads the topic from the start.
      await kafkaScript(['start'], brokerEnv)
      await kafkaScript(['wait'], brokerEnv)
      await ensureTopics(kafka, [{ topic: topics.consent, partitions: 3, compacted: false }])
      const seen: ConsentEvent[] = []
      const sub = await subscribe({ kafka, groupId: `g-${randomUUID()}`, topic: topics.consent, schema: ConsentEvent, logger, fromBeginning: true,
        handler: async (event) => { seen.push(event) } })
      try {
        // 4. Every event arrives once, in the order of the transitions (same key, same partition).
        await waitFor(() => seen.length >= 3, { timeoutMs: 60_000, what: 'the consent events at the consumer' })
        await relay.flush()
        await new Promise((r) => setTimeout(r, 1_000))
        expect(seen.map((e) => e.id)).toEqual(pending.rows.map((r) => r.event_id))
        expect(seen.map((e) => e.type)).toEqual(['consent.created', 'consent.authorised', 'consent.rejected'])
        expect(seen.every((e) => e.data.consentId === id)).toBe(true)
        const left = await t.pool.query('select count(*)::int as n from outbox where published_at is null')
        expect(left.rows[0].n).toBe(0)
      } finally {
        await sub.stop()
      }
    } finally {
      await relay.stop()
      await publisher.disconnect().catch(() => undefined)
    }
  }, 180_000)
})
