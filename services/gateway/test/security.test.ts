import { randomUUID } from 'node:crypto'
import { ApiCallEvent, topics, type ApiCall } from '@ponte/contracts'
import { subscribe } from '@ponte/platform'
import { specValidator, waitFor } from '@ponte/testkit'
import { SignJWT } from 'jose'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startWorld, type Tpp, type World } from './harness.ts'

const accounts = specValidator('accounts-v2.5.1.yaml')

let w: World
let gw: Awaited<ReturnType<World['startGateway']>>
let a: Tpp
let b: Tpp
let account: string

beforeAll(async () => {
  w = await startWorld()
  gw = await w.startGateway()
  a = await w.tpp('alpha')
  b = await w.tpp('bravo')
  account = `${gw.url}/open-banking/accounts/v2/accounts/acc-1`
})
afterAll(async () => {
  await w?.close()
})

function expectRefusal(res: { status: number; body: { errors?: Array<{ code: string }> } }, status: number, code: string) {
  expect([res.status, res.body.errors?.[0]?.code]).toEqual([status, code])
  // The gateway's own refusals are valid OFB error envelopes of the API they answer for.
  if (status === 401 || status === 403 || status === 400 || status === 429 || status === 423 || status === 529) accounts.assert('GET', '/accounts/{accountId}', status, res.body)
}

