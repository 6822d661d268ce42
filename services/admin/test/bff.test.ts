import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, type ServiceProcess, type TestSchema } from '@ponte/testkit'
import { PASSWORD, startAdmin } from './helpers.ts'

// The consent and traffic services run as real processes on their own schemas; the console reaches them only through
// their internal APIs with service tokens.
const CPF = '76109277673'
const auth = testServiceAuth()
let admin: Awaited<ReturnType<typeof startAdmin>>
const procs: ServiceProcess[] = []
const schemas: TestSchema[] = []
let consentUrl = ''

async function start(name: string, extra: Record<string, string>): Promise<string> {
  const schema = testSchema(`${name}_for_admin`)
  schemas.push(schema)
  const env = { ...(await serviceTestEnv(auth.env)), DB_SCHEMA: schema.name, PORT: '0', HOST: '127.0.0.1', ...extra }
  const proc = await startServiceProcess(name, env)
  procs.push(proc)
  return proc.address
}

beforeAll(async () => {
  let trafficUrl: string
  ;[consentUrl, trafficUrl] = await Promise.all([
    start('consent', {}),
    start('traffic', { TRAFFIC_POLICY_TOPIC: `test.traffic-policy.admin-${randomUUID().slice(0, 8)}` }),
  ])
  admin = await startAdmin({ auth, consentUrl, trafficUrl })
}, 90_000)
afterAll(async () => {
  await admin?.close()
  await Promise.all(procs.map((p) => p.stop()))
  await Promise.all(schemas.map((s) => s.drop()))
})

