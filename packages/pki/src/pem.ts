import { createHash, X509Certificate } from 'node:crypto'

/**
 * Anything that holds one X.509 certificate: a PEM string (the first CERTIFICATE block is used), a base64 DER
 * string (as in a JWK `x5c` entry), DER bytes (Buffer / Uint8Array / ArrayBuffer), a node:crypto
 * `X509Certificate` (as returned by `tlsSocket.getPeerX509Certificate()`), or any object with a DER `rawData`
 * ArrayBuffer (an `@peculiar/x509` certificate).
 */
export type CertificateInput = string | Uint8Array | ArrayBuffer | X509Certificate | { readonly rawData: ArrayBuffer }

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

/**
 * Decodes the first PEM block of `pem` (optionally only blocks with the given `label`, such as `CERTIFICATE`
 * or `PRIVATE KEY`) to DER. Throws when there is none.
 */
export function pemToDer(pem: string, label?: string): Buffer {
  for (const m of pem.matchAll(PEM_BLOCK)) {
    if (label === undefined || m[1] === label) return Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64')
  }
  throw new Error(label === undefined ? 'no PEM block found' : `no PEM block labelled ${label} found`)
}

/** Encodes DER bytes as a PEM block (64-character lines, trailing newline). Default label `CERTIFICATE`. */
export function derToPem(der: Uint8Array | ArrayBuffer, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64')
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** Splits a PEM bundle into its CERTIFICATE blocks, each re-encoded as a normalized PEM string. */
export function splitPemBundle(bundle: string): string[] {
  const out: string[] = []
  for (const m of bundle.matchAll(PEM_BLOCK)) {
    if (m[1] === 'CERTIFICATE') out.push(derToPem(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64')))
  }
  return out
}

/** Returns the DER encoding of a certificate given in any {@link CertificateInput} form. */
export function certificateToDer(input: CertificateInput): Buffer {
  if (typeof input === 'string') {
    if (input.includes('-----BEGIN')) return pemToDer(input, 'CERTIFICATE')
    const der = Buffer.from(input.replace(/\s+/g, ''), 'base64')
    if (der.length === 0 || der[0] !== 0x30) throw new Error('string is neither PEM nor base64 DER')
    return der
  }
  if (input instanceof X509Certificate) return input.raw
  if (input instanceof ArrayBuffer) return Buffer.from(new Uint8Array(input))
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  if (input.rawData instanceof ArrayBuffer) return Buffer.from(new Uint8Array(input.rawData))
  throw new TypeError('unsupported certificate input')
}

/** Returns a node:crypto `X509Certificate` for any {@link CertificateInput}. */
export function toX509Certificate(input: CertificateInput): X509Certificate {
  return input instanceof X509Certificate ? input : new X509Certificate(certificateToDer(input))
}

/**
 * RFC 8705 certificate thumbprint: base64url (no padding) SHA-256 of the certificate's DER, the value of
 * `cnf["x5t#S256"]` in certificate-bound access tokens and of a JWK's `x5t#S256`.
 */
export function x5tS256(cert: CertificateInput): string {
  return createHash('sha256').update(certificateToDer(cert)).digest('base64url')
}
