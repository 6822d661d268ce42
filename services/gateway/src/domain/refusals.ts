import { DomainError, type ErrorCode } from '@ponte/platform'

/**
 * Every refusal the gateway answers itself, with its HTTP status (through the platform code) and the `code` written in
 * the OFB error envelope. The README lists them; `refusals.test.ts` keeps that list true.
 */
export const refusals = {
  CLIENT_CERTIFICATE_REQUIRED: { code: 'UNAUTHORIZED', detail: 'a client certificate is required' },
  CLIENT_CERTIFICATE_UNTRUSTED: { code: 'UNAUTHORIZED', detail: 'the client certificate does not chain to a trusted CA' },
  TOKEN_MISSING: { code: 'UNAUTHORIZED', detail: 'a Bearer access token is required' },
  TOKEN_INVALID: { code: 'UNAUTHORIZED', detail: 'the access token is not valid' },
  TOKEN_EXPIRED: { code: 'UNAUTHORIZED', detail: 'the access token has expired' },
  TOKEN_NOT_BOUND: { code: 'UNAUTHORIZED', detail: 'the access token is not bound to the presented certificate' },
  CONSENT_NOT_AUTHORISED: { code: 'UNAUTHORIZED', detail: 'the consent is not authorised' },
  CONSENT_EXPIRED: { code: 'UNAUTHORIZED', detail: 'the consent has expired' },
  CONSENT_UNKNOWN: { code: 'UNAUTHORIZED', detail: 'the token does not refer to a known consent' },
  INVALID_INTERACTION_ID: { code: 'INVALID_REQUEST', detail: 'x-fapi-interaction-id is missing or not an RFC 4122 UUID' },
  SIGNED_BODY_REQUIRED: { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'the request body must be a signed JWS (content-type application/jwt)' },
  BAD_SIGNATURE: { code: 'INVALID_REQUEST', detail: 'the JWS signature does not verify with a signing key of the caller' },
  JWS_AUDIENCE_INVALID: { code: 'FORBIDDEN', detail: 'the JWS aud is not the URL of this endpoint' },
  JWS_ISSUER_INVALID: { code: 'FORBIDDEN', detail: 'the JWS iss is not the organisation of the client certificate' },
  JWS_IAT_INVALID: { code: 'FORBIDDEN', detail: 'the JWS iat is missing or more than 60 seconds from now' },
  JWS_JTI_INVALID: { code: 'FORBIDDEN', detail: 'the JWS has no jti' },
  JWS_JTI_REUSED: { code: 'FORBIDDEN', detail: 'the JWS jti was already used by this client' },
  WRONG_TOKEN_TYPE: { code: 'FORBIDDEN', detail: 'this endpoint takes a client_credentials token, not one bound to a consent' },
  SCOPE_MISSING: { code: 'FORBIDDEN', detail: 'the access token lacks the scope this API requires' },
  CONSENT_CLIENT_MISMATCH: { code: 'FORBIDDEN', detail: 'the consent belongs to another client' },
  PERMISSION_NOT_GRANTED: { code: 'FORBIDDEN', detail: 'the consent does not grant the permission this endpoint requires' },
  RESOURCE_NOT_CONSENTED: { code: 'FORBIDDEN', detail: 'the resource is not among the consented resources' },
  ORGANISATION_SUSPENDED: { code: 'FORBIDDEN', detail: 'the organisation is not active in the directory' },
  SOFTWARE_STATEMENT_REVOKED: { code: 'FORBIDDEN', detail: 'the software statement was revoked in the directory' },
  CLIENT_SUSPENDED: { code: 'FORBIDDEN', detail: 'the client is suspended by the bank' },
  API_VERSION_NOT_OFFERED: { code: 'NOT_FOUND', detail: 'this API version is not offered' },
  OPERATIONAL_LIMIT_EXCEEDED: { code: 'OPERATIONAL_LIMIT_EXCEEDED', detail: 'the monthly operational limit of this endpoint is exhausted' },
  TOO_MANY_REQUESTS: { code: 'TOO_MANY_REQUESTS', detail: 'the per-minute limit of this endpoint is exhausted' },
  SITE_OVERLOADED: { code: 'SITE_OVERLOADED', detail: 'the global capacity is exhausted; retry shortly' },
  LIMITS_UNAVAILABLE: { code: 'SERVICE_UNAVAILABLE', detail: 'traffic limits cannot be checked now' },
  REPLAY_CHECK_UNAVAILABLE: { code: 'SERVICE_UNAVAILABLE', detail: 'the jti replay check cannot be made now' },
} as const satisfies Record<string, { code: ErrorCode; detail: string }>

export type Refusal = keyof typeof refusals

/** A {@link DomainError} for a refusal; the envelope's `code` is the refusal name. */
export function refuse(refusal: Refusal, detail?: string, headers?: Record<string, string>, quiet?: boolean): DomainError {
  const r = refusals[refusal]
  return new DomainError(r.code, detail ?? r.detail, { ofbCode: refusal, ...(headers ? { headers } : {}), ...(quiet ? { quiet } : {}) })
}
