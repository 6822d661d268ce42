import { X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { parseClientCertificate, splitPemBundle, x5tS256, type TrustStore } from '@ponte/pki'
import { createLru } from './lru.ts'

/** What the gateway needs from a presented client certificate. */
export interface PresentedCertificate {
  /** RFC 8705 `x5t#S256` of the leaf. */
  thumbprint: string
  /** Directory organisation id (`organizationIdentifier` OFBBR-… or legacy OU), when the certificate carries one. */
  organisationId?: string
  /** Software statement id (UID), when present. */
  softwareStatementId?: string
}

/** The certificate of a request: present and trusted, or why not. */
export type CertificateResult = { ok: true; cert: PresentedCertificate } | { ok: false; reason: 'missing' | 'untrusted' }

/** Options of {@link createCertificateReader}. */
export interface CertificateReaderOptions {
  /** Trust anchors for certificates taken from the header (TLS-presented ones are checked by the TLS layer). */
  trustStore: TrustStore
  /** Header carrying the client certificate (URL-encoded PEM or base64 DER) set by a trusted proxy. */
  header?: string
  /** Addresses whose header is believed; from anyone else the header is stripped. */
  trustedProxies: readonly string[]
  now?: () => Date
}

/** Reads the client certificate of a request. */
export interface CertificateReader {
  /** Removes the certificate header unless the peer is a trusted proxy; call on every request before anything else. */
  strip(headers: Record<string, unknown>, remoteAddress: string | undefined): void
  read(socket: TLSSocket, headers: Record<string, string | string[] | undefined>, remoteAddress: string | undefined): CertificateResult
}

const MISSING: CertificateResult = { ok: false, reason: 'missing' }
const UNTRUSTED: CertificateResult = { ok: false, reason: 'untrusted' }

function describe(cert: X509Certificate | string): PresentedCertificate {
  const thumbprint = x5tS256(cert)
  try {
    const info = parseClientCertificate(cert)
    return { thumbprint, organisationId: info.orgId, softwareStatementId: info.softwareStatementId }
  } catch {
    // Not BRCAC-shaped: still usable for the binding check; organisation checks will refuse it.
    return { thumbprint }
  }
}

const normalise = (addr: string | undefined) => (addr?.startsWith('::ffff:') ? addr.slice(7) : addr)

/** Creates the reader: TLS-presented certificates are described once per connection; header ones once per value. */
export function createCertificateReader(options: CertificateReaderOptions): CertificateReader {
  const header = options.header?.toLowerCase()
  const proxies = new Set(options.trustedProxies.map((a) => normalise(a)))
  const perSocket = new WeakMap<TLSSocket, CertificateResult>()
  const perHeader = createLru<string, CertificateResult>(10_000)
  const now = options.now ?? (() => new Date())

  function fromHeader(value: string): CertificateResult {
    const cached = perHeader.get(value)
    if (cached) return cached
    let result: CertificateResult
    try {
      const text = value.includes('%') ? decodeURIComponent(value) : value
      const pems = text.includes('-----BEGIN') ? splitPemBundle(text) : [`-----BEGIN CERTIFICATE-----\n${text.trim()}\n-----END CERTIFICATE-----\n`]
      const [leafPem, ...intermediates] = pems
      if (!leafPem) throw new Error('no certificate')
      const leaf = new X509Certificate(leafPem)
      const verdict = options.trustStore.verify(leaf, { intermediates, now: now() })
      result = verdict.ok ? { ok: true, cert: describe(leaf) } : UNTRUSTED
    } catch {
      result = UNTRUSTED
    }
    perHeader.set(value, result)
    return result
  }

  return {
    strip(headers, remoteAddress) {
      if (header && headers[header] !== undefined && !proxies.has(normalise(remoteAddress))) delete headers[header]
    },
    read(socket, headers, remoteAddress) {
      if (header && proxies.has(normalise(remoteAddress))) {
        const value = headers[header]
        return typeof value === 'string' && value ? fromHeader(value) : MISSING
      }
      let result = perSocket.get(socket)
      if (!result) {
        const peer = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined
        // The TLS layer verified the chain against the configured anchors (requestCert, rejectUnauthorized: false).
        result = !peer ? MISSING : socket.authorized ? { ok: true, cert: describe(peer) } : UNTRUSTED
        perSocket.set(socket, result)
      }
      return result
    },
  }
}
