import { describe, expect, it } from 'vitest'
import { specValidator } from './openapi.ts'

describe('specValidator', () => {
  const spec = specValidator('consents-v3.3.1.yaml')

  it('accepts a valid error envelope and refuses a malformed one', () => {
    const good = { errors: [{ code: 'X', title: 'T', detail: 'D' }], meta: { requestDateTime: '2026-01-01T00:00:00Z' } }
    expect(spec.check('GET', '/consents/{consentId}', 404, good)).toEqual([])
    const bad = { errors: [{ code: 'X' }], meta: {} }
    expect(spec.check('GET', '/consents/{consentId}', 404, bad).length).toBeGreaterThan(0)
  })

  it('falls back to the default response and reports unknown paths', () => {
    // consents-v3.3.1 documents a `default` error response, so an unlisted status must still carry the envelope.
    expect(spec.check('GET', '/consents/{consentId}', 418, {})[0]).toMatch(/required property/)
    expect(spec.check('GET', '/nope', 200, {})[0]).toMatch(/not in/)
  })
})
