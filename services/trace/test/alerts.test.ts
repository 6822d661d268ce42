import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AlertEvent } from '@ponte/contracts'
import { createServer, type PonteServer } from '@ponte/platform'
import { listen, testLogger } from '@ponte/testkit'
import { createAlerting, deliverWebhooks, type Alerting } from '../src/adapters/alerting.ts'
import { loadSlaLookup } from '../src/adapters/nfr-sla.ts'
import { aCall, startTrace, stored, type TraceTest } from './support.ts'

const ACCOUNTS = '/open-banking/accounts/v2/accounts'
const ERROR_KEY = `error-share:GET ${ACCOUNTS}`
const LATENCY_KEY = `latency-p95:GET ${ACCOUNTS}`
const AVAILABILITY_KEY = `availability:${ACCOUNTS}`

describe('alerts', () => {
  let t: TraceTest
  let alerting: Alerting
  let hook: PonteServer
  let hookUrl: string
  const received: unknown[] = []
  let hookFailures = 1
  beforeAll(async () => {
    // 03:10Z = 00:10 Brasília: ten minutes of the day elapsed.
    t = await startTrace('trace_alerts', new Date('2026-12-07T03:10:00Z'))
    const { logger } = testLogger('alerts')
    hook = createServer({ logger })
    hook.post('/hook', async (req, reply) => {
      if (hookFailures-- > 0) return reply.code(503).send({})
      received.push(req.body)
      return reply.code(204).send()
    })
    hookUrl = `${await listen(hook)}/hook`
    alerting = createAlerting({
      pool: t.pool, availability: t.availability, logger, slaOf: loadSlaLookup(), outboxSchemas: [t.schema], certificateFiles: [], webhookUrl: hookUrl,
      thresholds: { availabilityTarget: 0.95, windowMinutes: 15, minCalls: 20, errorShare: 0.05, throttleShare: 0.05, overloadShare: 0.005, outboxBacklog: 1_000, consumerLag: 10_000, certificateDays: 30 },
    })
    // 40 calls in minute 03:05: half fail with 503 and a quarter are slower than the endpoint's 4 000 ms SLA.
    await t.store.ingest(Array.from({ length: 40 }, (_, i) => stored(aCall({ receivedAt: `2026-12-07T03:05:${String(i).padStart(2, '0')}.000Z`, status: i % 2 ? 503 : 200, ttfbMs: i % 4 === 0 ? 4_500 : 100 }))), [])
  })
  afterAll(async () => {
    await hook?.close()
    await t?.close()
  })

  it('fires on the 5xx share, the p95 above the SLA tier and the daily availability, then resolves them; each transition is an event and a webhook call', async () => {
    // 1. 03:10: the bad minute is in the window and today's availability is 9/10 minutes.
    const first = await alerting.evaluate(t.clock.now)
    expect(first.fired.sort()).toEqual([AVAILABILITY_KEY, ERROR_KEY, LATENCY_KEY].sort())
    const again = await alerting.evaluate(t.clock.now)
    expect(again).toEqual({ skipped: false, fired: [], resolved: [] })
    const firing = await t.app.inject({ method: 'GET', url: '/internal/alerts?state=firing', headers: await t.asAdmin() })
    expect(firing.json().alerts.map((a: { alertKey: string }) => a.alertKey).sort()).toEqual([AVAILABILITY_KEY, ERROR_KEY, LATENCY_KEY].sort())

    // 2. 03:45: the window holds no call, and availability is back to 34/35 minutes.
    t.clock.now = new Date('2026-12-07T03:45:00Z')
    const later = await alerting.evaluate(t.clock.now)
    expect(later.resolved.sort()).toEqual([AVAILABILITY_KEY, ERROR_KEY, LATENCY_KEY].sort())
    const history = await t.app.inject({ method: 'GET', url: `/internal/alerts/history?alertKey=${encodeURIComponent(ERROR_KEY)}`, headers: await t.asAdmin() })
    expect(history.json().history.map((h: { state: string }) => h.state)).toEqual(['resolved', 'firing'])

    // 3. Six events in the outbox, valid against the contract, in order.
    const outbox = await t.pool.query<{ payload: unknown; topic: string }>('select topic, payload from outbox order by seq')
    const events = outbox.rows.map((r) => AlertEvent.parse(r.payload))
    expect(outbox.rows.every((r) => r.topic === 'ponte.alert.v1')).toBe(true)
    expect(events.map((e) => e.type)).toEqual(['alert.firing', 'alert.firing', 'alert.firing', 'alert.resolved', 'alert.resolved', 'alert.resolved'])

    // 4. The webhook refuses the first delivery; the others go through, and the refused one is retried after its backoff.
    expect(await deliverWebhooks({ pool: t.pool, url: hookUrl, timeoutMs: 2_000, maxAttempts: 5, now: t.clock.now })).toBe(5)
    expect(await deliverWebhooks({ pool: t.pool, url: hookUrl, timeoutMs: 2_000, maxAttempts: 5, now: t.clock.now })).toBe(0)
    expect(await deliverWebhooks({ pool: t.pool, url: hookUrl, timeoutMs: 2_000, maxAttempts: 5, now: new Date(t.clock.now.getTime() + 5_000) })).toBe(1)
    expect(received.map((e) => (e as AlertEvent).id).sort()).toEqual(events.map((e) => e.id).sort())
  })
})
