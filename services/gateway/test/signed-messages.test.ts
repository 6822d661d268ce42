import { constants, randomUUID, sign, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { payloadSigningJwk } from '@ponte/pki'
import { specValidator } from '@ponte/testkit'
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { BANK_ORG_ID, startWorld, type Tpp, type World } from './harness.ts'

const paymentsV4 = specValidator('payments-v4.0.1.yaml')

let w: World
let gw: Awaited<ReturnType<World['startGateway']>>
let gw2: Awaited<ReturnType<World['startGateway']>>
let a: Tpp
let b: Tpp

const CONSENTS = '/open-banking/payments/v4/consents'
const PIX = '/open-banking/payments/v4/pix/payments'
const PUBLIC = 'https://localhost:8443'

beforeAll(async () => {
  w = await startWorld()
  gw = await w.startGateway()
  gw2 = await w.startGateway()
  a = await w.tpp('alpha')
  b = await w.tpp('bravo')
})
afterAll(async () => {
  await w?.close()
})

const CONSENT_DATA = {
  loggedUser: { document: { identification: '76109277673', rel: 'CPF' } },
  creditor: { personType: 'PESSOA_NATURAL', cpfCnpj: '58764789000137', name: 'Marco Antonio de Brito' },
  payment: {
    type: 'PIX', date: '2026-12-08', currency: 'BRL', amount: '100.12',
    details: { localInstrument: 'MANU', creditorAccount: { ispb: '12345678', issuer: '1774', number: '1234567890', accountType: 'CACC' } },
  },
}

/** A compact JWS signed with PS256 (or whatever `header` says) by `key`. */
function jws(key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  const sig = sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
  return `${input}.${sig.toString('base64url')}`
}

/** A TPP's signed request body for `path`, with overrides of the header or claims. */
function signedBy(t: Tpp, path: string, o: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: KeyObject; data?: unknown } = {}): string {
  return jws(o.key ?? t.signingKey, { alg: 'PS256', typ: 'JWT', kid: t.kid, ...o.header }, {
    aud: `${PUBLIC}${path}`, iss: t.orgId, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), data: o.data ?? CONSENT_DATA, ...o.claims,
  })
}

const clientToken = (t: Tpp) => w.token(t, { scope: 'payments' })

async function post(g: typeof gw, t: Tpp, path: string, body: string, o: { token?: string; contentType?: string; idempotencyKey?: string | null } = {}) {
  return w.call(`${g.url}${path}`, {
    agent: t.agent,
    method: 'POST',
    token: o.token ?? await clientToken(t),
    body,
    headers: {
      'content-type': o.contentType ?? 'application/jwt',
      ...(o.idempotencyKey === null ? {} : { 'x-idempotency-key': o.idempotencyKey ?? randomUUID() }),
    },
  })
}

/** The bank's published key, as the sandbox directory serves it (the same certificate file, same derivation). */
async function verifyAnswer(text: string) {
  const jwk = payloadSigningJwk(readFileSync(w.bankSigningFile, 'utf8'))
  expect(decodeProtectedHeader(text)).toEqual({ alg: 'PS256', typ: 'JWT', kid: jwk.kid })
  const { payload } = await compactVerify(text, await importJWK({ ...jwk }, 'PS256'), { algorithms: ['PS256'] })
  return JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>
}

function expectRefusal(res: { status: number; headers: Record<string, unknown>; body: { errors?: Array<{ code: string }> } }, status: number, code: string) {
  expect([res.status, res.body.errors?.[0]?.code]).toEqual([status, code])
  // Refusals stay JSON, in the OFB envelope.
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/)
}

