import { compactVerify, decodeProtectedHeader, importJWK } from 'jose'
import { DirectoryFetchError, type Keystore } from './ports.ts'
import { refuse } from './refusal.ts'
import { ORG_ID_PATTERN } from './ssa.ts'
import { keystoreFailure, usableForSignature } from './ssa-verifier.ts'

/**
 * Verifies a compact JWS signed by a participant (TPP or bank), e.g. a payment request: the payload's `iss` is the
 * organisation id, the key is found by `kid` in `<keystore>/<iss>/application.jwks` (one rate-limited refresh for
 * an unknown kid), PS256 only. The URL is built from a validated id, so `iss` cannot point the request elsewhere.
 * Refusals: `MALFORMED`, `UNKNOWN_SIGNER`, `BAD_SIGNATURE`.
 */
export function createJwsVerifier(options: { keystore: Keystore; keystoreUrl: string }) {
  return async function verifyJws(jws: string, expectedOrganisationId?: string) {
    const parts = jws.split('.')
    if (parts.length !== 3) throw refuse('MALFORMED', 'not a compact JWS')
    let header
    let payload: unknown
    try {
      header = decodeProtectedHeader(jws)
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
    } catch {
      throw refuse('MALFORMED', 'JWS header or payload is not JSON')
    }
    if (header.alg !== 'PS256') throw refuse('MALFORMED', `JWS alg must be PS256, got ${String(header.alg)}`)
    if (typeof header.kid !== 'string' || header.kid === '') throw refuse('MALFORMED', 'JWS has no kid')
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw refuse('MALFORMED', 'JWS payload is not a JSON object')
    const iss = (payload as Record<string, unknown>).iss
    if (typeof iss !== 'string' || !ORG_ID_PATTERN.test(iss)) throw refuse('MALFORMED', 'JWS iss is not an organisation id')
    if (expectedOrganisationId !== undefined && iss !== expectedOrganisationId) throw refuse('UNKNOWN_SIGNER', `JWS iss ${iss} is not ${expectedOrganisationId}`)

    const url = `${options.keystoreUrl}/${encodeURIComponent(iss)}/application.jwks`
    const jwk = await options.keystore.findKey(url, header.kid).catch((err: unknown) => {
      // A keystore that does not exist (404) means the organisation publishes no keys.
      if (err instanceof DirectoryFetchError && err.code === 'BAD_RESPONSE') return undefined
      return keystoreFailure(err)
    })
    if (!usableForSignature(jwk)) throw refuse('UNKNOWN_SIGNER', `kid ${header.kid} is not a signing key of organisation ${iss}`)
    try {
      await compactVerify(jws, await importJWK(jwk, 'PS256'), { algorithms: ['PS256'] })
    } catch {
      throw refuse('BAD_SIGNATURE', 'JWS signature does not verify')
    }
    return { header: header as Record<string, unknown>, payload: payload as Record<string, unknown>, organisationId: iss }
  }
}
