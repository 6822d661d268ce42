import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TrafficPolicyEvent, indexPolicies, minuteBucket, resolveLimit, trafficKeys, type TrafficPolicy } from '@ponte/contracts'
import {
  SERVICE_TOKEN_HEADER, createKafka, createOutboxRelay, createPool, createPublisher, createRedis, ensureTopics, migrate, subscribe,
  type OutboxRelay, type Pool, type PonteServer, type Subscription,
} from '@ponte/platform'
import { testInfra, testLogger, testSchema, testServiceAuth, waitFor } from '@ponte/testkit'
import { buildApp } from '../src/app.ts'
import { loadCatalogue } from '../src/adapters/catalogue-file.ts'
import { syncPolicyTopic } from '../src/adapters/policy-topic-sync.ts'
import { createUsageReader } from '../src/adapters/usage-reader.ts'
import { indexCatalogue } from '../src/domain/policy-rules.ts'
import { createPolicyService, type PolicyService } from '../src/adapters/policy-service.ts'

const LIST = 'GET /open-banking/accounts/v2/accounts'
const BALANCES = 'GET /open-banking/accounts/v2/accounts/{accountId}/balances'
const BRANCHES = 'GET /open-banking/channels/v2/branches'
const CONSENTS = 'POST /open-banking/consents/v3/consents'

// Everything this file publishes goes to topics of its own, so other tests reading ponte.traffic-policy.v1 never see it.
const topic = `test.traffic-policy.${randomBytes(6).toString('hex')}`
const schema = testSchema('traffic_policies')
const infra = testInfra()
const { logger } = testLogger('traffic-test')
const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'traffic-test', logger })
const publisher = createPublisher(kafka)
const redis = createRedis(infra.redisUrl, logger)
const auth = testServiceAuth()
const catalogue = loadCatalogue()
const ORG = randomUUID()
let pool: Pool
let relay: OutboxRelay
let policies: PolicyService
let app: PonteServer
let events: Subscription
const seen: TrafficPolicyEvent[] = []

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, actor: string | null = 'ana.souza@bank.example') {
  const headers: Record<string, string> = { [SERVICE_TOKEN_HEADER]: await auth.issuer('admin').sign('traffic') }
  if (actor) headers['x-ponte-actor'] = actor
  return app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) })
}
const policyUrl = (id: string) => `/internal/policies/${encodeURIComponent(id)}`
const outboxPending = async () => (await pool.query('select count(*)::int as n from outbox where published_at is null')).rows[0].n as number

beforeAll(async () => {
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: fileURLToPath(new URL('../migrations', import.meta.url)) })
  pool = createPool({ url: schema.databaseUrl, schema: schema.name })
  await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }])
  policies = createPolicyService({ pool, catalogue: indexCatalogue(catalogue), topic })
  await policies.seedDefaults()
  relay = createOutboxRelay({ pool, publisher, logger, intervalMs: 100 })
  events = await subscribe({ kafka, groupId: `traffic-test-${randomUUID()}`, topic, schema: TrafficPolicyEvent, logger, fromBeginning: true, handler: async (e) => { seen.push(e) } })
  app = buildApp({ server: { logger }, serviceAuth: auth.verifier('traffic'), policies, catalogue, usage: createUsageReader(redis) })
  await app.ready()
}, 120_000)

afterAll(async () => {
  await app?.close()
  await events?.stop()
  await relay?.stop()
  await publisher.disconnect().catch(() => undefined)
  await pool?.end()
  redis.disconnect()
  const admin = kafka.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: [topic, `${topic}.fresh`] }).catch(() => undefined)
  await admin.disconnect()
  await schema.drop()
})

