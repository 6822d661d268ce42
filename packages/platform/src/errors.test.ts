import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DomainError, domainErrorBody, httpStatus, ofbDateTime, ofbError } from './errors.ts'

describe('error codes', () => {
  it('every ErrorCode has a section in docs/errors.md that names its status, and nothing else is documented', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
    const documented = [...doc.matchAll(/^## ([A-Z_]+)\n([^\n]*)/gm)]
    expect(documented.map((m) => m[1]).sort()).toEqual(Object.keys(httpStatus).sort())
    for (const [, code, first] of documented) expect(first, code).toMatch(new RegExp(`^${httpStatus[code as keyof typeof httpStatus]}\\.`))
  })

  it('writes dates without fractions and clips fields to the spec limits', () => {
    expect(ofbDateTime(new Date('2026-03-04T05:06:07.891Z'))).toBe('2026-03-04T05:06:07Z')
    // The text of a second is reused within it, never across seconds.
    expect(ofbDateTime(new Date('2026-03-04T05:06:07.001Z'))).toBe('2026-03-04T05:06:07Z')
    expect(ofbDateTime(new Date('2026-03-04T05:06:08.000Z'))).toBe('2026-03-04T05:06:08Z')
    expect(ofbDateTime(new Date('1969-12-31T23:59:59.500Z'))).toBe('1969-12-31T23:59:59Z')
    expect(() => ofbDateTime(new Date(Number.NaN))).toThrow(RangeError)
    expect(ofbDateTime()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const body = ofbError({ code: 'X'.repeat(300), title: 'T', detail: 'D'.repeat(3000) })
    expect(body.errors[0]!.code).toHaveLength(255)
    expect(body.errors[0]!.detail).toHaveLength(2048)
    expect(ofbError(Array.from({ length: 20 }, () => ({ code: 'A', title: 'B', detail: 'C' }))).errors).toHaveLength(13)
  })

  it('keeps an API-specific code and status on a DomainError', () => {
    const err = new DomainError('UNPROCESSABLE_ENTITY', 'already rejected', { ofbCode: 'CONSENTIMENTO_EM_STATUS_REJEITADO' })
    expect(err.status).toBe(422)
    expect(domainErrorBody(err).errors[0]).toEqual({ code: 'CONSENTIMENTO_EM_STATUS_REJEITADO', title: 'Regra de negócio violada', detail: 'already rejected' })
  })
})
