import { describe, expect, test } from 'vitest'
import { answerClaims, audiencesOf, checkSignedClaims, parseSignedRequest } from './signed-messages.ts'

const seg = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const NOW = 1_800_000_000_000
const AUD = audiencesOf(['https://localhost:8443/', 'https://127.0.0.1:8443'], '/open-banking/payments/v4/consents')

function code(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as { ofbCode?: string }).ofbCode
  }
}

describe('signed requests', () => {
  test('a well-formed PS256 JWS is parsed', () => {
    const jws = `${seg({ alg: 'PS256', typ: 'JWT', kid: 'k' })}.${seg({ data: { a: 1 } })}.c2ln`
    expect(parseSignedRequest(jws)).toMatchObject({ kid: 'k', payload: { data: { a: 1 } } })
  })

  test.each([
    ['two segments', `${seg({ alg: 'PS256', typ: 'JWT', kid: 'k' })}.${seg({})}`],
    ['no signature', `${seg({ alg: 'PS256', typ: 'JWT', kid: 'k' })}.${seg({})}.`],
    ['alg HS256', `${seg({ alg: 'HS256', typ: 'JWT', kid: 'k' })}.${seg({})}.c2ln`],
    ['no typ', `${seg({ alg: 'PS256', kid: 'k' })}.${seg({})}.c2ln`],
    ['no kid', `${seg({ alg: 'PS256', typ: 'JWT' })}.${seg({})}.c2ln`],
    ['crit', `${seg({ alg: 'PS256', typ: 'JWT', kid: 'k', crit: ['b64'] })}.${seg({})}.c2ln`],
    ['an array payload', `${seg({ alg: 'PS256', typ: 'JWT', kid: 'k' })}.${seg([1])}.c2ln`],
    ['JSON', '{"data":{}}'],
  ])('%s → BAD_SIGNATURE', (_n, body) => {
    expect(code(() => parseSignedRequest(body))).toBe('BAD_SIGNATURE')
  })

  test('claims: aud under any public base URL, iss, iat within 60 s, jti', () => {
    const ok = { aud: 'https://127.0.0.1:8443/open-banking/payments/v4/consents', iss: 'org', iat: NOW / 1000 - 59, jti: 'j' }
    expect(checkSignedClaims(ok, { audiences: AUD, organisationId: 'org', nowMs: NOW })).toBe('j')
    expect(checkSignedClaims({ ...ok, aud: 'https://localhost:8443/open-banking/payments/v4/consents' }, { audiences: AUD, organisationId: 'org', nowMs: NOW })).toBe('j')
    const c = (over: Record<string, unknown>) => code(() => checkSignedClaims({ ...ok, ...over }, { audiences: AUD, organisationId: 'org', nowMs: NOW }))
    expect(c({ aud: 'https://localhost:8443/open-banking/payments/v4/pix/payments' })).toBe('JWS_AUDIENCE_INVALID')
    expect(c({ iss: 'other' })).toBe('JWS_ISSUER_INVALID')
    expect(c({ iat: NOW / 1000 - 61 })).toBe('JWS_IAT_INVALID')
    expect(c({ iat: NOW / 1000 + 61 })).toBe('JWS_IAT_INVALID')
    expect(c({ iat: String(NOW / 1000) })).toBe('JWS_IAT_INVALID')
    expect(c({ jti: '' })).toBe('JWS_JTI_INVALID')
  })

  test('answer claims keep data, links, meta and errors, addressed to the client', () => {
    expect(answerClaims({ data: 1, links: 2, meta: 3, errors: 4, other: 5 }, 'org')).toEqual({ aud: 'org', data: 1, links: 2, meta: 3, errors: 4 })
  })
})
