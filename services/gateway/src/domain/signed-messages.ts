import { refuse } from './refusals.ts'

/**
 * Signed request bodies (docs/regulation/security-profile.md#signed-messages-jws,
 * docs/regulation/payments.md#validation-order): a compact JWS, PS256, `typ` JWT, `kid` of the TPP's key; then its
 * claims `aud`, `iss`, `iat`, `jti`. Pure: the signature itself is checked by the caller with the key found by `kid`.
 */
export interface ParsedJws {
  kid: string
  payload: Record<string, unknown>
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string
  signature: Buffer
}

/** Most seconds `iat` may be away from the gateway's clock. */
export const IAT_TOLERANCE_S = 60

const SEGMENT = /^[A-Za-z0-9_-]*$/

function json(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Step 3 (400 `BAD_SIGNATURE`): the body is a compact JWS whose header the bank accepts. */
export function parseSignedRequest(body: string): ParsedJws {
  const parts = body.trim().split('.')
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p)) || !parts[2]) throw refuse('BAD_SIGNATURE', 'the body is not a compact JWS')
  const header = json(parts[0]!)
  const payload = json(parts[1]!)
  if (!isObject(header) || !isObject(payload)) throw refuse('BAD_SIGNATURE', 'the JWS header or payload is not a JSON object')
  if (header.alg !== 'PS256') throw refuse('BAD_SIGNATURE', `the JWS alg must be PS256, got ${String(header.alg)}`)
  if (header.typ !== 'JWT') throw refuse('BAD_SIGNATURE', 'the JWS typ must be JWT')
  if (typeof header.kid !== 'string' || header.kid === '') throw refuse('BAD_SIGNATURE', 'the JWS header has no kid')
  if (header.crit !== undefined) throw refuse('BAD_SIGNATURE', 'the JWS header has critical extensions')
  return { kid: header.kid, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, 'base64url') }
}

/**
 * Step 4 (403): `aud` is this endpoint's URL as the bank publishes it (one of `audiences`), `iss` the caller's
 * organisation, `iat` within ±{@link IAT_TOLERANCE_S} s, `jti` present. Returns the `jti`.
 */
export function checkSignedClaims(payload: Record<string, unknown>, o: { audiences: ReadonlySet<string>; organisationId: string; nowMs: number }): string {
  const aud = payload.aud
  const auds = Array.isArray(aud) ? aud : [aud]
  if (!auds.some((a) => typeof a === 'string' && o.audiences.has(a))) throw refuse('JWS_AUDIENCE_INVALID')
  if (payload.iss !== o.organisationId) throw refuse('JWS_ISSUER_INVALID')
  const iat = payload.iat
  if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(iat - o.nowMs / 1000) > IAT_TOLERANCE_S) throw refuse('JWS_IAT_INVALID')
  const jti = payload.jti
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 200) throw refuse('JWS_JTI_INVALID')
  return jti
}

/** The accepted `aud` values of a path: the path under each public base URL of the gateway. */
export function audiencesOf(baseUrls: readonly string[], path: string): Set<string> {
  return new Set(baseUrls.map((b) => `${b.replace(/\/+$/, '')}${path}`))
}

/** The claims of a signed answer: the upstream body's `data`, `links`, `meta`, `errors`, addressed to the client. */
export function answerClaims(body: unknown, audience: string): Record<string, unknown> {
  const claims: Record<string, unknown> = { aud: audience }
  if (isObject(body)) for (const k of ['data', 'links', 'meta', 'errors'] as const) if (body[k] !== undefined) claims[k] = body[k]
  return claims
}
