import type { Refusal } from '@ponte/platform'

/** Paths that are not OAuth endpoints: the platform's own and the internal API keep the OFB envelope (and are never limited). */
export const PLATFORM_PATH = /^\/(internal\/|healthz$|readyz$)/

/** The RFC 6749 / 7591 error code for a refusal the server factory makes (unknown method, bad body, bad framing…). */
export function oauthErrorCode(refusal: Refusal): string {
  const registration = refusal.path !== undefined && /^\/register(\/|$)/.test(refusal.path) && (refusal.method === 'POST' || refusal.method === 'PUT')
  if (refusal.status === 401) return refusal.path === '/me' ? 'invalid_token' : 'invalid_client'
  if (refusal.status === 403) return 'access_denied'
  if (refusal.status === 503) return 'temporarily_unavailable'
  if (refusal.status >= 500) return 'server_error'
  // RFC 7591 §3.2.2: a registration request whose body cannot be read as client metadata.
  if (registration && [400, 413, 415].includes(refusal.status)) return 'invalid_client_metadata'
  return 'invalid_request'
}

/**
 * The auth-server speaks OAuth: every refusal the server factory writes (including the framework's own, before a
 * route runs) is `{ error, error_description }` (RFC 6749 §5.2, RFC 7591 §3.2.2), except on the platform's paths.
 */
export function oauthRefusalBody(refusal: Refusal): { error: string; error_description: string } | undefined {
  if (refusal.path !== undefined && PLATFORM_PATH.test(refusal.path)) return undefined
  return { error: oauthErrorCode(refusal), error_description: refusal.detail }
}

/** Words for the error codes the OAuth library can answer without a description (RFC 6749 §5.2, RFC 9126 §2.3). */
const DESCRIPTIONS: Record<string, string> = {
  request_uri_not_supported: 'request_uri is not accepted here; push the authorization request parameters instead',
  request_not_supported: 'the request parameter is not accepted here',
  invalid_request_uri: 'the request_uri is unknown, expired or already used',
  invalid_request_object: 'the request object is invalid',
  registration_not_supported: 'the registration parameter is not supported',
  unauthorized_client: 'the client is not allowed to use this grant or response type',
  login_required: 'the end-user must log in',
  temporarily_unavailable: 'the service is temporarily unavailable; retry shortly',
}

/** A description for an OAuth error code that came without one. */
export function describeOAuthError(error: string): string {
  return DESCRIPTIONS[error] ?? `the request was refused (${error})`
}
