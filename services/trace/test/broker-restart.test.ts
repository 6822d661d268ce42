import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ApiCallEvent, topics } from '@ponte/contracts'
import { createKafka, createPublisher, ensureTopics } from '@ponte/platform'
import { kafkaScript, testLogger, waitFor } from '@ponte/testkit'
import { createCallStore } from '../src/adapters/pg-call-store.ts'
import { startIngestion, type Ingestion } from '../src/adapters/ingestion.ts'
import { aCall, anEvent, startTrace, type TraceTest } from './support.ts'

// A broker of our own on other ports, so stopping it does not disturb the shared one.
const ports = { KAFKA_PORT: '19392', KAFKA_CONTROLLER_PORT: '19393' }
const kafkaDir = mkdtempSync(join(tmpdir(), 'ponte-trace-kafka-'))
const brokerEnv = { ...ports, KAFKA_DATA_DIR: join(kafkaDir, 'data') }

describe('call store across a broker restart', () => {
  let t: TraceTest | undefined
  let ingestion: Ingestion | undefined
  afterAll(async () => {
    await ingestion?.stop().catch(() => undefined)
    await kafkaScript(['stop', '--kill'], brokerEnv).catch(() => undefined)
    rmSync(kafkaDir, { recursive: true, force: true })
    await t?.close()
  })

  it('stores exactly the calls made before and after the broker was killed and restarted', async () => {
    t = await startTrace('trace_broker')
    const pool = t.pool
    const count = async () => (await pool.query('select count(*)::int as n from calls')).rows[0].n as number
    const { logger } = testLogger('trace-broker')
    await kafkaScript(['start'], brokerEnv)
    await kafkaScript(['wait'], brokerEnv)
    const kafka = createKafka({ brokers: [`127.0.0.1:${ports.KAFKA_PORT}`], clientId: 'trace-broker-test', logger, connectionTimeoutMs: 1_000 })
    await ensureTopics(kafka, [{ topic: topics.apiCall, partitions: 3, compacted: false }, { topic: topics.consent, partitions: 1, compacted: false }])
    const publisher = createPublisher(kafka)
    const send = async (list: ReturnType<typeof anEvent>[]) =>
      publisher.sendRaw(topics.apiCall, list.map((e) => ({ key: e.data.interactionId, value: JSON.stringify(ApiCallEvent.parse(e)) })))
    const events = Array.from({ length: 400 }, () => anEvent(aCall()))
    try {
      // 1. Half the calls arrive and are stored.
      ingestion = await startIngestion({ kafka, groupId: `trace-${randomUUID()}`, store: createCallStore({ pool, retentionMonths: 13 }), logger })
      await ingestion.ready
      await send(events.slice(0, 200))
      await waitFor(async () => (await count()) === 200, { timeoutMs: 60_000, what: 'the first 200 calls' })
      // 2. The broker dies and comes back on the same data; the consumer reconnects by itself.
      await publisher.disconnect()
      await kafkaScript(['stop', '--kill'], brokerEnv)
      await kafkaScript(['start'], brokerEnv)
      await kafkaScript(['wait'], brokerEnv)
      // 3. The other half arrives after the restart.
      await send(events.slice(200))
      await waitFor(async () => (await count()) >= 400, { timeoutMs: 120_000, intervalMs: 500, what: 'all 400 calls after the restart' })
      await new Promise((r) => setTimeout(r, 1_000))
      const ids = await pool.query<{ event_id: string }>('select event_id from calls')
      expect(ids.rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort())
      const sums = await pool.query('select sum(calls)::int as n from endpoint_days')
      expect(sums.rows[0].n).toBe(400)
    } finally {
      await publisher.disconnect().catch(() => undefined)
    }
  }, 300_000)
})
