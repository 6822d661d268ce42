import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka, createOutboxRelay, createPublisher, type OutboxRelay } from '@ponte/platform'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { serviceTestEnv, startServiceProcess, testInfra, testSchema, waitFor, type ServiceProcess, type TestSchema } from '@ponte/testkit'
import { startWithRegisteredClient } from '../../auth-server/test/support/registered-client.ts'
import { startWorld, type Tpp, type World } from '../../gateway/test/harness.ts'
import { startAdmin } from './helpers.ts'

// The console's switches, end to end: an API version turned off reaches the gateway through the admin outbox; a client
// suspended in the auth-server stops getting tokens at once and reaches the gateway through the auth-server's outbox.
const catalogTopic = `test.api-catalog.${randomUUID().slice(0, 8)}`
const clientTopic = `test.client.${randomUUID().slice(0, 8)}`
let world: World
let gw: Awaited<ReturnType<World['startGateway']>>
/** A gateway in front of the real consent service (the other one checks consents against a stand-in). */
let withConsents: Awaited<ReturnType<World['startGateway']>>
let tpp: Tpp
let reg: Awaited<ReturnType<typeof startWithRegisteredClient>>
let admin: Awaited<ReturnType<typeof startAdmin>>
const relays: OutboxRelay[] = []
let publisher: ReturnType<typeof createPublisher>
let consent: ServiceProcess
let consentSchema: TestSchema

beforeAll(async () => {
  world = await startWorld()
  // The real consent service behind this gateway: consents are created and checked there, revocations reach the
  // gateway on ponte.consent.v1.
  consentSchema = testSchema('consent_for_switches')
  consent = await startServiceProcess('consent', { ...(await serviceTestEnv(world.auth.env)), DB_SCHEMA: consentSchema.name, PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0' })
  gw = await world.startGateway({ API_CATALOG_TOPIC: catalogTopic, CLIENT_TOPIC: clientTopic })
  withConsents = await world.startGateway({ API_CATALOG_TOPIC: catalogTopic, CLIENT_TOPIC: clientTopic, CONSENT_URL: consent.address })
  tpp = await world.tpp('switches')
  reg = await startWithRegisteredClient(world.auth, 'admin_switches_auth', { clientTopic })
  admin = await startAdmin({ auth: world.auth, catalogTopic, consentUrl: consent.address, authServerUrl: reg.h.issuer, authServerCa: reg.ca.chainPem })
  const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'admin-switches', logger: reg.logger })
  publisher = createPublisher(kafka)
  for (const pool of [admin.pool, reg.h.pool]) relays.push(createOutboxRelay({ pool, publisher, logger: reg.logger, intervalMs: 100 }))
}, 90_000)
afterAll(async () => {
  for (const r of relays) await r.stop()
  await publisher?.disconnect()
  await admin?.close()
  await reg?.close()
  await world?.close()
  await consent?.stop()
  await consentSchema?.drop()
})