/** A data consent created by a TPP through the gateway and authorised by the customer (as auth-server does). */
async function authorisedConsent(): Promise<string> {
  const gateway = auth.issuer('gateway')
  const created = await fetch(`${consentUrl}/open-banking/consents/v3/consents`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', 'x-fapi-interaction-id': randomUUID(),
      [SERVICE_TOKEN_HEADER]: await gateway.sign('consent', { clientId: 'client-a', organisationId: 'org-a', scopes: ['consents'] }),
    },
    body: JSON.stringify({ data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'] } }),
  })
  expect(created.status).toBe(201)
  const consentId = ((await created.json()) as { data: { consentId: string } }).data.consentId
  const authorised = await fetch(`${consentUrl}/internal/consents/${consentId}/authorise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await auth.issuer('auth-server').sign('consent') },
    body: JSON.stringify({ resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], authenticatedUser: { cpf: CPF } }),
  })
  expect(authorised.status).toBe(200)
  return consentId
}

describe('consents', () => {
  it('finds consents by CPF and by id, with the CPF masked, and audits the CPF lookup', async () => {
    const consentId = await authorisedConsent()
    const officer = await admin.login(await admin.user(['consent_officer']))
    const byCpf = await admin.app.inject({ method: 'GET', url: `/api/consents?cpf=761.092.776-73`, headers: officer.headers })
    expect(byCpf.statusCode).toBe(200)
    expect(byCpf.body).not.toContain(CPF)
    expect(byCpf.json().items.map((c: { consentId: string }) => c.consentId)).toContain(consentId)
    expect(byCpf.json().items[0].loggedUser).toEqual({ cpf: '***.092.776-**' })
    const byId = await admin.app.inject({ method: 'GET', url: `/api/consents?consentId=${encodeURIComponent(consentId)}`, headers: officer.headers })
    expect(byId.json()).toMatchObject({ items: [{ consentId, status: 'AUTHORISED' }], totalRecords: 1 })
    const none = await admin.app.inject({ method: 'GET', url: '/api/consents?consentId=urn:nobody:1', headers: officer.headers })
    expect(none.json()).toMatchObject({ items: [], totalRecords: 0 })
    const both = await admin.app.inject({ method: 'GET', url: `/api/consents?consentId=x&cpf=${CPF}`, headers: officer.headers })
    expect(both.statusCode).toBe(400)
    const [entry] = await admin.audit.search({ action: 'consents.search', limit: 1 })
    expect(entry).toMatchObject({ target: '***.092.776-**', outcome: 'success' })
  })

  it('shows a consent with its lifecycle audit', async () => {
    const consentId = await authorisedConsent()
    const viewer = await admin.login(await admin.user(['viewer']))
    const res = await admin.app.inject({ method: 'GET', url: `/api/consents/${encodeURIComponent(consentId)}`, headers: viewer.headers })
    expect(res.statusCode).toBe(200)
    expect(res.json().consent).toMatchObject({ consentId, status: 'AUTHORISED', loggedUser: { cpf: '***.092.776-**' } })
    expect(res.json().audit.map((e: { action: string }) => e.action)).toEqual(['created', 'authorised'])
  })

  it('revokes on the customer request with a note: the consent is REJECTED by the USER, and the change is audited', async () => {
    const consentId = await authorisedConsent()
    const u = await admin.user(['consent_officer'])
    const officer = await admin.login(u)
    const noNote = await admin.app.inject({ method: 'POST', url: `/api/consents/${encodeURIComponent(consentId)}/revoke`, headers: officer.headers, payload: { reason: 'CUSTOMER_MANUALLY_REVOKED', note: ' ' } })
    expect(noNote.statusCode).toBe(400)
    const res = await admin.app.inject({
      method: 'POST', url: `/api/consents/${encodeURIComponent(consentId)}/revoke`, headers: officer.headers,
      payload: { reason: 'CUSTOMER_MANUALLY_REVOKED', note: 'Cliente pediu por telefone, protocolo 123' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().consent).toMatchObject({
      consentId, status: 'REJECTED', rejection: { rejectedBy: 'USER', reason: 'CUSTOMER_MANUALLY_REVOKED', additionalInformation: 'Cliente pediu por telefone, protocolo 123' },
    })
    const trail = await admin.app.inject({ method: 'GET', url: `/api/consents/${encodeURIComponent(consentId)}`, headers: officer.headers })
    expect(trail.json().audit.at(-1)).toMatchObject({ action: 'revoked', actor: { type: 'CUSTOMER', id: `staff:${u.email}` }, via: 'admin' })
    const [entry] = await admin.audit.search({ action: 'consents.revoke', target: `consent:${consentId}`, limit: 1 })
    expect(entry).toMatchObject({ actorEmail: u.email, outcome: 'success', before: { status: 'AUTHORISED' }, after: { status: 'REJECTED' }, detail: { reason: 'CUSTOMER_MANUALLY_REVOKED' } })
  })

  it('revokes for security as the ASPSP', async () => {
    const consentId = await authorisedConsent()
    const officer = await admin.login(await admin.user(['consent_officer']))
    const res = await admin.app.inject({
      method: 'POST', url: `/api/consents/${encodeURIComponent(consentId)}/revoke`, headers: officer.headers,
      payload: { reason: 'INTERNAL_SECURITY_REASON', note: 'Suspeita de fraude' },
    })
    expect(res.json().consent.rejection).toMatchObject({ rejectedBy: 'ASPSP', reason: 'INTERNAL_SECURITY_REASON' })
  })

  it('refuses a viewer who forces the revoke call; the consent stays AUTHORISED', async () => {
    const consentId = await authorisedConsent()
    const viewer = await admin.login(await admin.user(['viewer']))
    const res = await admin.app.inject({ method: 'POST', url: `/api/consents/${encodeURIComponent(consentId)}/revoke`, headers: viewer.headers, payload: { reason: 'INTERNAL_SECURITY_REASON', note: 'forced' } })
    expect(res.statusCode).toBe(403)
    const after = await admin.app.inject({ method: 'GET', url: `/api/consents/${encodeURIComponent(consentId)}`, headers: viewer.headers })
    expect(after.json().consent.status).toBe('AUTHORISED')
  })
})

describe('traffic limits', () => {
  it('previews an override, applies it and audits before and after', async () => {
    const u = await admin.user(['operator'])
    const op = await admin.login(u)
    const catalogue = await admin.app.inject({ method: 'GET', url: '/api/traffic/catalogue', headers: op.headers })
    const entry0 = catalogue.json().endpoints.find((e: { group: string }) => e.group === 'customer-data') as { endpoint: string; tpmFloor: number }
    const limit = entry0.tpmFloor * 2
    const change = { kind: 'tpm', organisationId: `org-${randomUUID().slice(0, 8)}`, endpoint: entry0.endpoint, limit }
    const preview = await admin.app.inject({ method: 'POST', url: '/api/traffic/overrides/preview', headers: op.headers, payload: change })
    expect(preview.statusCode, preview.body).toBe(200)
    expect(preview.json()).toMatchObject({ before: null, after: { limit, enabled: true }, changes: [{ field: 'created', to: limit }] })
    const applied = await admin.app.inject({ method: 'PUT', url: '/api/traffic/overrides', headers: op.headers, payload: change })
    expect(applied.statusCode, applied.body).toBe(200)
    expect(applied.json()).toMatchObject({ created: true, policy: { limit, updatedBy: u.email } })
    const second = await admin.app.inject({ method: 'POST', url: '/api/traffic/overrides/preview', headers: op.headers, payload: { ...change, limit: limit + 1 } })
    expect(second.json()).toMatchObject({ before: { limit }, changes: [{ field: 'limit', from: limit, to: limit + 1 }] })
    const listed = await admin.app.inject({ method: 'GET', url: `/api/traffic/policies?organisationId=${change.organisationId}`, headers: op.headers })
    expect(listed.json().policies.map((p: { limit: number }) => p.limit)).toEqual([limit])
    const [entry] = await admin.audit.search({ action: 'traffic.override', actor: u.email, limit: 1 })
    expect(entry).toMatchObject({ outcome: 'success', before: null, after: { limit, enabled: true } })
  })

  it('passes the traffic service refusal through (a limit under the regulatory floor)', async () => {
    const op = await admin.login(await admin.user(['operator']))
    const res = await admin.app.inject({ method: 'PUT', url: '/api/traffic/overrides', headers: op.headers, payload: { kind: 'global-tps', limit: 1 } })
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.statusCode).toBeLessThan(500)
    const [entry] = await admin.audit.search({ action: 'traffic.override', outcome: 'failure', limit: 1 })
    expect(entry).toBeDefined()
  })
})

describe('staff users', () => {
  it('creates a member (TOTP secret shown once), changes roles and disabling ends their sessions', async () => {
    const sec = await admin.login(await admin.user(['security_admin']))
    const created = await admin.app.inject({ method: 'POST', url: '/api/staff', headers: sec.headers, payload: { email: 'nova@bank.test', name: 'Nova', password: PASSWORD, roles: ['operator'] } })
    expect(created.statusCode).toBe(201)
    expect(created.json().totp.uri).toMatch(/^otpauth:\/\/totp\/Ponte:nova%40bank\.test\?issuer=Ponte&secret=[A-Z2-7]{32}&algorithm=SHA1&digits=6&period=30$/)
    const list = await admin.app.inject({ method: 'GET', url: '/api/staff', headers: sec.headers })
    expect(list.body).not.toContain(created.json().totp.secret)
    const nova = (await admin.staff.list()).find((s) => s.email === 'nova@bank.test')!
    const session = await admin.login(nova)
    const off = await admin.app.inject({ method: 'PATCH', url: `/api/staff/${nova.userId}`, headers: sec.headers, payload: { disabled: true } })
    expect(off.json().user).toMatchObject({ disabled: true })
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: session.headers })).statusCode).toBe(401)
    const self = (await admin.app.inject({ method: 'GET', url: '/api/session', headers: sec.headers })).json().user.userId
    expect((await admin.app.inject({ method: 'PATCH', url: `/api/staff/${self}`, headers: sec.headers, payload: { roles: ['viewer'] } })).statusCode).toBe(403)
    const [entry] = await admin.audit.search({ action: 'staff.update', target: 'staff:nova@bank.test', limit: 1 })
    expect(entry).toMatchObject({ before: { disabled: false, roles: ['operator'] }, after: { disabled: true }, detail: { sessionsEnded: 1 } })
  })
})
