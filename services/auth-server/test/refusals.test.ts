// Hostile and malformed requests to the auth-server's OAuth endpoints: every refusal is a 4xx in RFC 6749 / 7591
// shape (`{ error, error_description }`), including the ones the web framework makes before a route runs.
import { randomUUID } from 'node:crypto'
import { generateKeyPair, importJWK, SignJWT, type CryptoKey as JoseKey } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevCa, type DevCa } from '@ponte/pki'
import { createTestTpp, listen, rawRequest, testLogger, testSchema, testServiceAuth, type RawResponse, type TestTpp } from '@ponte/testkit'
import { connectorsStandIn, consentStandIn, directoryStandIn, type DirectoryState } from './support/stand-ins.ts'
import { signSsa, startAuthServer, startKeystore, type AuthServerHarness, type Keystore } from './support/harness.ts'

const REDIRECT = 'https://tpp.example.com/cb'

describe('auth-server refusals: framework-level and hostile inputs in the OAuth error shape', () => {
  const schema = testSchema('auth_refusals')
  const { logger } = testLogger('auth-server-test')
  const auth = testServiceAuth()
  const directoryState: DirectoryState = { ssaKey: undefined as unknown as JoseKey, organisations: new Map() }
  let ca: DevCa
  let keystore: Keystore
  let h: AuthServerHarness
  let tpp: TestTpp
  const standIns: Array<{ close(): Promise<unknown> }> = []
  let client: { client_id: string; registration_access_token: string; registration_client_uri: string }

  beforeAll(async () => {
    ca = await createDevCa()
    const ssaKey = await generateKeyPair('PS256')
    directoryState.ssaKey = ssaKey.publicKey as unknown as JoseKey
    keystore = await startKeystore(ca)
    tpp = await createTestTpp(ca)
    directoryState.organisations.set(tpp.orgId, { name: 'Org', cnpj: tpp.cnpj, status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] })
    const dir = directoryStandIn(logger, auth.verifier('directory'), ca, directoryState)
    const con = consentStandIn(logger, auth.verifier('consent'), { consents: new Map() })
    const conn = connectorsStandIn(logger, auth.verifier('connectors'), { customers: new Map() })
    standIns.push(dir, con, conn)
    h = await startAuthServer({
      ca, schema, logger, issuer: auth.issuer('auth-server'), verifier: auth.verifier('auth-server'), jwksOrigins: [keystore.origin],
      directoryUrl: await listen(dir), consentUrl: await listen(con), connectorsUrl: await listen(conn),
    })
    const ssa = await signSsa(ssaKey.privateKey as unknown as JoseKey, tpp, keystore)
    const res = await tpp.fetch(`${h.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ software_statement: ssa, redirect_uris: [REDIRECT] }) })
    expect(res.status).toBe(201)
    client = await res.json() as typeof client
  })

  afterAll(async () => {
    await h?.close()
    for (const s of standIns) await s.close()
    await tpp?.close()
    keystore?.server.close()
    await schema.drop()
  })

  const tls = () => ({ cert: tpp.certificate.chainPem, key: tpp.certificate.privateKeyPem, ca: ca.chainPem })
  const host = () => new URL(h.issuer).host
  const send = (lines: string[], body: string | Buffer = '') => rawRequest(h.issuer, [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body], { tls: tls() })
  const get = (path: string, extra: string[] = []) => send([`GET ${path} HTTP/1.1`, `Host: ${host()}`, ...extra])
  const post = (path: string, contentType: string | undefined, body: string | Buffer, extra: string[] = []) =>
    send([`POST ${path} HTTP/1.1`, `Host: ${host()}`, ...(contentType ? [`Content-Type: ${contentType}`] : []), `Content-Length: ${Buffer.byteLength(body)}`, ...extra], body)

  function expectOAuth(res: RawResponse, status: number, error?: string) {
    expect(res.status, res.body).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.headers['cache-control']).toBe('no-store')
    const body = res.json as Record<string, unknown>
    expect(body, res.body).toEqual({ error: expect.any(String), error_description: expect.any(String) })
    if (error) expect(body.error).toBe(error)
  }

  it('the four inputs that used to answer 5xx answer 4xx', async () => {
    const bearer = [`Authorization: Bearer ${client.registration_access_token}`]
    expectOAuth(await get('/register/a%00b', bearer), 401, 'invalid_token')
    expectOAuth(await get(`/auth/..%2f..%2f..%2f..%2fetc%2fpasswd?client_id=${client.client_id}`), 400, 'invalid_request')
    expectOAuth(await get(`/auth/%252e%252e%252f%252e%252e%252fetc%252fpasswd?client_id=${client.client_id}`), 400, 'invalid_request')
    // The registration itself is untouched by them.
    expect((await get(`/register/${client.client_id}`, bearer)).status).toBe(200)
  })

  it('refuses a request with two Authorization headers, whichever comes first', async () => {
    const good = `Authorization: Bearer ${client.registration_access_token}`
    expectOAuth(await get(`/register/${client.client_id}`, [good, 'Authorization: Bearer other']), 400, 'invalid_request')
    expectOAuth(await get(`/register/${client.client_id}`, ['Authorization: Bearer other', good]), 400, 'invalid_request')
    expect((await get(`/register/${client.client_id}`, [good])).status).toBe(200)
  })

  it('answers a 20 MB body with 413 and then closes the connection (no reset while the client writes)', async () => {
    const res = await post('/register', 'application/json', Buffer.alloc(20 * 1_048_576, 0x20))
    expect(res.error).toBeUndefined()
    expectOAuth(res, 413, 'invalid_client_metadata')
    expect(res.headers.connection).toBe('close')
    expect(res.closed).toBe(true)
  })

  it('answers an authorization request for a client id holding NUL with the error page (400), not 500', async () => {
    const res = await get('/auth?client_id=a%00b&response_type=code%20id_token&scope=openid')
    expect(res.status, res.body).toBe(400)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
  })

  it('answers CONNECT (a proxy tunnel) with 405 in the OAuth shape instead of dropping the connection', async () => {
    const res = await send(['CONNECT /jwks/x HTTP/1.1', `Host: ${host()}`])
    expectOAuth(res, 405, 'invalid_request')
    expect(res.closed).toBe(true)
  })

  it('describes the refusals the OAuth library answers without words: request_uri at the PAR endpoint', async () => {
    // RFC 9126 §2.1: request_uri is not allowed in a pushed request; the library's error carries no description.
    const key = await importJWK(tpp.certificate.privateJwk as never, 'PS256') as JoseKey
    const now = Math.floor(Date.now() / 1000)
    const assertion = await new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'PS256', kid: tpp.certificate.kid })
      .setIssuer(client.client_id).setSubject(client.client_id).setAudience(h.issuer).setIssuedAt(now).setExpirationTime(now + 120).sign(key)
    const form = new URLSearchParams({
      client_id: client.client_id, response_type: 'code id_token', scope: 'openid consents', redirect_uri: REDIRECT,
      request_uri: 'urn:ietf:params:oauth:request_uri:x', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    }).toString()
    const res = await post('/par', 'application/x-www-form-urlencoded', form)
    expectOAuth(res, 400, 'request_uri_not_supported')
    expect((res.json as { error_description: string }).error_description).toMatch(/request_uri/)
  })

  // Each framework-level refusal, on each kind of OAuth endpoint.
  const table: Array<[string, () => Promise<RawResponse>, number, string?]> = [
    ['bad URL encoding', () => get('/register/%E0%A4%A'), 400, 'invalid_request'],
    ['oversized path parameter', () => get(`/register/${'a'.repeat(600)}`), 414, 'invalid_request'],
    ['oversized headers', () => get('/token', [`X-Big: ${'a'.repeat(20_000)}`]), 431, 'invalid_request'],
    ['malformed framing (bad chunk size)', () => send(['POST /token HTTP/1.1', `Host: ${'x'}`, 'Transfer-Encoding: chunked'], 'zz\r\nabc\r\n0\r\n\r\n'), 400, 'invalid_request'],
    ['Content-Length and Transfer-Encoding together', () => send(['POST /par HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Transfer-Encoding: chunked'], '0\r\n\r\n'), 400, 'invalid_request'],
    ['unknown method on /register', () => send(['PATCH /register HTTP/1.1', `Host: ${'x'}`, 'Content-Length: 0']), 405, 'invalid_request'],
    ['unknown method on /par', () => send(['DELETE /par HTTP/1.1', 'Host: x']), 405, 'invalid_request'],
    ['unknown method on /token', () => send(['PUT /token HTTP/1.1', 'Host: x', 'Content-Length: 0']), 405, 'invalid_request'],
    ['wrong content type on /register', () => post('/register', 'text/plain', '{}'), 415, 'invalid_client_metadata'],
    ['wrong content type on /par', () => post('/par', 'text/plain', 'a=b'), 400, 'invalid_request'],
    ['wrong content type on /token', () => post('/token', 'application/xml', '<a/>'), 400, 'invalid_request'],
    ['oversized body on /register', () => post('/register', 'application/json', Buffer.alloc(2 * 1_048_576, 0x20)), 413, 'invalid_client_metadata'],
    ['oversized body on /token', () => post('/token', 'application/x-www-form-urlencoded', Buffer.alloc(2 * 1_048_576, 0x61)), 413, 'invalid_request'],
    ['oversized body on /par', () => post('/par', 'application/x-www-form-urlencoded', Buffer.alloc(20 * 1_048_576, 0x61)), 413, 'invalid_request'],
    ['malformed JSON on /register', () => post('/register', 'application/json', '{"software_statement":'), 400, 'invalid_client_metadata'],
    ['empty JSON body on /register', () => post('/register', 'application/json', ''), 400, 'invalid_client_metadata'],
    ['unknown path', () => get('/nothing-here'), 404, 'invalid_request'],
    ['a form posted to the interaction root', () => post('/interaction/', 'application/x-www-form-urlencoded', 'csrf=x&senha=%0D%0AX-Injected%3A+1'), 404, 'invalid_request'],
  ]
  it.each(table)('%s', async (_name, request, status, error) => {
    const res = await request()
    expectOAuth(res, status, error)
    if (status === 405) expect(res.headers.allow).toMatch(/POST/)
  })
})
