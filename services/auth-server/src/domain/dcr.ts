import { scopesForRoles } from './scopes.ts'

/** The RFC 7591 error codes DCR-BR allows (dcr-dcm-v2.0.1 `ClientRegistrationResponseError`). */
export type DcrErrorCode =
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'unapproved_software_statement'
  | 'invalid_webhook_uris'
  /** 401: no or untrusted client certificate (RFC 6749 §5.2). */
  | 'invalid_client'
  /** 401: bad registration access token (RFC 6750 §3.1). */
  | 'invalid_token'

/** A refused registration: answered 400 `{ error, error_description }`. */
export class DcrError extends Error {
  readonly error: DcrErrorCode
  readonly status: number
  constructor(error: DcrErrorCode, description: string, status = 400) {
    super(description)
    this.name = 'DcrError'
    this.error = error
    this.status = status
  }
}

/** What the SSA says, as far as registration uses it (claims verified by the directory connector). */
export interface SsaFacts {
  softwareId: string
  orgId: string
  jwksUri: string
  redirectUris: string[]
  webhookUris: string[] | undefined
  activeRoles: string[]
  clientName: string | undefined
  logoUri: string | undefined
  clientUri: string | undefined
  tosUri: string | undefined
  policyUri: string | undefined
}

const WEBHOOK_URI_RE = /^(https:\/\/[^\s/?#]+(?:\/[^\s/?#]+)*)$/

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined)
const strArray = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined)

/** Reads the SSA claims DCR needs; a claim missing or of the wrong type makes the SSA invalid. */
export function ssaFacts(claims: Record<string, unknown>): SsaFacts {
  const softwareId = str(claims.software_id)
  const orgId = str(claims.org_id)
  const jwksUri = str(claims.software_jwks_uri)
  const redirectUris = strArray(claims.software_redirect_uris)
  if (!softwareId || !orgId || !jwksUri || !redirectUris) {
    throw new DcrError('invalid_software_statement', 'software statement lacks software_id, org_id, software_jwks_uri or software_redirect_uris')
  }
  let activeRoles: string[]
  if (Array.isArray(claims.software_statement_roles)) {
    activeRoles = (claims.software_statement_roles as Array<Record<string, unknown>>)
      .filter((r) => r && typeof r.role === 'string' && r.status === 'Active')
      .map((r) => r.role as string)
  } else {
    activeRoles = strArray(claims.software_roles) ?? []
  }
  const webhooks = claims.software_api_webhook_uris
  return {
    softwareId,
    orgId,
    jwksUri,
    redirectUris,
    webhookUris: webhooks === undefined ? undefined : strArray(webhooks) ?? [],
    activeRoles,
    clientName: str(claims.software_client_name),
    logoUri: str(claims.software_logo_uri),
    clientUri: str(claims.software_client_uri),
    tosUri: str(claims.software_tos_uri),
    policyUri: str(claims.software_policy_uri),
  }
}

/**
 * The grant types DCR-BR lists (`docs/regulation/dcr.md`): `implicit` is accepted because the hybrid `code id_token`
 * response needs it; `password`, device code, CIBA, token exchange and anything else are refused.
 */
const ALLOWED_GRANT_TYPES = new Set(['authorization_code', 'implicit', 'refresh_token', 'client_credentials'])

/** The FAPI-BR / DCR-BR values a client's metadata must have; a request may repeat them but not change them. */
const FIXED: Record<string, unknown> = {
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'PS256',
  id_token_signed_response_alg: 'PS256',
  id_token_encrypted_response_alg: 'RSA-OAEP',
  id_token_encrypted_response_enc: 'A256GCM',
  request_object_signing_alg: 'PS256',
  authorization_signed_response_alg: 'PS256',
  subject_type: 'public',
  tls_client_certificate_bound_access_tokens: true,
  require_pushed_authorization_requests: true,
  require_signed_request_object: true,
}

/** Values a request may send and that must equal the fixed ones (DCR swagger enums). */
const ALSO_CHECKED: Record<string, unknown> = {
  introspection_endpoint_auth_method: 'private_key_jwt',
  revocation_endpoint_auth_method: 'private_key_jwt',
}

/** Inputs of {@link buildClientMetadata}. */
export interface BuildMetadataInput {
  /** The registration (or update) request body. */
  request: Record<string, unknown>
  ssa: SsaFacts
  /** Whether the JWKS at `ssa.jwksUri` holds an RSA `use=enc` key (fetched by the caller). */
  jwksHasEncryptionKey: boolean
  /** Scopes this server offers; a client is never given a scope outside them plus `openid`. */
  offeredScopes: readonly string[]
}

/**
 * Applies DCR-BR v2.1 to a registration request: the SSA wins over the request, the FAPI-BR values are fixed, and
 * every refusal carries the profile's error code. Returns the metadata to register (oidc-provider validates it
 * again against its own schema).
 */
