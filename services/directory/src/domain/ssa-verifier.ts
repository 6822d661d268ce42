import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose'
import { DomainError } from '@ponte/platform'
import type { HostAllowList } from './allow-list.ts'
import { DirectoryFetchError, type DirectoryStore, type Keystore, type StoredOrganisation } from './ports.ts'
import { refuse } from './refusal.ts'
import { checkIat, checkOrganisation, SsaClaims } from './ssa.ts'

/** Options of {@link createSsaVerifier}. */
export interface SsaVerifierOptions {
  keystore: Keystore
  store: DirectoryStore
  /** Looks an organisation up (syncing once when unknown). */
  organisation: (organisationId: string) => Promise<StoredOrganisation | undefined>
  /** When a lookup of an unknown organisation may next force a sync (said in the UNKNOWN_ORGANISATION refusal). */
  nextForcedSyncAt?: () => Date | undefined
  isAllowed: HostAllowList
  /** The SSA issuer's JWKS (`openbanking.jwks`). */
  ssaJwksUrl: string
  /** Required `iss` when set. */
  issuer?: string | undefined
  maxAgeS: number
  skewS: number
  now?: () => Date
}

/** Turns a keystore failure into the right answer: the directory being down is a 503, never a refusal. */
export function keystoreFailure(err: unknown): never {
  if (err instanceof DirectoryFetchError && err.code === 'HOST_NOT_ALLOWED') throw refuse('MALFORMED', err.message)
  if (err instanceof DirectoryFetchError) throw new DomainError('UPSTREAM_UNAVAILABLE', 'the directory keystore is unavailable', { cause: err })
  throw err
}

/** Signing keys only: an encryption key never verifies a signature. */
export function usableForSignature(jwk: JWK | undefined): jwk is JWK {
  return jwk !== undefined && jwk.kty === 'RSA' && jwk.use !== 'enc' && (jwk.alg === undefined || jwk.alg === 'PS256')
}

/**
 * SSA verification (DCR-BR v2.1 §7): PS256 signature by a key of the directory's SSA JWKS (unknown `kid` →
 * one rate-limited refresh), `iat` ≤ 5 minutes old and not in the future, keystore URIs on directory hosts,
 * organisation listed and Active, roles Active, software statement not revoked. Answers the claims as signed, or
 * throws a 422 refusal whose code is one of `SsaRefusal`.
 */
export function createSsaVerifier(options: SsaVerifierOptions) {
  const now = options.now ?? (() => new Date())
  return async function verifySsa(ssa: string): Promise<{ claims: Record<string, unknown> }> {
    let header
    try {
      header = decodeProtectedHeader(ssa)
    } catch {
      throw refuse('MALFORMED', 'software_statement is not a compact JWS')
    }
    if (ssa.split('.').length !== 3) throw refuse('MALFORMED', 'software_statement is not a compact JWS')
    if (header.alg !== 'PS256') throw refuse('MALFORMED', `software_statement alg must be PS256, got ${String(header.alg)}`)
    if (typeof header.kid !== 'string' || header.kid === '') throw refuse('MALFORMED', 'software_statement has no kid')

    const jwk = await options.keystore.findKey(options.ssaJwksUrl, header.kid).catch(keystoreFailure)
    if (!usableForSignature(jwk)) throw refuse('UNKNOWN_SIGNER', `kid ${header.kid} is not a key of the directory's SSA issuer`)
    let payloadBytes: Uint8Array
    try {
      payloadBytes = (await compactVerify(ssa, await importJWK(jwk, 'PS256'), { algorithms: ['PS256'] })).payload
    } catch {
      throw refuse('BAD_SIGNATURE', 'software_statement signature does not verify with the directory key')
    }
    let payload: unknown
    try {
      payload = JSON.parse(new TextDecoder().decode(payloadBytes))
    } catch {
      throw refuse('MALFORMED', 'software_statement payload is not JSON')
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw refuse('MALFORMED', 'software_statement payload is not a JSON object')
    const raw = payload as Record<string, unknown>
    if (options.issuer !== undefined && raw.iss !== options.issuer) throw refuse('UNKNOWN_SIGNER', 'software_statement iss is not the directory SSA issuer')
    if (typeof raw.iat !== 'number') throw refuse('MALFORMED', 'software_statement has no numeric iat')
    const iatFailure = checkIat(raw.iat, now(), options.maxAgeS, options.skewS)
    if (iatFailure) throw refuse(iatFailure.code, iatFailure.detail)

    const parsed = SsaClaims.safeParse(raw)
    if (!parsed.success) {
      throw refuse('MALFORMED', `software_statement claims: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`)
    }
    const claims = parsed.data
    for (const uri of [claims.software_jwks_uri, claims.software_jwks_transport_uri]) {
      if (uri !== undefined && !options.isAllowed(uri)) throw refuse('MALFORMED', 'software_statement keystore URI is not on a directory host')
    }

    const orgFailure = checkOrganisation(claims, await options.organisation(claims.org_id))
    if (orgFailure?.code === 'UNKNOWN_ORGANISATION') {
      const next = options.nextForcedSyncAt?.()
      throw refuse(orgFailure.code, `${orgFailure.detail}; ${next ? `the next directory sync may run at ${next.toISOString().replace(/\.\d{3}Z$/, 'Z')}` : 'the directory was just synced'}`)
    }
    if (orgFailure) throw refuse(orgFailure.code, orgFailure.detail)

    const known = await options.store.getSoftwareStatement(claims.software_id)
    if (known?.status === 'Revoked') throw refuse('SOFTWARE_STATEMENT_REVOKED', `software statement ${claims.software_id} keys were revoked`)
    const jwks = await options.keystore.get(claims.software_jwks_uri).catch(keystoreFailure)
    const kids = jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')
    if (kids.length === 0) throw refuse('SOFTWARE_STATEMENT_REVOKED', `software statement ${claims.software_id} publishes no active keys`)
    await options.store.rememberSoftwareStatement({
      softwareStatementId: claims.software_id,
      organisationId: claims.org_id,
      jwksUri: claims.software_jwks_uri,
      transportJwksUri: claims.software_jwks_transport_uri,
    })
    return { claims: raw }
  }
}