describe('the protected pipeline', () => {
  test('a valid call reaches connectors with the verified context, echoes the interaction id, sets x-v and validates against the spec', async () => {
    const c = w.consentFor(a)
    const interactionId = randomUUID()
    const res = await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId }), interactionId })
    expect(res.status).toBe(200)
    expect(res.headers['x-fapi-interaction-id']).toBe(interactionId)
    expect(res.headers['x-v']).toBe('2.5.1')
    accounts.assert('GET', '/accounts/{accountId}', 200, res.body)
    const last = w.seen.at(-1)!
    expect(last.headers['x-fapi-interaction-id']).toBe(interactionId)
    expect(last.headers.authorization).toBeUndefined()
    expect(last.ctx).toMatchObject({
      clientId: a.clientId,
      organisationId: a.orgId,
      softwareStatementId: a.softwareStatementId,
      consent: { consentId: c.consentId, customer: { cpf: '76109277673' }, resources: c.resources },
    })
  })

  test('no client certificate → 401 CLIENT_CERTIFICATE_REQUIRED', async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(account, { token: await w.token(a, { consentId: c.consentId }) }), 401, 'CLIENT_CERTIFICATE_REQUIRED')
  })

  test('certificate from an untrusted CA → 401 CLIENT_CERTIFICATE_UNTRUSTED', async () => {
    const rogue = await w.tpp('rogue', w.rogueCa)
    const c = w.consentFor(rogue)
    expectRefusal(await w.call(account, { agent: rogue.agent, token: await w.token(rogue, { consentId: c.consentId }) }), 401, 'CLIENT_CERTIFICATE_UNTRUSTED')
  })

  test("a token bound to another client's certificate → 401 TOKEN_NOT_BOUND", async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(account, { agent: b.agent, token: await w.token(a, { consentId: c.consentId }) }), 401, 'TOKEN_NOT_BOUND')
  })

  test('an expired token → 401 TOKEN_EXPIRED', async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId, exp: Math.floor(Date.now() / 1000) - 120 }) }), 401, 'TOKEN_EXPIRED')
  })

  test('a token signed by another key → 401 TOKEN_INVALID, with one JWKS refresh for an unknown kid, not one per call', async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId, key: w.otherKey.privateKey }) }), 401, 'TOKEN_INVALID')
    const before = w.jwksFetches
    for (let i = 0; i < 3; i++) {
      expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId, key: w.otherKey.privateKey, kid: `unknown-${i}` }) }), 401, 'TOKEN_INVALID')
    }
    expect(w.jwksFetches - before).toBeLessThanOrEqual(1)
  })

  test('alg none → 401 TOKEN_INVALID', async () => {
    const c = w.consentFor(a)
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')
    const payload = Buffer.from(JSON.stringify({ iss: 'https://auth.test', aud: 'https://gateway.test', client_id: a.clientId, scope: `openid accounts consent:${c.consentId}`, exp: Math.floor(Date.now() / 1000) + 600, cnf: { 'x5t#S256': a.cert.x5tS256 } })).toString('base64url')
    expectRefusal(await w.call(account, { agent: a.agent, token: `${header}.${payload}.` }), 401, 'TOKEN_INVALID')
  })

  test('an HS256 token keyed with the public key is refused (only PS256) → 401 TOKEN_INVALID', async () => {
    const c = w.consentFor(a)
    const forged = await new SignJWT({ client_id: a.clientId, scope: `openid accounts consent:${c.consentId}`, cnf: { 'x5t#S256': a.cert.x5tS256 } })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }).setIssuer('https://auth.test').setAudience('https://gateway.test').setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough-000'))
    expectRefusal(await w.call(account, { agent: a.agent, token: forged }), 401, 'TOKEN_INVALID')
  })

  test('another issuer → 401 TOKEN_INVALID; no token → 401 TOKEN_MISSING', async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId, iss: 'https://evil.test' }) }), 401, 'TOKEN_INVALID')
    expectRefusal(await w.call(account, { agent: a.agent }), 401, 'TOKEN_MISSING')
  })

  test('missing scope → 403 SCOPE_MISSING', async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId, scope: `openid credit-cards-accounts consent:${c.consentId}` }) }), 403, 'SCOPE_MISSING')
  })

  test('consent awaiting authorisation, rejected or expired → 401', async () => {
    const awaiting = w.consentFor(a, { status: 'AWAITING_AUTHORISATION' })
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: awaiting.consentId }) }), 401, 'CONSENT_NOT_AUTHORISED')
    const rejected = w.consentFor(a, { status: 'REJECTED' })
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: rejected.consentId }) }), 401, 'CONSENT_NOT_AUTHORISED')
    const expired = w.consentFor(a, { expirationDateTime: '2020-01-01T00:00:00Z' })
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: expired.consentId }) }), 401, 'CONSENT_EXPIRED')
  })

  test("another client's consent → 403 CONSENT_CLIENT_MISMATCH", async () => {
    const bs = w.consentFor(b)
    expectRefusal(await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: bs.consentId }) }), 403, 'CONSENT_CLIENT_MISMATCH')
  })

  test('permission not granted → 403 PERMISSION_NOT_GRANTED', async () => {
    const c = w.consentFor(a, { permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'] })
    expectRefusal(await w.call(`${account}/balances`, { agent: a.agent, token: await w.token(a, { consentId: c.consentId }) }), 403, 'PERMISSION_NOT_GRANTED')
  })

  test("another customer's resource id → 403 RESOURCE_NOT_CONSENTED", async () => {
    const c = w.consentFor(a)
    expectRefusal(await w.call(`${gw.url}/open-banking/accounts/v2/accounts/someone-elses`, { agent: a.agent, token: await w.token(a, { consentId: c.consentId }) }), 403, 'RESOURCE_NOT_CONSENTED')
  })

  test('a missing or malformed x-fapi-interaction-id → 400 with a generated one', async () => {
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    for (const given of [null, 'not-a-uuid']) {
      const res = await w.call(account, { agent: a.agent, token: t, interactionId: given })
      expectRefusal(res, 400, 'INVALID_INTERACTION_ID')
      expect(res.headers['x-fapi-interaction-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(res.headers['x-fapi-interaction-id']).not.toBe(given)
    }
  })

  test('a certificate header from an untrusted address is stripped: the call counts as without certificate', async () => {
    const c = w.consentFor(a)
    const res = await w.call(account, { token: await w.token(a, { consentId: c.consentId }), headers: { 'x-client-cert': encodeURIComponent(a.cert.certificatePem) } })
    expectRefusal(res, 401, 'CLIENT_CERTIFICATE_REQUIRED')
  })

  test('a suspended organisation (directory event) → 403 ORGANISATION_SUSPENDED', async () => {
    const s = await w.tpp('suspended')
    const c = w.consentFor(s)
    const t = await w.token(s, { consentId: c.consentId })
    expect((await w.call(account, { agent: s.agent, token: t })).status).toBe(200)
    await w.publisher.publish(topics.directory, (await import('@ponte/contracts')).DirectoryEvent, {
      id: randomUUID(), source: 'directory', occurredAt: new Date().toISOString(), version: 1,
      type: 'directory.organisation.changed', data: { organisationId: s.orgId, status: 'Withdrawn', roles: [], changes: ['status'] },
    }, s.orgId)
    const res = await waitFor(async () => {
      const r = await w.call(account, { agent: s.agent, token: t })
      return r.status === 403 ? r : undefined
    }, { what: 'suspension to bite' })
    expectRefusal(res, 403, 'ORGANISATION_SUSPENDED')
  })

  test('an organisation the directory does not list as Active → 403 ORGANISATION_SUSPENDED', async () => {
    const p = await w.tpp('pending')
    w.orgs.set(p.orgId, { ...w.orgs.get(p.orgId)!, status: 'Pending' })
    const c = w.consentFor(p)
    expectRefusal(await w.call(account, { agent: p.agent, token: await w.token(p, { consentId: c.consentId }) }), 403, 'ORGANISATION_SUSPENDED')
  })
})

describe('revocation', () => {
  test('a revoked consent is refused on the next request after its event', async () => {
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    expect((await w.call(account, { agent: a.agent, token: t })).status).toBe(200) // 1. cached AUTHORISED
    w.consentsById.set(c.consentId, { ...c, status: 'REJECTED' }) // 2. the consent service revokes
    expect((await w.call(account, { agent: a.agent, token: t })).status).toBe(200) // 3. no event yet: cache still serves
    const before = gw.consents.stats.invalidations
    const published = Date.now()
    await w.publisher.publish(topics.consent, (await import('@ponte/contracts')).ConsentEvent, {
      id: randomUUID(), source: 'consent', occurredAt: new Date().toISOString(), version: 1, type: 'consent.rejected',
      data: { consentId: c.consentId, kind: 'data', clientId: a.clientId, rejectedBy: 'USER', reason: 'CUSTOMER_MANUALLY_REVOKED', previousStatus: 'AUTHORISED' },
    }, c.consentId)
    await waitFor(() => gw.consents.stats.invalidations > before, { intervalMs: 5, what: 'the consent event' }) // 4. event consumed
    const delay = Date.now() - published
    expectRefusal(await w.call(account, { agent: a.agent, token: t }), 401, 'CONSENT_NOT_AUTHORISED') // 5. the very next call
    console.error(JSON.stringify({ measured: 'revocation event → gateway cache invalidated', ms: delay }))
  })
})

describe('certificate from a trusted proxy header', () => {
  test('from a trusted proxy address the header is believed and checked like a TLS certificate', async () => {
    const proxied = await w.startGateway({ TRUSTED_PROXIES: '127.0.0.1' })
    const c = w.consentFor(a)
    const t = await w.token(a, { consentId: c.consentId })
    const url = `${proxied.url}/open-banking/accounts/v2/accounts/acc-1`
    const proxy = new Agent({ connect: { ca: w.ca.chainPem, servername: 'localhost' } })
    try {
      expect((await w.call(url, { agent: proxy, token: t, headers: { 'x-client-cert': encodeURIComponent(a.cert.chainPem) } })).status).toBe(200)
      const rogue = await w.tpp('rogue-proxied', w.rogueCa)
      expectRefusal(await w.call(url, { agent: proxy, token: t, headers: { 'x-client-cert': encodeURIComponent(rogue.cert.certificatePem) } }), 401, 'CLIENT_CERTIFICATE_UNTRUSTED')
      expectRefusal(await w.call(url, { agent: proxy, token: t }), 401, 'CLIENT_CERTIFICATE_REQUIRED')
    } finally {
      await proxy.close()
    }
  })
})

describe('api-call events', () => {
  test('accepted and refused calls each produce one event with the templated endpoint, never the raw id', async () => {
    const seenEvents: ApiCall[] = []
    const sub = await subscribe({ kafka: w.kafka, groupId: `gateway-test-events-${randomUUID()}`, topic: topics.apiCall, schema: ApiCallEvent, logger: w.logger, handler: async (e) => { seenEvents.push(e) } })
    try {
      await sub.ready
      const c = w.consentFor(a)
      const okId = randomUUID()
      const refusedId = randomUUID()
      await w.call(account, { agent: a.agent, token: await w.token(a, { consentId: c.consentId }), interactionId: okId })
      await w.call(`${gw.url}/open-banking/accounts/v2/accounts/acc-secret-99`, { agent: a.agent, token: await w.token(a, { consentId: c.consentId }), interactionId: refusedId })
      const [ok, refused] = await waitFor(() => {
        const x = seenEvents.find((e) => e.data.interactionId === okId)
        const y = seenEvents.find((e) => e.data.interactionId === refusedId)
        return x && y ? [x, y] : undefined
      }, { timeoutMs: 20_000, what: 'the api-call events' })
      expect(ok.data).toMatchObject({ endpoint: '/open-banking/accounts/v2/accounts/{accountId}', method: 'GET', status: 200, organisationId: a.orgId, clientId: a.clientId, softwareStatementId: a.softwareStatementId, consentId: c.consentId })
      expect(ok.data.responseBytes).toBeGreaterThan(0)
      expect(ok.data.receivedAt).toMatch(/\.\d{3}Z$/)
      expect(refused.data).toMatchObject({ status: 403, errorCode: 'RESOURCE_NOT_CONSENTED', endpoint: '/open-banking/accounts/v2/accounts/{accountId}' })
      expect(JSON.stringify(refused)).not.toContain('acc-secret-99')
    } finally {
      await sub.stop()
    }
  })
})
