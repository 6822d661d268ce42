import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { ApiCallEvent } from '@ponte/contracts'
import { createKafka, createLogger, createPool, createPublisher, ensureTopics, migrate } from '@ponte/platform'
import { deleteTopics, testInfra, testSchema } from '@ponte/testkit'
import { createCallStore } from '../../services/trace/src/adapters/pg-call-store.ts'
import { startIngestion } from '../../services/trace/src/adapters/ingestion.ts'
import { load, startChild, type BenchResult, type BenchRow } from '../lib.ts'

const EVENTS = Number(process.env.BENCH_TRACE_EVENTS ?? 60_000)

/** Ingestion: EVENTS api-call events already on a 3-partition topic, consumed and stored (raw + rollups) by a fresh group. */
async function ingestion(): Promise<{ row: BenchRow; note: string }> {
  const logger = createLogger({ service: 'bench', level: 'silent' })
  const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'bench-trace', logger })
  const topic = `bench.api-call.${randomUUID().slice(0, 8)}`
  const names = { apiCall: topic, consent: `${topic}.consent`, payment: `${topic}.payment`, audit: `${topic}.audit` }
  const schema = testSchema('bench_trace_ingest')
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: fileURLToPath(new URL('../../services/trace/migrations', import.meta.url)) })
  const pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 10 })
  const publisher = createPublisher(kafka)
  try {
    await ensureTopics(kafka, [{ topic, partitions: 3, compacted: false }, { topic: names.consent, partitions: 1, compacted: false }])
    const endpoints = ['/open-banking/accounts/v2/accounts', '/open-banking/accounts/v2/accounts/{accountId}/balances', '/open-banking/consents/v3/consents/{consentId}']
    for (let i = 0; i < EVENTS; i += 2_000) {
      const batch = Array.from({ length: Math.min(2_000, EVENTS - i) }, (_, j) => {
        const n = i + j
        const data = { interactionId: randomUUID(), organisationId: `org-${n % 20}`, clientId: `client-${n % 50}`, endpoint: endpoints[n % 3]!, method: 'GET' as const,
          status: n % 50 === 0 ? 500 : 200, ttfbMs: 5 + (n % 40), receivedAt: new Date(Date.now() - (EVENTS - n) * 10).toISOString(), requestBytes: 0, responseBytes: 900 }
        return ApiCallEvent.parse({ id: randomUUID(), source: 'gateway', occurredAt: data.receivedAt, version: 1, interactionId: data.interactionId, type: 'api.call', data })
      })
      await publisher.sendRaw(topic, batch.map((e) => ({ key: e.data.interactionId, value: JSON.stringify(e) })))
    }
    const started = performance.now()
    const ing = await startIngestion({ kafka, groupId: `bench-${randomUUID()}`, store: createCallStore({ pool, retentionMonths: 13 }), logger, topics: names })
    for (;;) {
      if (ing.stats.stored >= EVENTS) break
      if (performance.now() - started > 300_000) throw new Error(`ingestion stored ${ing.stats.stored} of ${EVENTS} in 300 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const seconds = (performance.now() - started) / 1_000
    const rate = Math.round(EVENTS / seconds)
    await ing.stop()
    return {
      row: { case: `ingestion, ${EVENTS} events from a 3-partition topic (events/s)`, requestsPerSecond: rate, p50: 0, p99: 0 },
      note: `ingestion: ${EVENTS} events stored with their rollups in ${seconds.toFixed(1)} s (${rate} events/s, ${ing.stats.batches} batches, from joining the group to the last commit)`,
    }
  } finally {
    await publisher.disconnect().catch(() => undefined)
    await deleteTopics([topic, names.consent])
    await pool.end()
    await schema.drop()
  }
}

/**
 * Trace: ingestion throughput, and the regulator's admin metrics and the call search by interaction id over a large
 * call store (bench/servers/trace.ts seeds it once).
 */
export async function run(): Promise<BenchResult> {
  const ing = await ingestion()
  const server = await startChild('trace.ts', { startTimeoutMs: 3_600_000 })
  try {
    const { port, interactionId, token, calls } = server.info as { port: number; interactionId: string; token: string; calls: number }
    const base = `http://127.0.0.1:${port}`
    await load('warm-up', { url: `${base}/open-banking/admin/v2/metrics?period=ALL`, durationSeconds: 2, connections: 4 })
    const metricsUrl = `${base}/open-banking/admin/v2/metrics?period=ALL&page-size=1000`
    const metricsOne = await load('GET /open-banking/admin/v2/metrics?period=ALL, 1 connection (a poller)', { url: metricsUrl, connections: 1, durationSeconds: 8 })
    const metrics = await load('GET /open-banking/admin/v2/metrics?period=ALL, 10 connections', { url: metricsUrl, connections: 10, durationSeconds: 8 })
    const headers = { 'x-ponte-service-token': token }
    const search = await load('GET /internal/calls?interactionId=…, 10 connections', { url: `${base}/internal/calls?interactionId=${interactionId}`, headers, connections: 10, durationSeconds: 8 })
    return {
      title: 'trace: call ingestion, admin metrics and call search',
      description: `Ingestion: a fresh consumer group stores api-call events already on the topic (raw row + per-minute, per-second and per-day rollups, one transaction per Kafka batch) in the harness process. ` +
        `Metrics and search: the trace app in its own process over ${calls} stored calls spread over 8 days (seeded with generate_series; rollups derived in SQL). ` +
        'The admin metrics read only the rollups; the search reads the interaction-id index of every daily partition.',
      rows: [ing.row, metricsOne, metrics, search],
      notes: [ing.note, 'targets: ingestion above the gateway\'s own peak on this machine (~3 000 req/s); admin metrics p99 under 200 ms'],
    }
  } finally {
    await server.stop()
  }
}
