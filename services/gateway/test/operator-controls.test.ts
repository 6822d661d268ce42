import { randomUUID } from 'node:crypto'
import { ApiVersionChanged, ClientStatusChanged } from '@ponte/contracts'
import { waitFor } from '@ponte/testkit'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startWorld, type Tpp, type World } from './harness.ts'

// What bank staff switch off in the admin console reaches the gateway through compacted topics of the test's own.
let w: World
let a: Tpp
const catalogTopic = `test.api-catalog.${randomUUID().slice(0, 8)}`
const clientTopic = `test.client.${randomUUID().slice(0, 8)}`
const env = { API_CATALOG_TOPIC: catalogTopic, CLIENT_TOPIC: clientTopic }
let gw: Awaited<ReturnType<World['startGateway']>>

beforeAll(async () => {
  w = await startWorld()
  a = await w.tpp('controls')
  gw = await w.startGateway(env)
}, 60_000)
afterAll(async () => { await w?.close() })

const envelope = { source: 'admin', version: 1 as const }
const version = (key: string, enabled: boolean) => w.publisher.publish(catalogTopic, ApiVersionChanged, {
  ...envelope, id: randomUUID(), occurredAt: new Date().toISOString(), type: 'api-catalog.version-changed', data: { key, enabled, changedBy: 'op@bank.test', note: 'test' },
}, key)
const client = (t: Tpp, suspended: boolean) => w.publisher.publish(clientTopic, ClientStatusChanged, {
  ...envelope, source: 'auth-server', id: randomUUID(), occurredAt: new Date().toISOString(), type: 'client.status-changed',
  data: { clientId: t.clientId, organisationId: t.orgId, suspended, changedBy: 'sec@bank.test', note: 'test' },
}, t.clientId)

describe('operator controls at the gateway', () => {
  test('a disabled API version answers 404 API_VERSION_NOT_OFFERED before any check; other versions serve; enabling restores it', async () => {
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    const account = `${gw.url}/open-banking/accounts/v2/accounts/acc-1`
    expect((await w.call(account, { agent: a.agent, token: t })).status).toBe(200)
    await version('accounts/v2', false)
    const refused = await waitFor(async () => { const r = await w.call(account, { agent: a.agent, token: t }); return r.status === 404 ? r : undefined }, { what: 'the version to be disabled' })
    expect(refused.body.errors?.[0]?.code).toBe('API_VERSION_NOT_OFFERED')
    expect(refused.headers['x-v']).toBeUndefined()
    // Not offered to anyone: even without a certificate or token the answer is the same 404.
    expect((await w.call(account)).status).toBe(404)
    // Another API is untouched.
    expect((await w.call(`${gw.url}/open-banking/resources/v3/resources`, { agent: a.agent, token: t })).status).not.toBe(404)
    // A gateway that starts now reads the decision from the beginning of the compacted topic.
    const later = await w.startGateway(env)
    expect((await w.call(`${later.url}/open-banking/accounts/v2/accounts/acc-1`, { agent: a.agent, token: t })).status).toBe(404)
    expect(later.controls.stats.disabledVersions).toContain('accounts/v2')
    await version('accounts/v2', true)
    await waitFor(async () => (await w.call(account, { agent: a.agent, token: t })).status === 200, { what: 'the version to be enabled again' })
  })

  test('a suspended client is refused 403 CLIENT_SUSPENDED with a token issued before; another client is not; reinstating restores it', async () => {
    const s = await w.tpp('suspended-client')
    const c = w.consentFor(s)
    const t = await w.token(s, { consentId: c.consentId })
    const account = `${gw.url}/open-banking/accounts/v2/accounts/acc-1`
    expect((await w.call(account, { agent: s.agent, token: t })).status).toBe(200)
    await client(s, true)
    const refused = await waitFor(async () => { const r = await w.call(account, { agent: s.agent, token: t }); return r.status === 403 ? r : undefined }, { what: 'the suspension' })
    expect(refused.body.errors?.[0]?.code).toBe('CLIENT_SUSPENDED')
    const other = w.consentFor(a)
    expect((await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: other.consentId }) })).status).toBe(200)
    await client(s, false)
    await waitFor(async () => (await w.call(account, { agent: s.agent, token: t })).status === 200, { what: 'the reinstatement' })
  })
})
