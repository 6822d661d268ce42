import { readFile } from 'node:fs/promises'
import type { X509Certificate } from 'node:crypto'
import { derToPem, splitPemBundle, toX509Certificate, type CertificateInput } from './pem.ts'

/** Why a chain did not verify. */
export type ChainFailureReason = 'UNTRUSTED_CA' | 'EXPIRED' | 'NOT_YET_VALID' | 'BAD_SIGNATURE'

/** Result of {@link verifyCertificateChain}. */
export type ChainVerificationResult =
  | { readonly ok: true; /** Leaf first, ending with the trust anchor. */ readonly chain: readonly X509Certificate[] }
  | { readonly ok: false; readonly reason: ChainFailureReason; /** Human-readable detail for logs. */ readonly detail: string }

/** Options of {@link verifyCertificateChain}. */
export interface ChainVerificationOptions {
  /** Trusted CA certificates; a string may be a PEM bundle of several. */
  readonly trustAnchors: readonly CertificateInput[]
  /** Untrusted intermediates that may complete the path (as a TLS peer sends them); strings may be bundles. */
  readonly intermediates?: readonly CertificateInput[]
  /** Time at which validity is checked. Default: the current time. */
  readonly now?: Date
}

const MAX_DEPTH = 8

function expand(inputs: readonly CertificateInput[]): X509Certificate[] {
  return inputs.flatMap((i) => (typeof i === 'string' && i.includes('-----BEGIN') ? splitPemBundle(i) : [i])).map(toX509Certificate)
}

function sameCertificate(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw)
}

function subjectOf(c: X509Certificate): string {
  return c.subject.replaceAll('\n', ', ')
}

/**
 * Verifies `leaf` up to one of `trustAnchors`: at each step an issuer is a CA certificate whose subject (and
 * subject key id, when the AKI names one) matches and whose key verifies the signature (node:crypto
 * `checkIssued` + `verify`); intermediates come from `intermediates`. Then every certificate of the path,
 * anchor included, must be valid at `now`. A leaf that is itself an anchor is trusted. Revocation is not
 * checked.
 */
export function verifyCertificateChain(leaf: CertificateInput, options: ChainVerificationOptions): ChainVerificationResult {
  const anchors = expand(options.trustAnchors)
  const pool = expand(options.intermediates ?? [])
  const chain: X509Certificate[] = [toX509Certificate(leaf)]
  let badSignature: string | undefined
  let trusted = false
  for (let depth = 0; depth < MAX_DEPTH && !trusted; depth++) {
    const current = chain[chain.length - 1]!
    if (anchors.some((a) => sameCertificate(a, current))) {
      trusted = true
      break
    }
    const candidates = [...anchors.map((c) => ({ c, anchor: true })), ...pool.map((c) => ({ c, anchor: false }))].filter(
      ({ c }) => c.ca && !chain.some((x) => sameCertificate(x, c)) && current.checkIssued(c),
    )
    const issuer = candidates.find(({ c }) => current.verify(c.publicKey))
    if (!issuer) {
      if (candidates.length > 0) badSignature = `signature of ${subjectOf(current)} does not verify with its issuer's key`
      break
    }
    chain.push(issuer.c)
    trusted = issuer.anchor
  }
  if (!trusted) {
    if (badSignature !== undefined) return { ok: false, reason: 'BAD_SIGNATURE', detail: badSignature }
    const last = chain[chain.length - 1]!
    return { ok: false, reason: 'UNTRUSTED_CA', detail: `no trusted issuer for ${subjectOf(last)} (issuer ${last.issuer.replaceAll('\n', ', ')})` }
  }
  const now = options.now ?? new Date()
  for (const c of chain) {
    if (c.validToDate.getTime() < now.getTime()) {
      return { ok: false, reason: 'EXPIRED', detail: `${subjectOf(c)} expired at ${c.validToDate.toISOString()}` }
    }
    if (c.validFromDate.getTime() > now.getTime()) {
      return { ok: false, reason: 'NOT_YET_VALID', detail: `${subjectOf(c)} is valid from ${c.validFromDate.toISOString()}` }
    }
  }
  return { ok: true, chain }
}

/**
 * A set of trust anchors loaded from PEM bundles (each bundle may hold several certificates), such as the
 * ICP-Brasil v5/v10 chains in production or the dev CA's root in development.
 */
export class TrustStore {
  readonly #anchors: X509Certificate[] = []

  /** Creates a store from PEM bundles. */
  static fromPem(...bundles: readonly string[]): TrustStore {
    const store = new TrustStore()
    for (const b of bundles) store.add(b)
    return store
  }

  /** Creates a store from PEM bundle files. */
  static async fromFiles(paths: readonly string[]): Promise<TrustStore> {
    return TrustStore.fromPem(...(await Promise.all(paths.map((p) => readFile(p, 'utf8')))))
  }

  /** Adds every certificate of a PEM bundle (duplicates are ignored); throws when the bundle has none. */
  add(pemBundle: string): this {
    const certs = splitPemBundle(pemBundle).map(toX509Certificate)
    if (certs.length === 0) throw new Error('TrustStore.add: no CERTIFICATE block in bundle')
    for (const c of certs) if (!this.#anchors.some((a) => sameCertificate(a, c))) this.#anchors.push(c)
    return this
  }

  /** Number of anchors. */
  get size(): number {
    return this.#anchors.length
  }

  /** The anchors as parsed certificates. */
  get anchors(): readonly X509Certificate[] {
    return [...this.#anchors]
  }

  /** The anchors as one PEM bundle (for a TLS `ca` option). */
  toPem(): string {
    return this.#anchors.map((a) => derToPem(a.raw)).join('')
  }

  /** {@link verifyCertificateChain} against this store's anchors. */
  verify(leaf: CertificateInput, options: Omit<ChainVerificationOptions, 'trustAnchors'> = {}): ChainVerificationResult {
    return verifyCertificateChain(leaf, { ...options, trustAnchors: this.#anchors })
  }
}
