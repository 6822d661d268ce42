import { policyIdOf } from '@ponte/contracts'
import { metricsRegistry } from '@ponte/platform'
import { testLogger } from '@ponte/testkit'
import { createCallEvents } from '../src/adapters/call-events.ts'
import { createLimiter } from '../src/adapters/limiter.ts'
import { registerGatewayMetrics } from '../src/adapters/gateway-metrics.ts'
import { createLimitsRedis } from '../src/adapters/redis-client.ts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startWorld, type World } from './harness.ts'

const DETAIL = 'GET /open-banking/accounts/v2/accounts/{accountId}'

let w: World
beforeAll(async () => { w = await startWorld() })
afterAll(async () => { await w?.close() })

/** The process metrics as `name{labels}` → value. */
async function metrics(): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const line of (await metricsRegistry.metrics()).split('\n')) {
    if (!line || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

describe('the gateway in /metrics', () => {
  test('latency per route template, cache hits and misses, limiter decisions', async () => {
    const g = await w.startGateway({ GATEWAY_INSTANCE_ID: 'metrics' })
    const a = await w.tpp('metered')
    g.policies.load([{ policyId: policyIdOf({ kind: 'tpm', scope: 'override', organisationId: a.orgId, endpoint: DETAIL }), kind: 'tpm', endpoint: DETAIL, organisationId: a.orgId, limit: 2, enabled: true, updatedAt: new Date().toISOString() }])
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    const statuses: number[] = []
    for (const id of ['acc-1', 'acc-1', 'acc-1']) statuses.push((await w.call(`${g.url}/open-banking/accounts/v2/accounts/${id}`, { agent: a.agent, token: t })).status)
    expect(statuses).toEqual([200, 200, 429])

    const m = await metrics()
    const route = '/open-banking/accounts/v2/accounts/:accountId'
    // The stand-in connectors runs in this process with the same route template: 2 answers of its own, 2 of the gateway.
    expect(m.get(`ponte_http_request_duration_seconds_count{route="${route}",method="GET",status="200"}`)).toBe(4)
    expect(m.get(`ponte_http_request_duration_seconds_count{route="${route}",method="GET",status="429"}`)).toBe(1)
    expect([...m.keys()].some((k) => k.includes('acc-1'))).toBe(false)
    // The first call verifies the token and reads the consent (misses); the next two find both cached.
    expect(m.get('ponte_gateway_cache_lookups_total{cache="token",outcome="miss"}')).toBe(1)
    expect(m.get('ponte_gateway_cache_lookups_total{cache="token",outcome="hit"}')).toBe(2)
    expect(m.get('ponte_gateway_cache_lookups_total{cache="consent",outcome="hit"}')).toBe(2)
    expect(m.get('ponte_gateway_cache_lookups_total{cache="organisation",outcome="hit"}')! + m.get('ponte_gateway_cache_lookups_total{cache="organisation",outcome="miss"}')!).toBe(3)
    expect(m.get('ponte_gateway_limiter_decisions_total{decision="allowed",status=""}')).toBe(2)
    expect(m.get('ponte_gateway_limiter_decisions_total{decision="refused_tpm",status="429"}')).toBe(1)
    expect(m.get('ponte_gateway_limiter_decisions_total{decision="refused_tps",status="529"}')).toBe(0)
    expect(m.get('ponte_gateway_limiter_decisions_total{decision="redis_down_pass",status=""}')).toBe(0)
    // The gateway's consumer groups report their lag.
    expect([...m.keys()].some((k) => k.startsWith('ponte_kafka_consumer_lag{group="gateway-consents-metrics-'))).toBe(true)
  })

  test('limiter decisions taken while Redis is down: passes (allow) and refusals (deny)', async () => {
    // Nothing listens on port 1: every script call fails as it does when Redis is down.
    const { logger } = testLogger('gateway-metrics-redis-down')
    const call = { plan: { tps: 10, tpm: 10, monthly: 0 }, origin: 'org-x', endpoint: 'GET /x', organisationId: 'org-x', nowMs: Date.now() }
    const allowRedis = createLimitsRedis('redis://127.0.0.1:1', 200, logger)
    const denyRedis = createLimitsRedis('redis://127.0.0.1:1', 200, logger)
    const allow = createLimiter({ redis: allowRedis, logger, onRedisDown: 'allow' })
    const deny = createLimiter({ redis: denyRedis, logger, onRedisDown: 'deny' })
    const none = { stats: { hits: 0, misses: 0 } }
    const events = { stats: { recorded: 0, published: 0, dropped: 0, sendFailures: 0, buffered: 0 } }
    const unregister = [registerGatewayMetrics({ tokens: none, consents: none, organisations: none, limiter: allow, events }), registerGatewayMetrics({ tokens: none, consents: none, organisations: none, limiter: deny, events })]
    const before = await metrics()
    const at = (m: Map<string, number>, k: string) => m.get(k) ?? 0
    try {
      expect(await allow.check(call)).toMatchObject({ ok: true, degraded: true })
      expect(await allow.check(call)).toMatchObject({ ok: true, degraded: true })
      expect(await deny.check(call)).toEqual({ ok: false, kind: 'unavailable' })
      const after = await metrics()
      const pass = 'ponte_gateway_limiter_decisions_total{decision="redis_down_pass",status=""}'
      const refused = 'ponte_gateway_limiter_decisions_total{decision="refused_redis_down",status="503"}'
      expect(at(after, pass) - at(before, pass)).toBe(2)
      expect(at(after, refused) - at(before, refused)).toBe(1)
      expect(at(after, 'ponte_gateway_limiter_redis_failures_total') - at(before, 'ponte_gateway_limiter_redis_failures_total')).toBe(3)
    } finally {
      for (const u of unregister) u()
      allowRedis.disconnect()
      denyRedis.disconnect()
    }
  })

  test('api-call events while Kafka is away: buffered, then dropped past the buffer, every one counted', async () => {
    const { logger } = testLogger('gateway-metrics-events')
    const none = { stats: { hits: 0, misses: 0 } }
    const limiter = createLimiter({ redis: createLimitsRedis('redis://127.0.0.1:1', 200, logger), logger, onRedisDown: 'allow' })
    let up = false
    const events = createCallEvents({ publisher: { sendRaw: async () => { if (!up) throw new Error('broker unreachable') } }, logger, maxBuffered: 3, batchSize: 100, flushIntervalMs: 60_000 })
    const unregister = registerGatewayMetrics({ tokens: none, consents: none, organisations: none, limiter, events })
    const before = await metrics()
    const delta = (m: Map<string, number>, k: string) => (m.get(k) ?? 0) - (before.get(k) ?? 0)
    const data = { interactionId: '0b6c4f3e-8a6f-4c83-9d39-6f0a7f7f6c11', endpoint: '/open-banking/accounts/v2/accounts', method: 'GET' as const, status: 200, ttfbMs: 1, receivedAt: '2026-01-01T00:00:00.123Z', requestBytes: 0, responseBytes: 10 }
    try {
      for (let i = 0; i < 5; i++) events.record(data)
      await events.flush()
      const down = await metrics()
      expect(delta(down, 'ponte_gateway_api_call_events_total{outcome="recorded"}')).toBe(5)
      expect(delta(down, 'ponte_gateway_api_call_events_total{outcome="dropped"}')).toBe(2)
      expect(delta(down, 'ponte_gateway_api_call_events_total{outcome="published"}')).toBe(0)
      expect(down.get('ponte_gateway_api_call_events_buffered')).toBe(3)
      expect(delta(down, 'ponte_gateway_api_call_event_send_failures_total')).toBe(1)
      up = true
      await events.flush()
      const back = await metrics()
      expect(delta(back, 'ponte_gateway_api_call_events_total{outcome="published"}')).toBe(3)
      expect(back.get('ponte_gateway_api_call_events_buffered')).toBe(0)
    } finally {
      unregister()
      await events.close()
    }
  })
})
