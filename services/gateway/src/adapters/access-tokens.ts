import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { fetch as undiciFetch, type Dispatcher } from 'undici'
import { consentIdOf, type AccessTokenFacts } from '../domain/authorise.ts'
import { refuse } from '../domain/refusals.ts'
import { createSingleFlight } from './single-flight.ts'
import { createLru } from './lru.ts'

/** Options of {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  /** The auth-server's JWKS URL. */
  jwksUrl: string
  /** Expected `iss`. */
  issuer: string
  /** Accepted `aud` values (any of them). */
  audience: string[]
  /** Dispatcher for the JWKS fetch (carries the trust anchors of the auth-server's TLS certificate). */
  dispatcher?: Dispatcher
  /** Verified tokens kept (bounded LRU keyed by the raw token). */
  cacheSize: number
  /** Least time between two JWKS refreshes caused by an unknown `kid`. */
  jwksCooldownMs: number
  /** How long a fetched JWKS is used before it is fetched again. */
  jwksMaxAgeMs: number
  clockToleranceS: number
  /** Clock, ms (tests). */
  now?: () => number
}

/** Verifies access tokens (PS256 JWTs from the auth-server) and remembers verified ones until they expire. */
export interface AccessTokenVerifier {
  /** The token's facts, or a refusal (`TOKEN_INVALID` / `TOKEN_EXPIRED`). */
  verify(raw: string): Promise<AccessTokenFacts>
  /** The facts of an already verified, unexpired token (a hit, counted as one), without waiting; else `undefined`. */
  peek(raw: string): AccessTokenFacts | undefined
  readonly stats: { hits: number; misses: number; failures: number }
}

function factsOf(payload: JWTPayload): AccessTokenFacts {
  const clientId = payload.client_id
  const cnf = payload.cnf as Record<string, unknown> | undefined
  const x5t = cnf?.['x5t#S256']
  if (typeof clientId !== 'string' || !clientId) throw refuse('TOKEN_INVALID', 'the access token has no client_id')
  if (typeof x5t !== 'string' || !x5t) throw refuse('TOKEN_NOT_BOUND', 'the access token has no cnf.x5t#S256')
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []
  const consentId = consentIdOf(payload.consent_id, scopes)
  if (consentId === null) throw refuse('TOKEN_INVALID', 'the access token names more than one consent')
  return { clientId, scopes, x5tS256: x5t, exp: payload.exp!, ...(consentId ? { consentId } : {}) }
}

/** Creates the verifier: JWKS fetched once and cached, refreshed (rate-limited) on an unknown `kid`. */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const now = options.now ?? Date.now
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: options.jwksMaxAgeMs,
    timeoutDuration: 5_000,
    [customFetch]: (url, init) => undiciFetch(url, { ...(init as object), ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) }) as unknown as Promise<Response>,
  })
  const cache = createLru<string, AccessTokenFacts>(options.cacheSize)
  const stats = { hits: 0, misses: 0, failures: 0 }

  async function verifySlow(raw: string): Promise<AccessTokenFacts> {
    try {
      const { payload } = await jwtVerify(raw, jwks, {
        algorithms: ['PS256'],
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'client_id'],
        clockTolerance: options.clockToleranceS,
        currentDate: new Date(now()),
      })
      const facts = factsOf(payload)
      cache.set(raw, facts)
      return facts
    } catch (err) {
      stats.failures++
      if (err instanceof joseErrors.JWTExpired) throw refuse('TOKEN_EXPIRED')
      if (err instanceof joseErrors.JOSEError) throw refuse('TOKEN_INVALID', `the access token is not valid (${err.code})`)
      throw err
    }
  }
  const verifications = createSingleFlight(verifySlow)

  return {
    stats,
    peek(raw) {
      const hit = cache.get(raw)
      if (!hit || hit.exp * 1000 + options.clockToleranceS * 1000 <= now()) return undefined
      stats.hits++
      return hit
    },
    async verify(raw) {
      const hit = cache.get(raw)
      if (hit) {
        if (hit.exp * 1000 + options.clockToleranceS * 1000 > now()) {
          stats.hits++
          return hit
        }
        cache.delete(raw)
        throw refuse('TOKEN_EXPIRED')
      }
      stats.misses++
      return verifications.run(raw)
    },
  }
}