describe('policies', () => {
  it('seeds the NFR defaults once and lists the full set to a service caller only', async () => {
    expect(await policies.seedDefaults()).toEqual({ created: 0, updated: 0, deleted: 0 })
    const unauthenticated = await app.inject({ method: 'GET', url: '/internal/policies' })
    expect(unauthenticated.statusCode).toBe(401)
    const res = await call('GET', '/internal/policies')
    expect(res.statusCode).toBe(200)
    const body = res.json() as { policies: Array<TrafficPolicy & { floor: number; level: string }>; total: number }
    const monthly = catalogue.filter((c) => c.monthlyFloor !== null).length
    expect(body.total).toBe(1 + catalogue.length + monthly)
    const byId = new Map(body.policies.map((p) => [p.policyId, p]))
    expect(byId.get(`tpm|default|*|${BALANCES}`)).toMatchObject({ limit: 2500, enabled: true, floor: 2500, level: 'default' })
    expect(byId.get(`monthly|default|*|${BALANCES}`)).toMatchObject({ limit: 420, enabled: false })
    expect(byId.get('global-tps|default|*|*')).toMatchObject({ limit: 300, enabled: true })
    expect([...byId.keys()].some((id) => id.includes('/consents/'))).toBe(false)
  })

  it('refuses a limit below the regulatory floor with 422 and writes nothing', async () => {
    const before = (await pool.query('select count(*)::int as n from outbox')).rows[0].n
    const low = await call('POST', '/internal/overrides', { kind: 'tpm', endpoint: LIST, organisationId: ORG, limit: 999 })
    expect(low.statusCode).toBe(422)
    expect(low.json().errors[0].code).toBe('LIMIT_BELOW_FLOOR')
    expect(low.json().errors[0].detail).toContain('floor of 1000')
    const orgWide = await call('POST', '/internal/overrides', { kind: 'tpm', organisationId: ORG, limit: 2000 })
    expect([orgWide.statusCode, orgWide.json().errors[0].code]).toEqual([422, 'LIMIT_BELOW_FLOOR'])
    const capacity = await call('POST', '/internal/overrides', { kind: 'global-tps', limit: 299 })
    expect([capacity.statusCode, capacity.json().errors[0].code]).toEqual([422, 'LIMIT_BELOW_FLOOR'])
    const exempt = await call('POST', '/internal/overrides', { kind: 'tpm', endpoint: CONSENTS, limit: 5000 })
    expect([exempt.statusCode, exempt.json().errors[0].code]).toEqual([422, 'ENDPOINT_NOT_LIMITED'])
    const noActor = await call('POST', '/internal/overrides', { kind: 'tpm', endpoint: LIST, limit: 5000 }, null)
    expect(noActor.statusCode).toBe(400)
    expect((await pool.query('select count(*)::int as n from outbox')).rows[0].n).toBe(before)
    expect((await pool.query("select count(*)::int as n from policies where scope = 'override'")).rows[0].n).toBe(0)
  })

  it('writes each change with its event through the outbox to the topic, with history', async () => {
    await events.ready
    // 1. Create an organisation+endpoint override.
    const created = await call('POST', '/internal/overrides', { kind: 'tpm', endpoint: LIST, organisationId: ORG, limit: 3000 })
    expect(created.statusCode).toBe(201)
    const policy = created.json().policy as TrafficPolicy & { level: string }
    expect(policy).toMatchObject({ policyId: `tpm|override|${ORG}|${LIST}`, limit: 3000, enabled: true, level: 'organisation-endpoint', updatedBy: 'ana.souza@bank.example' })
    // 2. The same write again changes nothing and emits nothing.
    const again = await call('POST', '/internal/overrides', { kind: 'tpm', endpoint: LIST, organisationId: ORG, limit: 3000 })
    expect([again.statusCode, again.json().created]).toEqual([200, false])
    // 3. Disable it, then delete it.
    const off = await call('PATCH', policyUrl(policy.policyId), { enabled: false })
    expect([off.statusCode, off.json().enabled]).toEqual([200, false])
    expect((await call('DELETE', policyUrl(policy.policyId))).statusCode).toBe(204)
    expect((await call('GET', policyUrl(policy.policyId))).statusCode).toBe(404)
    // 4. The topic got upserted (on), upserted (off), deleted, in that order.
    const mine = () => seen.filter((e) => (e.type === 'traffic.policy.deleted' ? e.data.policyId : e.data.policyId) === policy.policyId)
    await waitFor(() => mine().length >= 3, { timeoutMs: 30_000, what: 'three policy events on the topic' })
    const [first, second, third] = mine()
    expect(first).toMatchObject({ type: 'traffic.policy.upserted', source: 'traffic', data: { policyId: policy.policyId, kind: 'tpm', endpoint: LIST, organisationId: ORG, limit: 3000, enabled: true } })
    expect(second).toMatchObject({ type: 'traffic.policy.upserted', data: { enabled: false } })
    expect(third).toMatchObject({ type: 'traffic.policy.deleted', data: { policyId: policy.policyId } })
    expect(mine()).toHaveLength(3)
    // 5. History: who, when, before/after.
    const history = (await call('GET', `${policyUrl(policy.policyId)}/history`)).json().changes as Array<{ action: string; actor: string; via: string; before: unknown; after: unknown }>
    expect(history.map((h) => h.action)).toEqual(['created', 'updated', 'deleted'])
    expect(history.every((h) => h.actor === 'ana.souza@bank.example' && h.via === 'admin')).toBe(true)
    expect(history[0]!.before).toBeNull()
    expect(history[1]).toMatchObject({ before: { enabled: true }, after: { enabled: false } })
    expect(history[2]).toMatchObject({ before: { enabled: false }, after: null })
    // 6. Defaults cannot be deleted.
    const del = await call('DELETE', policyUrl(`tpm|default|*|${LIST}`))
    expect([del.statusCode, del.json().errors[0].code]).toEqual([422, 'DEFAULT_NOT_DELETABLE'])
  }, 60_000)

  it('resolves overrides by precedence on the set the API serves', async () => {
    expect((await call('POST', '/internal/overrides', { kind: 'tpm', endpoint: BALANCES, limit: 4000 })).statusCode).toBe(201)
    expect((await call('POST', '/internal/overrides', { kind: 'tpm', organisationId: ORG, limit: 6000 })).statusCode).toBe(201)
    expect((await call('POST', '/internal/overrides', { kind: 'monthly', endpoint: BALANCES, organisationId: ORG })).json().policy).toMatchObject({ limit: 420, enabled: true })
    const index = indexPolicies((await call('GET', '/internal/policies')).json().policies as TrafficPolicy[])
    expect(resolveLimit(index, { kind: 'tpm', endpoint: BALANCES, organisationId: ORG })).toMatchObject({ limit: 6000, level: 'organisation' })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: BALANCES, organisationId: randomUUID() })).toMatchObject({ limit: 4000, level: 'endpoint' })
    expect(resolveLimit(index, { kind: 'tpm', endpoint: BRANCHES })).toMatchObject({ limit: 500, level: 'default' })
    expect(resolveLimit(index, { kind: 'monthly', endpoint: BALANCES, organisationId: ORG })).toMatchObject({ limited: true, limit: 420 })
    expect(resolveLimit(index, { kind: 'monthly', endpoint: BALANCES, organisationId: randomUUID() })).toMatchObject({ limited: false, reason: 'disabled' })
    const bulk = await call('PATCH', '/internal/defaults/monthly', { enabled: true })
    expect(bulk.json()).toEqual({ kind: 'monthly', enabled: true, changed: catalogue.filter((c) => c.monthlyFloor !== null).length })
  })

  it('publishes the full set to an empty topic at start, and nothing when the topic is in line', async () => {
    await waitFor(async () => (await outboxPending()) === 0, { timeoutMs: 30_000, what: 'the outbox drained' })
    // The topic this service has been writing is in line with the table: nothing to do.
    expect(await syncPolicyTopic({ pool, kafka, logger, topic })).toEqual({ upserts: 0, deletes: 0 })
    // An empty topic (e.g. recreated): every policy is enqueued once; a stray key gets a delete.
    const fresh = `${topic}.fresh`
    await ensureTopics(kafka, [{ topic: fresh, partitions: 1, compacted: true }])
    const stray = `tpm|override|${randomUUID()}|${LIST}`
    await publisher.publish(fresh, TrafficPolicyEvent, { id: randomUUID(), source: 'traffic', occurredAt: new Date().toISOString(), version: 1, type: 'traffic.policy.upserted', data: { policyId: stray, kind: 'tpm', endpoint: LIST, limit: 5000, enabled: true, updatedAt: new Date().toISOString() } }, stray)
    const total = (await policies.list()).length
    expect(await syncPolicyTopic({ pool, kafka, logger, topic: fresh })).toEqual({ upserts: total, deletes: 1 })
    // Still pending in the outbox: a second run counts them and adds nothing.
    expect(await syncPolicyTopic({ pool, kafka, logger, topic: fresh })).toEqual({ upserts: 0, deletes: 0 })
    await waitFor(async () => (await outboxPending()) === 0, { timeoutMs: 30_000, what: 'the outbox drained' })
    expect(await syncPolicyTopic({ pool, kafka, logger, topic: fresh })).toEqual({ upserts: 0, deletes: 0 })
  }, 120_000)
})