describe('API catalog', () => {
  it('lists every API version of the route table with its x-v; the regulator endpoints are mandatory', async () => {
    const viewer = await admin.login(await admin.user(['viewer']))
    const res = await admin.app.inject({ method: 'GET', url: '/api/catalog', headers: viewer.headers })
    expect(res.statusCode).toBe(200)
    const versions = res.json().versions as Array<{ key: string; version: string; enabled: boolean; mandatory: boolean; endpoints: unknown[] }>
    expect(versions.find((v) => v.key === 'accounts/v2')).toMatchObject({ version: expect.stringMatching(/^2\.\d+\.\d+$/), enabled: true, mandatory: false })
    expect(versions.find((v) => v.key === 'payments/v4')!.endpoints.length).toBeGreaterThan(0)
    expect(versions.find((v) => v.key === 'discovery/v2')).toMatchObject({ mandatory: true })
  })

  it('an operator turns accounts/v2 off (note, audited): the gateway answers 404 at once; on again: served', async () => {
    const c = world.consentFor(tpp)
    const t = await world.token(tpp, { consentId: c.consentId })
    const account = `${gw.url}/open-banking/accounts/v2/accounts/acc-1`
    expect((await world.call(account, { agent: tpp.agent, token: t })).status).toBe(200)
    const u = await admin.user(['operator'])
    const operator = await admin.login(u)
    const off = await admin.app.inject({ method: 'PUT', url: '/api/catalog/accounts/v2', headers: operator.headers, payload: { enabled: false, note: 'Incidente no core de contas' } })
    expect(off.statusCode, off.body).toBe(200)
    const refused = await waitFor(async () => { const r = await world.call(account, { agent: tpp.agent, token: t }); return r.status === 404 ? r : undefined }, { what: 'the gateway to refuse accounts/v2' })
    expect(refused.body.errors?.[0]?.code).toBe('API_VERSION_NOT_OFFERED')
    const listed = await admin.app.inject({ method: 'GET', url: '/api/catalog', headers: operator.headers })
    expect(listed.json().versions.find((v: { key: string }) => v.key === 'accounts/v2')).toMatchObject({ enabled: false, changedBy: u.email, note: 'Incidente no core de contas' })
    const [entry] = await admin.audit.search({ action: 'catalog.change', target: 'api:accounts/v2', limit: 1 })
    expect(entry).toMatchObject({ actorEmail: u.email, outcome: 'success', before: { enabled: true }, after: { enabled: false }, detail: { note: 'Incidente no core de contas' } })

    expect((await admin.app.inject({ method: 'PUT', url: '/api/catalog/discovery/v2', headers: operator.headers, payload: { enabled: false, note: 'nope' } })).statusCode).toBe(422)
    expect((await admin.app.inject({ method: 'PUT', url: '/api/catalog/nothing/v9', headers: operator.headers, payload: { enabled: false, note: 'nope' } })).statusCode).toBe(404)
    expect((await admin.app.inject({ method: 'PUT', url: '/api/catalog/accounts/v2', headers: operator.headers, payload: { enabled: true, note: '' } })).statusCode).toBe(400)

    const on = await admin.app.inject({ method: 'PUT', url: '/api/catalog/accounts/v2', headers: operator.headers, payload: { enabled: true, note: 'Core de volta' } })
    expect(on.statusCode).toBe(200)
    await waitFor(async () => (await world.call(account, { agent: tpp.agent, token: t })).status === 200, { what: 'accounts/v2 served again' })
  })
})

describe('participants and clients', () => {
  it('a security administrator suspends a client (note, audited): no token, its existing token refused at the gateway; reinstated: works again', async () => {
    const token = () => reg.token()
    // The client as the gateway sees it: its own certificate and a token issued before the suspension.
    const client: Tpp = { ...tpp, clientId: reg.clientId }
    const c = world.consentFor(client)
    const existing = await world.token(client, { consentId: c.consentId })
    const account = `${gw.url}/open-banking/accounts/v2/accounts/acc-1`
    expect((await world.call(account, { agent: client.agent, token: existing })).status).toBe(200)
    expect(await token()).toBeTruthy()

    const security = await admin.login(await admin.user(['security_admin']))
    const list = await admin.app.inject({ method: 'GET', url: '/api/clients', headers: security.headers })
    expect(list.statusCode, list.body).toBe(200)
    expect(list.json().clients).toContainEqual(expect.objectContaining({ clientId: reg.clientId, organisationId: reg.tpp.orgId, active: true }))
    // The directory is not running here: the certificates are reported unknown, the clients are still listed.
    expect(list.json().certificatesKnown).toBe(false)

    const noNote = await admin.app.inject({ method: 'POST', url: `/api/clients/${reg.clientId}/suspend`, headers: security.headers, payload: { note: '' } })
    expect(noNote.statusCode).toBe(400)
    const officer = await admin.login(await admin.user(['consent_officer']))
    expect((await admin.app.inject({ method: 'POST', url: `/api/clients/${reg.clientId}/suspend`, headers: officer.headers, payload: { note: 'forçado' } })).statusCode).toBe(403)

    const suspended = await admin.app.inject({ method: 'POST', url: `/api/clients/${reg.clientId}/suspend`, headers: security.headers, payload: { note: 'Uso indevido reportado' } })
    expect(suspended.statusCode, suspended.body).toBe(200)
    await expect(token()).rejects.toMatchObject({ error: 'invalid_client' })
    const refused = await waitFor(async () => { const r = await world.call(account, { agent: client.agent, token: existing }); return r.status === 403 ? r : undefined }, { what: 'the gateway to refuse the suspended client' })
    expect(refused.body.errors?.[0]?.code).toBe('CLIENT_SUSPENDED')
    const [entry] = await admin.audit.search({ action: 'clients.suspend', target: `client:${reg.clientId}`, limit: 1 })
    expect(entry).toMatchObject({ outcome: 'success', after: { suspended: true }, detail: { note: 'Uso indevido reportado' } })

    const again = await admin.app.inject({ method: 'POST', url: `/api/clients/${reg.clientId}/reinstate`, headers: security.headers, payload: { note: 'Regularizado' } })
    expect(again.statusCode, again.body).toBe(200)
    expect(await token()).toBeTruthy()
    await waitFor(async () => (await world.call(account, { agent: client.agent, token: existing })).status === 200, { what: 'the client served again' })
  })
})

