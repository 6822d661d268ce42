import type { IncomingMessage } from 'node:http'
import { X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { parseClientCertificate } from '@ponte/pki'

/** The client certificate presented on a request, with the Open Finance ids it carries. */
export interface PresentedCertificate {
  certificate: X509Certificate
  /** The certificate, followed by the intermediates the client presented (PEM bundle), for chain checks elsewhere. */
  pem: string
  /** Whether the chain was verified: by this server's TLS stack (TLS_CLIENT_CA_FILE) or vouched for by a trusted proxy. */
  authorized: boolean
  /** Subject UID (software statement id), when the certificate is BRCAC-shaped. */
  softwareStatementId: string | undefined
  /** Directory organisation id (`organizationIdentifier` OFBBR-… or legacy OU). */
  organisationId: string | undefined
}

/** Where the client certificate may come from. */
export interface CertificateSourceOptions {
  /** Header with the URL-encoded PEM set by a TLS-terminating proxy. */
  header?: string | undefined
  /** Remote addresses allowed to set that header. */
  trustedProxies: readonly string[]
}

const cache = new WeakMap<IncomingMessage, PresentedCertificate | null>()
/**
 * The certificate of a TLS connection, read once per connection: walking the peer chain (`getPeerCertificate(true)`)
 * and parsing it cost more than the token's own signature, and every request on a keep-alive connection presents the
 * same certificate. Renegotiation (TLS 1.2), the only way a peer could change it mid-connection, is disabled on the
 * socket the moment its certificate is remembered.
 */
const perSocket = new WeakMap<TLSSocket, PresentedCertificate | null>()

function normalise(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '')
}

/** Whether the request comes from a configured proxy address. */
export function fromTrustedProxy(req: IncomingMessage, trustedProxies: readonly string[]): boolean {
  const remote = normalise(req.socket.remoteAddress)
  return trustedProxies.some((p) => normalise(p) === remote)
}

/**
 * Reads the client certificate of a request: from the configured header only when the request comes from a trusted
 * proxy (the header is ignored from anyone else), otherwise from the TLS socket. The result is cached per request (and,
 * read from the socket, per connection).
 */
export function presentedCertificate(req: IncomingMessage, options: CertificateSourceOptions): PresentedCertificate | undefined {
  const cached = cache.get(req)
  if (cached !== undefined) return cached ?? undefined
  let result: PresentedCertificate | undefined
  try {
    result = read(req, options)
  } catch {
    result = undefined
  }
  cache.set(req, result ?? null)
  return result
}

function read(req: IncomingMessage, options: CertificateSourceOptions): PresentedCertificate | undefined {
  if (options.header && fromTrustedProxy(req, options.trustedProxies)) {
    const value = req.headers[options.header]
    if (typeof value === 'string' && value.length > 0) {
      const pem = decodeURIComponent(value)
      return describe(new X509Certificate(pem), true, pem)
    }
  }
  const socket = req.socket as TLSSocket
  if (typeof socket.getPeerX509Certificate !== 'function') return undefined
  const known = perSocket.get(socket)
  if (known !== undefined) return known ?? undefined
  const cert = socket.getPeerX509Certificate()
  const result = cert ? describe(cert, socket.authorized === true, [cert.toString(), ...presentedIntermediates(socket)].join('')) : undefined
  socket.disableRenegotiation()
  perSocket.set(socket, result ?? null)
  return result
}

/** The intermediates the peer sent after its certificate (self-signed roots are left out: trust is not the peer's to give). */
function presentedIntermediates(socket: TLSSocket): string[] {
  const out: string[] = []
  let current = socket.getPeerCertificate(true)
  const seen = new Set<string>()
  while (current?.issuerCertificate && current.issuerCertificate !== current && out.length < 5) {
    const issuer = current.issuerCertificate
    if (!issuer.raw || seen.has(issuer.fingerprint256)) break
    seen.add(issuer.fingerprint256)
    const x = new X509Certificate(issuer.raw)
    if (x.subject === x.issuer) break
    out.push(x.toString())
    current = issuer
  }
  return out
}

function describe(certificate: X509Certificate, authorized: boolean, pem: string): PresentedCertificate {
  let softwareStatementId: string | undefined
  let organisationId: string | undefined
  try {
    const info = parseClientCertificate(certificate)
    softwareStatementId = info.softwareStatementId
    organisationId = info.orgId
  } catch {
    // Not an Open Finance client certificate: it can authenticate nothing here.
  }
  return { certificate, pem, authorized, softwareStatementId, organisationId }
}