describe('usage reports', () => {
  // A minute and a month nobody else writes, so parallel test files cannot disturb the counters.
  const minute = Date.UTC(2001, 1, 3, 4, 5, 30)
  const otherOrg = randomUUID()
  const ip = `ip:203.0.113.${1 + Math.floor(Math.random() * 250)}`

  beforeAll(async () => {
    const tpmKey = trafficKeys.tpm(minuteBucket(minute))
    await redis.hset(tpmKey, trafficKeys.field(ORG, LIST), '17', trafficKeys.field(ORG, BALANCES), '5', trafficKeys.field(otherOrg, BALANCES), '3', trafficKeys.field(ip, BRANCHES), '4')
    await redis.hset(trafficKeys.tpm(minuteBucket(minute + 60_000)), trafficKeys.field(ORG, LIST), '2')
    await redis.hset(trafficKeys.usage('200102'), trafficKeys.field(ORG, LIST), '1200', trafficKeys.field(ORG, BALANCES), '300', trafficKeys.field(otherOrg, LIST), '7')
    for (const k of [tpmKey, trafficKeys.tpm(minuteBucket(minute + 60_000)), trafficKeys.usage('200102')]) await redis.expire(k, 600)
  })

  it('reports calls per organisation, endpoint and minute from the gateway counters, with the limit that applies', async () => {
    const from = '2001-02-03T04:05:00Z'
    const to = '2001-02-03T04:06:59Z'
    const res = await call('GET', `/internal/usage/minutes?from=${from}&to=${to}&organisationId=${ORG}`)
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.rows).toEqual(expect.arrayContaining([
      { minute: '2001-02-03T04:05:00Z', origin: ORG, originType: 'organisation', endpoint: LIST, count: 17, limit: 6000 },
      { minute: '2001-02-03T04:05:00Z', origin: ORG, originType: 'organisation', endpoint: BALANCES, count: 5, limit: 6000 },
      { minute: '2001-02-03T04:06:00Z', origin: ORG, originType: 'organisation', endpoint: LIST, count: 2, limit: 6000 },
    ]))
    expect(body.rows).toHaveLength(3)
    expect(body.byOrganisation).toEqual({ [ORG]: 24 })
    expect(body.byEndpoint).toEqual({ [LIST]: 19, [BALANCES]: 5 })
    const other = (await call('GET', `/internal/usage/minutes?from=${from}&to=${to}&organisationId=${otherOrg}`)).json()
    expect(other.rows).toEqual([{ minute: '2001-02-03T04:05:00Z', origin: otherOrg, originType: 'organisation', endpoint: BALANCES, count: 3, limit: 4000 }])
    const openData = (await call('GET', `/internal/usage/minutes?from=${from}&to=${to}&organisationId=${encodeURIComponent(ip)}`)).json()
    expect(openData.rows).toEqual([{ minute: '2001-02-03T04:05:00Z', origin: ip, originType: 'client-ip', endpoint: BRANCHES, count: 4, limit: 500 }])
    const tooLong = await call('GET', `/internal/usage/minutes?from=2001-02-03T00:00:00Z&to=2001-02-04T00:00:00Z`)
    expect(tooLong.statusCode).toBe(400)
  })

  it('reports calls per organisation and endpoint for a month', async () => {
    const res = (await call('GET', `/internal/usage/months?month=2001-02&organisationId=${ORG}`)).json()
    expect(res).toEqual({
      month: '2001-02',
      rows: [{ organisationId: ORG, endpoint: LIST, count: 1200 }, { organisationId: ORG, endpoint: BALANCES, count: 300 }],
      byOrganisation: { [ORG]: 1500 },
      byEndpoint: { [LIST]: 1200, [BALANCES]: 300 },
      total: 1500,
    })
    const byEndpoint = (await call('GET', `/internal/usage/months?month=2001-02&endpoint=${encodeURIComponent(LIST)}`)).json()
    expect(byEndpoint.byOrganisation[otherOrg]).toBe(7)
  })
})
