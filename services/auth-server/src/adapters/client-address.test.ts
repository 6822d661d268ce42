import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { clientAddress } from './client-address.ts'

const req = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage

describe('client address for throttling', () => {
  it('is the TCP peer, whatever X-Forwarded-For says, when the peer is not a trusted proxy', () => {
    expect(clientAddress(req('203.0.113.7', '198.51.100.1'), ['10.0.0.1'])).toBe('203.0.113.7')
    expect(clientAddress(req('::ffff:203.0.113.7', '198.51.100.1'), [])).toBe('203.0.113.7')
  })

  it('is the right-most untrusted X-Forwarded-For hop when the peer is a trusted proxy', () => {
    expect(clientAddress(req('10.0.0.1', '1.2.3.4, 198.51.100.9'), ['10.0.0.1'])).toBe('198.51.100.9')
    expect(clientAddress(req('10.0.0.1', '1.2.3.4, 198.51.100.9, 10.0.0.2'), ['10.0.0.1', '10.0.0.2'])).toBe('198.51.100.9')
    expect(clientAddress(req('10.0.0.1'), ['10.0.0.1'])).toBe('10.0.0.1')
    expect(clientAddress(req('10.0.0.1', 'not-an-address'), ['10.0.0.1'])).toBe('10.0.0.1')
  })
})