export function buildClientMetadata(input: BuildMetadataInput): Record<string, unknown> {
  const { request, ssa } = input

  if (request.jwks !== undefined) throw new DcrError('invalid_client_metadata', 'jwks must not be sent; keys come from the directory (jwks_uri)')
  if (request.jwks_uri !== undefined && request.jwks_uri !== ssa.jwksUri) {
    throw new DcrError('invalid_client_metadata', 'jwks_uri must equal the software statement software_jwks_uri')
  }
  if (!input.jwksHasEncryptionKey) throw new DcrError('invalid_client_metadata', 'the jwks_uri key set holds no RSA key with "use":"enc"')

  for (const [key, value] of Object.entries({ ...FIXED, ...ALSO_CHECKED })) {
    if (request[key] !== undefined && request[key] !== value) {
      throw new DcrError('invalid_client_metadata', `${key} must be ${JSON.stringify(value)}`)
    }
  }

  const redirectUris = strArray(request.redirect_uris)
  if (!redirectUris || redirectUris.length === 0) throw new DcrError('invalid_redirect_uri', 'redirect_uris is required')
  const unknownRedirect = redirectUris.find((u) => !ssa.redirectUris.includes(u))
  if (unknownRedirect) throw new DcrError('invalid_redirect_uri', `redirect_uri ${unknownRedirect} is not in the software statement`)

  let webhookUris: string[] | undefined
  if (request.webhook_uris !== undefined) {
    const given = strArray(request.webhook_uris)
    if (!given) throw new DcrError('invalid_webhook_uris', 'webhook_uris must be an array of URLs')
    const bad = given.find((u) => !WEBHOOK_URI_RE.test(u))
    if (bad) throw new DcrError('invalid_webhook_uris', `webhook_uri ${bad} must be an https base URL without a trailing / or query`)
    const expected = new Set(ssa.webhookUris ?? [])
    if (given.length !== expected.size || given.some((u) => !expected.has(u))) {
      throw new DcrError('invalid_webhook_uris', 'webhook_uris must equal the software statement software_api_webhook_uris')
    }
    webhookUris = given
  }

  const grantTypes = request.grant_types === undefined ? ['client_credentials', 'authorization_code', 'refresh_token'] : strArray(request.grant_types)
  if (!grantTypes || grantTypes.length === 0 || grantTypes.some((g) => !ALLOWED_GRANT_TYPES.has(g))) {
    throw new DcrError('invalid_client_metadata', `grant_types must be a subset of ${[...ALLOWED_GRANT_TYPES].join(', ')}`)
  }
  const usesCode = grantTypes.includes('authorization_code')
  // OIDC Dynamic Registration §2: `code id_token` (the only response type here) goes with authorization_code and
  // implicit; implicit without the code flow would mean a response type FAPI-BR does not allow.
  if (grantTypes.includes('implicit') && !usesCode) {
    throw new DcrError('invalid_client_metadata', 'implicit is only allowed with authorization_code (response type "code id_token")')
  }
  if (request.response_types !== undefined) {
    const rt = strArray(request.response_types)
    if (!rt || rt.some((r) => r !== 'code id_token') || (usesCode && rt.length === 0)) {
      throw new DcrError('invalid_client_metadata', 'response_types must be ["code id_token"]')
    }
  }

  const allowed = new Set(scopesForRoles(ssa.activeRoles))
  if (allowed.size === 0) throw new DcrError('unapproved_software_statement', 'the software statement has no active regulatory role')
  const offered = new Set(input.offeredScopes)
  let scopes: string[]
  if (request.scope !== undefined) {
    if (typeof request.scope !== 'string') throw new DcrError('invalid_client_metadata', 'scope must be a string')
    scopes = [...new Set(request.scope.split(' ').filter(Boolean))]
    const outside = scopes.find((s) => !allowed.has(s))
    if (outside) throw new DcrError('invalid_client_metadata', `scope ${outside} is not allowed by the software statement's active roles`)
  } else {
    scopes = [...allowed]
  }
  scopes = scopes.filter((s) => offered.has(s))
  if (!scopes.includes('openid')) scopes.unshift('openid')

  const metadata: Record<string, unknown> = {
    ...FIXED,
    application_type: 'web',
    grant_types: grantTypes,
    response_types: usesCode ? ['code id_token'] : [],
    redirect_uris: redirectUris,
    jwks_uri: ssa.jwksUri,
    scope: scopes.join(' '),
    software_id: ssa.softwareId,
    org_id: ssa.orgId,
    software_roles: ssa.activeRoles,
  }
  if (webhookUris) metadata.webhook_uris = webhookUris
  const name = ssa.clientName ?? str(request.client_name)
  if (name) metadata.client_name = name
  if (ssa.logoUri) metadata.logo_uri = ssa.logoUri
  if (ssa.clientUri) metadata.client_uri = ssa.clientUri
  if (ssa.tosUri) metadata.tos_uri = ssa.tosUri
  if (ssa.policyUri) metadata.policy_uri = ssa.policyUri
  for (const key of ['request_object_encryption_alg', 'request_object_encryption_enc'] as const) {
    if (request[key] !== undefined) {
      const want = key.endsWith('alg') ? 'RSA-OAEP' : 'A256GCM'
      if (request[key] !== want) throw new DcrError('invalid_client_metadata', `${key} must be ${want}`)
      metadata[key] = want
    }
  }
  return metadata
}

/** Maps a directory SSA refusal code (contracts `SsaRefusal`) to the DCR-BR error. */
export function ssaRefusalError(code: string | undefined, detail: string): DcrError {
  switch (code) {
    case 'ORGANISATION_NOT_ACTIVE':
    case 'ROLE_NOT_ACTIVE':
    case 'SOFTWARE_STATEMENT_REVOKED':
    case 'UNKNOWN_ORGANISATION':
      return new DcrError('unapproved_software_statement', detail)
    default:
      return new DcrError('invalid_software_statement', detail)
  }
}

/** Maps a directory certificate refusal (contracts `CertificateRefusal`) to the DCR-BR error. */
export function certificateRefusalError(code: string | undefined, detail: string): DcrError {
  if (code === 'SOFTWARE_ID_MISMATCH' || code === 'ORG_ID_MISMATCH') {
    return new DcrError('unapproved_software_statement', `the client certificate does not belong to this software statement (${detail})`)
  }
  return new DcrError('invalid_client', `the client certificate is not acceptable (${detail})`, 401)
}