describe('consents', () => {
  it('a consent the TPP created through the gateway, revoked in the console: the TPP\'s next call through the gateway is refused', async () => {
    const cpf = '76109277673'
    const gwCall = (path: string, token: string, o: { method?: string; body?: string } = {}) =>
      world.call(`${withConsents.url}${path}`, { agent: tpp.agent, token, ...(o.body ? { headers: { 'content-type': 'application/json' } } : {}), ...o })
    // The TPP creates the consent with its client_credentials token, through the gateway, into the consent service.
    const created = await gwCall('/open-banking/consents/v3/consents', await world.token(tpp, { scope: 'openid consents' }), {
      method: 'POST', body: JSON.stringify({ data: { loggedUser: { document: { identification: cpf, rel: 'CPF' } }, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'] } }),
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const consentId = (created.body as { data: { consentId: string } }).data.consentId
    // The customer authorises it (as the auth-server's journey does on the consent page).
    const authorised = await fetch(`${consent.address}/internal/consents/${encodeURIComponent(consentId)}/authorise`, {
      method: 'POST', headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await world.auth.issuer('auth-server').sign('consent') },
      body: JSON.stringify({ resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], authenticatedUser: { cpf } }),
    })
    expect(authorised.status).toBe(200)
    const token = await world.token(tpp, { consentId })
    expect((await gwCall('/open-banking/accounts/v2/accounts/acc-1', token)).status).toBe(200)

    const officer = await admin.login(await admin.user(['consent_officer']))
    const revoked = await admin.app.inject({
      method: 'POST', url: `/api/consents/${encodeURIComponent(consentId)}/revoke`, headers: officer.headers,
      payload: { reason: 'CUSTOMER_MANUALLY_REVOKED', note: 'Cliente pediu na agência' },
    })
    expect(revoked.statusCode, revoked.body).toBe(200)
    const refused = await waitFor(async () => { const r = await gwCall('/open-banking/accounts/v2/accounts/acc-1', token); return r.status === 401 ? r : undefined }, { what: 'the gateway to refuse the revoked consent' })
    expect(refused.body.errors?.[0]?.code).toBe('CONSENT_NOT_AUTHORISED')
    // The TPP reads the consent through the gateway: REJECTED by the USER.
    const read = await gwCall(`/open-banking/consents/v3/consents/${encodeURIComponent(consentId)}`, await world.token(tpp, { scope: 'openid consents' }))
    expect(read.body).toMatchObject({ data: { status: 'REJECTED', rejection: { rejectedBy: 'USER', reason: { code: 'CUSTOMER_MANUALLY_REVOKED' } } } })
  }, 60_000)
})
