// Refusals made before or around the regulated pipeline (malformed URLs, framing, sizes, methods, content types,
// ambiguous credentials): each one is the OFB envelope, never the web framework's own body. Bodies of regulated calls
// are forwarded unparsed (only their size is the gateway's business): content type and JSON are refused by the owning
// service, in the same envelope.
import { rawRequest, type RawResponse } from '@ponte/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorld, type Tpp, type World } from './harness.ts'

let w: World
let gw: Awaited<ReturnType<World['startGateway']>>
let a: Tpp

beforeAll(async () => {
  w = await startWorld()
  gw = await w.startGateway()
  a = await w.tpp('alpha')
})
afterAll(async () => {
  await w?.close()
})

const send = (lines: string[], body: string | Buffer = '') => rawRequest(gw.url, [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body], {
  tls: { cert: a.cert.chainPem, key: a.cert.privateKeyPem, ca: w.ca.chainPem, servername: 'localhost' },
})
const host = () => new URL(gw.url).host
const ACCOUNTS = '/open-banking/accounts/v2/accounts'
const CONSENTS = '/open-banking/consents/v3/consents'
/** A consent creation as a TPP sends it (client-credentials token), with the given body. */
const post = async (path: string, contentType: string, body: string | Buffer) => {
  const token = await w.token(a, { scope: 'consents' })
  return send([`POST ${path} HTTP/1.1`, `Host: ${host()}`, `Authorization: Bearer ${token}`, `x-fapi-interaction-id: ${crypto.randomUUID()}`,
    `x-idempotency-key: ${crypto.randomUUID()}`, `Content-Type: ${contentType}`, `Content-Length: ${Buffer.byteLength(body)}`], body)
}

function expectEnvelope(res: RawResponse, status: number, code: string) {
  expect(res.status, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json as { errors: Array<Record<string, unknown>>; meta: { requestDateTime: string } }
  expect(body.errors, res.body).toHaveLength(1)
  expect(body.errors[0]).toEqual({ code, title: expect.any(String), detail: expect.any(String) })
  expect(body.meta.requestDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
  expect(res.headers['x-fapi-interaction-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
}

describe('gateway refusals in the OFB envelope', () => {
  it('refuses a request with two Authorization headers, the valid one first', async () => {
    const c = w.consentFor(a)
    const token = await w.token(a, { consentId: c.consentId })
    const res = await send([`GET ${ACCOUNTS}/acc-1 HTTP/1.1`, `Host: ${host()}`, `Authorization: Bearer ${token}`, 'Authorization: Bearer forged', `x-fapi-interaction-id: ${crypto.randomUUID()}`])
    expectEnvelope(res, 400, 'INVALID_REQUEST')
    // The same request with one header goes through.
    expect((await send([`GET ${ACCOUNTS}/acc-1 HTTP/1.1`, `Host: ${host()}`, `Authorization: Bearer ${token}`, `x-fapi-interaction-id: ${crypto.randomUUID()}`])).status).toBe(200)
  })

  it('answers a 20 MB body with 413 and then closes (no reset while the client writes)', async () => {
    const token = await w.token(a, { scope: 'consents' })
    const head = [`POST ${CONSENTS} HTTP/1.1`, `Host: ${host()}`, `Authorization: Bearer ${token}`, `x-fapi-interaction-id: ${crypto.randomUUID()}`,
      'Content-Type: application/json', `Content-Length: ${20 * 1_048_576}`].join('\r\n')
    // The client keeps sending, a megabyte at a time, while the gateway has already decided.
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(1_048_576, 0x20))
    const res = await rawRequest(gw.url, [Buffer.from(`${head}\r\n\r\n`), ...chunks], {
      sequential: true, tls: { cert: a.cert.chainPem, key: a.cert.privateKeyPem, ca: w.ca.chainPem, servername: 'localhost' },
    })
    expect(res.error).toBeUndefined()
    expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE')
    expect(res.headers.connection).toBe('close')
    expect(res.closed).toBe(true)
  })

  it('answers CONNECT (a proxy tunnel) with 405 in the envelope instead of dropping the connection', async () => {
    for (const target of ['localhost:443', '/open-banking/accounts/v2/accounts']) {
      const res = await send([`CONNECT ${target} HTTP/1.1`, `Host: ${host()}`])
      expectEnvelope(res, 405, 'METHOD_NOT_ALLOWED')
      expect(res.closed).toBe(true)
    }
  })

  const table: Array<[string, () => Promise<RawResponse>, number, string]> = [
    ['bad URL encoding', () => send([`GET ${ACCOUNTS}/%E0%A4%A HTTP/1.1`, `Host: ${host()}`]), 400, 'INVALID_REQUEST'],
    ['oversized path parameter', () => send([`GET ${ACCOUNTS}/${'a'.repeat(600)} HTTP/1.1`, `Host: ${host()}`]), 414, 'URI_TOO_LONG'],
    ['oversized headers', () => send([`GET ${ACCOUNTS} HTTP/1.1`, `Host: ${host()}`, `X-Big: ${'a'.repeat(20_000)}`]), 431, 'HEADERS_TOO_LARGE'],
    ['malformed framing', () => send([`POST ${CONSENTS} HTTP/1.1`, `Host: ${host()}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n'), 400, 'INVALID_REQUEST'],
    ['Content-Length with Transfer-Encoding', () => send([`POST ${CONSENTS} HTTP/1.1`, `Host: ${host()}`, 'Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n'), 400, 'INVALID_REQUEST'],
    ['unknown method', () => send([`PATCH ${ACCOUNTS} HTTP/1.1`, `Host: ${host()}`, 'Content-Length: 0']), 405, 'METHOD_NOT_ALLOWED'],
    ['oversized body', () => post(CONSENTS, 'application/json', Buffer.alloc(2 * 1_048_576, 0x20)), 413, 'PAYLOAD_TOO_LARGE'],
    ['unknown path', () => send([`GET /open-banking/nothing/v1/here HTTP/1.1`, `Host: ${host()}`]), 404, 'NOT_FOUND'],
  ]
  it.each(table)('%s', async (_name, request, status, code) => {
    const res = await request()
    expectEnvelope(res, status, code)
    if (status === 405) expect(res.headers.allow).toContain('GET')
  })
})
