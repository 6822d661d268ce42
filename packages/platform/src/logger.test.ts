import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, maskSensitive } from './logger.ts'

function capture() {
  const lines: string[] = []
  const destination = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb() } })
  return { logger: createLogger({ service: 'svc', destination }), lines }
}

describe('logger', () => {
  it('masks CPF and CNPJ in both plain and formatted forms', () => {
    expect(maskSensitive('cpf 76109277673 and 761.092.776-73')).toBe('cpf [CPF] and [CPF]')
    expect(maskSensitive('cnpj 11222333000181 / 11.222.333/0001-81')).toBe('cnpj [CNPJ] / [CNPJ]')
    expect(maskSensitive('order 1234567890123 stays')).toBe('order 1234567890123 stays')
    expect(maskSensitive('uuid 3f1c2e4a-1111-4222-8333-123456789012')).toBe('uuid 3f1c2e4a-1111-4222-8333-123456789012')
  })

  it('keeps trace and span ids whole, though a hex id may hold a CPF-long run of digits', () => {
    const { logger, lines } = capture()
    const traceId = 'ab76109277673cdef0123456789abcde'
    logger.info({ traceId, spanId: 'f76109277673abcd', note: 'x 76109277673 y' }, 'traced')
    const line = JSON.parse(lines.join(''))
    expect(line.traceId).toBe(traceId)
    expect(line.spanId).toBe('f76109277673abcd')
    expect(line.note).toBe('x [CPF] y')
    // Without the OpenTelemetry bootstrap no trace fields are added.
    logger.info('plain')
    expect(JSON.parse(lines[1]!)).not.toHaveProperty('traceId')
  })

  it('redacts credentials and masks personal data in fields and messages', () => {
    const { logger, lines } = capture()
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----'
    logger.info({
      req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=1' } },
      customer: { document: '76109277673', note: `key ${pem}` },
      privateKeyPem: pem,
    }, 'login for 761.092.776-73')
    const out = lines.join('')
    const line = JSON.parse(out)
    expect(line.service).toBe('svc')
    expect(line.level).toBe('info')
    expect(line.req.headers.authorization).toBe('[REDACTED]')
    expect(line.req.headers.cookie).toBe('[REDACTED]')
    expect(line.privateKeyPem).toBe('[REDACTED]')
    expect(line.customer.document).toBe('[CPF]')
    expect(line.customer.note).toBe('key [PRIVATE KEY]')
    expect(line.msg).toBe('login for [CPF]')
    expect(out).not.toContain('76109277673')
    expect(out).not.toContain('MIIabc')
    expect(out).not.toContain('abc.def')
  })

  it('masks personal data inside logged errors', () => {
    const { logger, lines } = capture()
    logger.error({ err: new Error('customer 76109277673 not found') }, 'lookup failed')
    const line = JSON.parse(lines.join(''))
    expect(line.err.message).toBe('customer [CPF] not found')
    expect(line.err.stack).not.toContain('76109277673')
    expect(line.err.type).toBe('Error')
  })
})