describe('signed payment requests and answers', () => {
  test('the request payloads of these tests are valid for the spec (the claims are the request body)', () => {
    expect(paymentsV4.checkSchema('CreatePaymentConsent', { data: CONSENT_DATA })).toEqual([])
  })

  test('a signed POST /consents is forwarded as JSON with the idempotency key, and the answer comes back signed by the bank', async () => {
    const key = randomUUID()
    const before = w.payments.seen.length
    const res = await post(gw, a, CONSENTS, signedBy(a, CONSENTS), { idempotencyKey: key })
    expect(res.status).toBe(201)
    expect(String(res.headers['content-type'])).toMatch(/^application\/jwt/)
    expect(res.headers['x-v']).toBe('4.0.1')
    const seen = w.payments.seen.slice(before)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.body).toEqual({ data: CONSENT_DATA })
    expect(seen[0]!.headers['content-type']).toBe('application/json')
    expect(seen[0]!.headers['x-idempotency-key']).toBe(key)
    expect(seen[0]!.ctx).toMatchObject({ clientId: a.clientId, organisationId: a.orgId, scopes: ['payments'] })
    const claims = await verifyAnswer(res.body as unknown as string)
    expect(claims).toMatchObject({ aud: a.orgId, iss: BANK_ORG_ID, data: { status: 'AWAITING_AUTHORISATION', creditor: CONSENT_DATA.creditor } })
    expect(typeof claims.jti).toBe('string')
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(120)
    paymentsV4.assert('POST', '/consents', 201, claims)
  })

  test('each public base URL of the gateway is an accepted aud', async () => {
    const res = await post(gw, a, CONSENTS, signedBy(a, CONSENTS, { claims: { aud: `https://127.0.0.1:8443${CONSENTS}` } }))
    expect(res.status).toBe(201)
  })

  test('a 422 answer of the owner comes back signed too', async () => {
    w.payments.nextStatus = 422
    try {
      const res = await post(gw, a, CONSENTS, signedBy(a, CONSENTS))
      expect(res.status).toBe(422)
      expect(String(res.headers['content-type'])).toMatch(/^application\/jwt/)
      const claims = await verifyAnswer(res.body as unknown as string)
      expect(claims).toMatchObject({ aud: a.orgId, iss: BANK_ORG_ID, errors: [{ code: 'DETALHE_PAGAMENTO_INVALIDO' }] })
      paymentsV4.assert('POST', '/consents', 422, claims)
    } finally {
      w.payments.nextStatus = 201
    }
  })

  test('POST /pix/payments takes an authorization_code token bound to the payment consent and passes its id on', async () => {
    const consentId = `urn:banco:${randomUUID()}`
    const before = w.payments.seen.length
    const token = await w.token(a, { scope: `openid consent:${consentId} payments`, consentId })
    const res = await post(gw, a, PIX, signedBy(a, PIX, { data: [{ endToEndId: 'E9040088820210128000800123873170' }] }), { token })
    expect(res.status).toBe(201)
    await verifyAnswer(res.body as unknown as string)
    const seen = w.payments.seen.slice(before)
    expect(seen[0]!.ctx).toMatchObject({ clientId: a.clientId, paymentConsentId: consentId })
    expect(seen[0]!.body).toEqual({ data: [{ endToEndId: 'E9040088820210128000800123873170' }] })
  })

  test('the idempotency key is forwarded as sent; a missing one is left to the owner, which answers the syntax errors', async () => {
    const before = w.payments.seen.length
    const res = await post(gw, a, CONSENTS, signedBy(a, CONSENTS), { idempotencyKey: null })
    expect(res.status).toBe(201)
    expect(w.payments.seen.slice(before)[0]!.headers['x-idempotency-key']).toBeUndefined()
  })

  test('the keys of a TPP are fetched from the directory once, not per request', async () => {
    const c = await w.tpp('charlie')
    const before = w.participantKeyFetches
    for (let i = 0; i < 3; i++) expect((await post(gw, c, CONSENTS, signedBy(c, CONSENTS))).status).toBe(201)
    expect(w.participantKeyFetches - before).toBe(1)
  })
})

