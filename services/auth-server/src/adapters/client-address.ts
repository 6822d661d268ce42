import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { fromTrustedProxy } from './client-certificate.ts'

const bare = (address: string | undefined) => (address ?? '').trim().replace(/^::ffff:/, '')

/**
 * The customer's address for throttling: the TCP peer, unless the peer is a configured trusted proxy; then the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left are the client's word).
 * The header is ignored from anyone else, so a client cannot pick the address it is counted under.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: readonly string[]): string {
  const peer = bare(req.socket.remoteAddress) || 'unknown'
  if (!fromTrustedProxy(req, trustedProxies)) return peer
  const header = req.headers['x-forwarded-for']
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map(bare).filter(Boolean)
  const trusted = new Set(trustedProxies.map(bare))
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!
    if (trusted.has(hop)) continue
    return isIP(hop) ? hop : peer
  }
  return peer
}
