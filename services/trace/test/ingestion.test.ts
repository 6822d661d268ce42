import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConsentEvent } from '@ponte/contracts';
import { ApiCallEvent } from '@ponte/contracts'
import { createKafka, createPublisher, ensureTopics } from '@ponte/platform'
import { deleteTopics, testInfra, testLogger, waitFor } from '@ponte/testkit'
import { createCallStore, type CallStore } from '../src/adapters/pg-call-store.ts'
import { startIngestion } from '../src/adapters/ingestion.ts'
import { aCall, anEvent, startTrace, type TraceTest } from './support.ts'

const suffix = randomUUID().slice(0, 8)
const names = { apiCall: `test.api-call.${suffix}`, consent: `test.consent.${suffix}`, payment: `test.payment.${suffix}`, audit: `test.audit.${suffix}` }

describe('ingestion from Kafka', () => {
  let t: TraceTest
  const { logger } = testLogger('trace-ingestion')
  const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'trace-ingestion-test', logger })
  const publisher = createPublisher(kafka)
  beforeAll(async () => {
    t = await startTrace('trace_ingest')
    await ensureTopics(kafka, [{ topic: names.apiCall, partitions: 3, compacted: false }, { topic: names.consent, partitions: 1, compacted: false }])
  })
  afterAll(async () => {
    await publisher.disconnect().catch(() => undefined)
    await deleteTopics(Object.values(names))
    await t?.close()
  })

  it('stores every call once across a restart in the middle of a batch, and keeps consent transitions', async () => {
    const groupId = `trace-test-${suffix}`
    const events = Array.from({ length: 600 }, (_, i) => anEvent(aCall({ status: i % 10 === 0 ? 503 : 200, consentId: i < 3 ? 'urn:bank:c1' : undefined })))
    const sendAll = async (list: typeof events) => {
      for (let i = 0; i < list.length; i += 100)
        await publisher.sendRaw(names.apiCall, list.slice(i, i + 100).map((e) => ({ key: e.data.interactionId, value: JSON.stringify(ApiCallEvent.parse(e)) })))
    }
    // 1. A store that commits its first batch and then "dies" before the offsets are committed.
    const real = createCallStore({ pool: t.pool, retentionMonths: 13 })
    let crashed = false
    const crashing: CallStore = {
      async ingest(calls, stories) {
        const r = await real.ingest(calls, stories)
        if (!crashed && calls.length > 0) { crashed = true; throw new Error('process killed after the commit') }
        return r
      },
    }
    await sendAll(events.slice(0, 300))
    // A malformed message is skipped and counted, never stops the consumer.
    await publisher.sendRaw(names.apiCall, [{ key: 'x', value: '{"not":"an event"}' }])
    const consent: ConsentEvent = { id: randomUUID(), source: 'consent', occurredAt: new Date().toISOString(), version: 1, type: 'consent.authorised',
      interactionId: events[0]!.data.interactionId, data: { consentId: 'urn:bank:c1', kind: 'data', clientId: 'client-1', resourceIds: ['r1'] } }
    await publisher.sendRaw(names.consent, [{ key: 'urn:bank:c1', value: JSON.stringify(consent) }])
    const first = await startIngestion({ kafka, groupId, store: crashing, logger, topics: names })
    await first.ready
    await waitFor(async () => (await t.pool.query('select count(*)::int as n from calls')).rows[0].n >= 300, { timeoutMs: 60_000, what: 'the first 300 calls' })
    // 2. The process stops (restart); more calls arrive meanwhile; a new process with the same group resumes.
    await first.stop()
    expect(crashed).toBe(true)
    await sendAll(events.slice(300))
    const second = await startIngestion({ kafka, groupId, store: real, logger, topics: names })
    await waitFor(async () => (await t.pool.query('select count(*)::int as n from calls')).rows[0].n >= 600, { timeoutMs: 60_000, what: 'all 600 calls' })
    await waitFor(async () => (await second.lag()) === 0, { timeoutMs: 30_000, what: 'zero consumer lag' })
    // 3. None lost, none doubled: the stored ids are exactly the ids sent, and the rollups count each once.
    const ids = await t.pool.query<{ event_id: string }>('select event_id from calls')
    expect(ids.rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort())
    const sums = await t.pool.query('select (select sum(calls)::int from call_minutes) as minutes, (select sum(calls)::int from endpoint_days) as days, (select sum(failed)::int from endpoint_minutes) as failed')
    expect(sums.rows[0]).toEqual({ minutes: 600, days: 600, failed: 60 })
    const story = await t.pool.query('select type, consent_id from story_events')
    expect(story.rows).toEqual([{ type: 'consent.authorised', consent_id: 'urn:bank:c1' }])
    // Skipped and counted once per delivery: when it shared the batch the first process died in, it came again.
    expect(first.stats.malformed + second.stats.malformed).toBeGreaterThanOrEqual(1)
    expect(first.stats.malformed + second.stats.malformed).toBeLessThanOrEqual(2)
    await second.stop()
  }, 180_000)
})
