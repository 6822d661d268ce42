import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DomainError, domainErrorBody, httpStatus, type ErrorCode } from '@ponte/platform'
import { refusals, refuse, type Refusal } from './refusals.ts'

const names = Object.keys(refusals) as Refusal[]
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** Every `<status> \`<CODE>\`` pair the README writes (the pipeline table's refusal column). */
const documented = [...readme.matchAll(/\b(\d{3}) `([A-Z][A-Z_]+)`/g)].map((m) => ({ status: Number(m[1]), code: m[2]! }))

describe('gateway refusals', () => {
  it.each(names)('%s answers the OFB envelope with its own name as the code', (name) => {
    const err = refuse(name)
    expect(err).toBeInstanceOf(DomainError)
    expect(err.status).toBe(httpStatus[refusals[name].code])
    const body = domainErrorBody(err, new Date('2026-01-02T03:04:05.678Z'))
    expect(body).toEqual({
      errors: [{ code: name, title: err.title, detail: refusals[name].detail }],
      meta: { requestDateTime: '2026-01-02T03:04:05Z' },
    })
  })

  it('carries a specific detail and response headers when given', () => {
    const err = refuse('TOO_MANY_REQUESTS', 'retry in 7 s', { 'retry-after': '7' })
    expect(err.status).toBe(429)
    expect(err.message).toBe('retry in 7 s')
    expect(err.headers).toEqual({ 'retry-after': '7' })
    expect(domainErrorBody(err).errors[0]!.code).toBe('TOO_MANY_REQUESTS')
  })

  it('uses the statuses the rules reserve for traffic limits and the interaction id', () => {
    // docs/regulation/data-apis.md#http-status-codes: 423, 429 and 529 mean one thing each.
    expect(refuse('OPERATIONAL_LIMIT_EXCEEDED').status).toBe(423)
    expect(refuse('TOO_MANY_REQUESTS').status).toBe(429)
    expect(refuse('SITE_OVERLOADED').status).toBe(529)
    // docs/regulation/data-apis.md#interaction-id: a missing or malformed id is refused with 400.
    expect(refuse('INVALID_INTERACTION_ID').status).toBe(400)
    // A refusal is never a 5xx of the gateway's own making, except when the limits (on request) or the jti replay
    // store cannot be checked (503).
    const serverErrors = names.filter((n) => refuse(n).status >= 500 && n !== 'SITE_OVERLOADED')
    expect(serverErrors).toEqual(['LIMITS_UNAVAILABLE', 'REPLAY_CHECK_UNAVAILABLE'])
  })

  it('the README lists every refusal with the status it answers', () => {
    for (const name of names) {
      expect(documented, `README lacks "${refuse(name).status} \`${name}\`"`).toContainEqual({ status: refuse(name).status, code: name })
    }
  })

  it('every status and code the README lists is what the gateway answers', () => {
    expect(documented.length).toBeGreaterThanOrEqual(names.length)
    for (const { status, code } of documented) {
      // Refusals answer their own status; the forwarding step's failures are platform codes (504, 503).
      const actual = code in refusals ? refuse(code as Refusal).status : httpStatus[code as ErrorCode]
      expect(actual, `README: ${status} \`${code}\``).toBe(status)
    }
  })
})