describe('refusals, in the order of docs/regulation/payments.md#validation-order', () => {
  test('no token → 401 before the signature is looked at', async () => {
    const res = await w.call(`${gw.url}${CONSENTS}`, { agent: a.agent, method: 'POST', body: 'not a jws', headers: { 'content-type': 'application/jwt' } })
    expectRefusal(res, 401, 'TOKEN_MISSING')
  })

  test('a JSON body where a JWS is required → 415', async () => {
    expectRefusal(await post(gw, a, CONSENTS, JSON.stringify({ data: CONSENT_DATA }), { contentType: 'application/json' }), 415, 'SIGNED_BODY_REQUIRED')
  })

  test.each([
    ['not a JWS', () => 'not-a-jws'],
    ['a JWS with alg RS256', () => {
      const t = signedBy(a, CONSENTS, { header: { alg: 'RS256' } })
      return t
    }],
    ['a JWS with alg none', () => `${Buffer.from('{"alg":"none","typ":"JWT","kid":"x"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`],
    ['a JWS with typ other than JWT', () => signedBy(a, CONSENTS, { header: { typ: 'JOSE' } })],
    ['a tampered payload', () => {
      const [h, , s] = signedBy(a, CONSENTS).split('.')
      return `${h}.${Buffer.from(JSON.stringify({ aud: `${PUBLIC}${CONSENTS}`, iss: a.orgId, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), data: {} })).toString('base64url')}.${s}`
    }],
    ['a valid signature by another organisation\'s key', () => signedBy(a, CONSENTS, { key: b.signingKey, header: { kid: b.kid } })],
    ['an unknown kid', () => signedBy(a, CONSENTS, { header: { kid: 'nope' } })],
  ])('%s → 400 BAD_SIGNATURE', async (_name, body) => {
    const before = w.payments.seen.length
    expectRefusal(await post(gw, a, CONSENTS, body()), 400, 'BAD_SIGNATURE')
    expect(w.payments.seen.length).toBe(before)
  })

  test.each([
    ['aud of another endpoint', { aud: `${PUBLIC}${PIX}` }, 'JWS_AUDIENCE_INVALID'],
    ['aud of another host', { aud: `https://evil.example${CONSENTS}` }, 'JWS_AUDIENCE_INVALID'],
    ['iss of another organisation', { iss: randomUUID() }, 'JWS_ISSUER_INVALID'],
    ['iat 2 minutes old', { iat: Math.floor(Date.now() / 1000) - 120 }, 'JWS_IAT_INVALID'],
    ['iat 2 minutes ahead', { iat: Math.floor(Date.now() / 1000) + 120 }, 'JWS_IAT_INVALID'],
    ['no jti', { jti: undefined }, 'JWS_JTI_INVALID'],
  ])('%s → 403', async (_name, claims, code) => {
    expectRefusal(await post(gw, a, CONSENTS, signedBy(a, CONSENTS, { claims })), 403, code)
  })

  test('a reused jti → 403, on the same gateway and on another replica (the store is shared)', async () => {
    const jti = randomUUID()
    expect((await post(gw, a, CONSENTS, signedBy(a, CONSENTS, { claims: { jti } }))).status).toBe(201)
    expectRefusal(await post(gw, a, CONSENTS, signedBy(a, CONSENTS, { claims: { jti } })), 403, 'JWS_JTI_REUSED')
    expectRefusal(await post(gw2, a, CONSENTS, signedBy(a, CONSENTS, { claims: { jti } })), 403, 'JWS_JTI_REUSED')
    // Another client may use the same jti.
    expect((await post(gw2, b, CONSENTS, signedBy(b, CONSENTS, { claims: { jti } }))).status).toBe(201)
  })

  test('POST /pix/payments with a client_credentials token → 403', async () => {
    expectRefusal(await post(gw, a, PIX, signedBy(a, PIX)), 403, 'SCOPE_MISSING')
  })

  test('POST /consents with a token bound to a consent → 403 WRONG_TOKEN_TYPE', async () => {
    const token = await w.token(a, { scope: 'openid consent:urn:x:1 payments', consentId: 'urn:x:1' })
    expectRefusal(await post(gw, a, CONSENTS, signedBy(a, CONSENTS), { token }), 403, 'WRONG_TOKEN_TYPE')
  })

  test('a token without the payments scope → 403 SCOPE_MISSING', async () => {
    expectRefusal(await post(gw, a, CONSENTS, signedBy(a, CONSENTS), { token: await w.token(a, { scope: 'accounts' }) }), 403, 'SCOPE_MISSING')
  })
})
