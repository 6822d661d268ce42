import { createHash } from 'node:crypto'
import type { KoaContextWithOIDC, Configuration, ClientMetadata } from 'oidc-provider'
import Provider, { errors } from 'oidc-provider'
import { dependencyDown, type Logger } from '@ponte/platform'
import type { PrivateJwk } from '../adapters/key-store.ts'
import type { PgAdapterFactory } from '../adapters/pg-oidc-adapter.ts'
import type { ConsentPort } from '../adapters/services.ts'
import type { SubjectStore } from '../adapters/subjects.ts'
import type { PresentedCertificate } from '../adapters/client-certificate.ts'
import type { ReplayStore } from '../adapters/replay-store.ts'
import { CLIENT_CREDENTIALS_SCOPES, consentIdsOfScopeString } from '../domain/scopes.ts'
import { ACR_LOA2 } from '../domain/journey.ts'
import { ACR_LOA3 } from '../domain/payment-journey.ts'
import { renderErrorPage } from '../views/pages.ts'
import { describeOAuthError } from '../domain/oauth-errors.ts'

/** The endpoints, as TPPs see them (FAPI-BR does not name paths; discovery publishes them). */
export const ROUTES = {
  authorization: '/auth',
  pushed_authorization_request: '/par',
  token: '/token',
  userinfo: '/me',
  jwks: '/jwks',
  registration: '/register',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
} as const

/** The OIDC settings taken from the typed configuration. */
export interface OidcSettings {
  issuer: string
  accessTokenAudience: string
  accessTokenTtlS: number
  refreshTokenTtlS: number
  discoveryScopes: string[]
  cookieSecret: string
}

/** What the provider is built from. */
export interface ProviderDeps {
  settings: OidcSettings
  jwks: PrivateJwk[]
  adapter: PgAdapterFactory
  /** Outbound fetch for client `jwks_uri`s: only configured directory origins. */
  fetch: typeof globalThis.fetch
  /** The certificate presented on the request (TLS socket, or trusted proxy header). */
  certificate: (ctx: KoaContextWithOIDC) => PresentedCertificate | undefined
  subjects: SubjectStore
  consents: ConsentPort
  /** One-time identifiers of client assertions, shared by every replica. */
  replay: ReplayStore
  logger: Logger
}

/** The Open Finance Brasil client metadata added to the standard set. */
export const EXTRA_CLIENT_METADATA = ['software_id', 'org_id', 'software_roles', 'webhook_uris'] as const

const PS256 = ['PS256']

/**
 * Whether a consent in `status` may have tokens: AUTHORISED, or PARTIALLY_ACCEPTED (a payment consent waiting for its
 * other approvers): the TPP needs its token to pay once the last approver has approved, and until then connectors
 * answers its payments 422 CONSENTIMENTO_PENDENTE_AUTORIZACAO (docs/regulation/payments.md#multiple-approvers).
 */
function tokenable(status: string): boolean {
  return status === 'AUTHORISED' || status === 'PARTIALLY_ACCEPTED'
}

/**
 * Builds the oidc-provider instance configured to FAPI-BR v2.1 / DCR-BR v2.1 (docs/regulation/security-profile.md, docs/regulation/dcr.md): private_key_jwt with
 * PS256 only, PAR and signed request objects required, PKCE S256 always, `code id_token` with fragment, encrypted
 * id_tokens (RSA-OAEP / A256GCM), JWT access tokens bound to the client certificate, non-rotating refresh tokens,
 * `consent:<id>` dynamic scopes. Everything not certified is switched off so discovery does not advertise it.
 */
export function createProvider(deps: ProviderDeps): Provider {
  const { settings } = deps
  const log = deps.logger.child({ component: 'oidc' })

  async function getResourceServerInfo(ctx: KoaContextWithOIDC, resourceIndicator: string, client: { scope?: string | undefined }) {
    if (resourceIndicator !== settings.accessTokenAudience) throw new errors.InvalidTarget()
    const clientScopes = (client.scope ?? '').split(' ').filter((s) => s && s !== 'openid')
    const grantType = ctx.oidc.params?.grant_type
    let scopes: string[]
    if (grantType === 'client_credentials') {
      scopes = clientScopes.filter((s) => CLIENT_CREDENTIALS_SCOPES.has(s))
    } else {
      // The dynamic `consent:<id>` scope of this request (authorization) or of the code / refresh token (token).
      const e = ctx.oidc.entities
      const sources = [ctx.oidc.params?.scope, e.AuthorizationCode?.scope, e.RefreshToken?.scope] as Array<string | undefined>
      const consentScopes = sources.flatMap((s) => consentIdsOfScopeString(s)).map((id) => `consent:${id}`)
      scopes = [...clientScopes, ...new Set(consentScopes)]
    }
    return {
      scope: scopes.join(' '),
      audience: settings.accessTokenAudience,
      accessTokenTTL: settings.accessTokenTtlS,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg: 'PS256' as const } },
    }
  }

  const configuration: Configuration = {
    adapter: deps.adapter as unknown as Configuration['adapter'],
    jwks: { keys: deps.jwks as unknown as NonNullable<Configuration['jwks']>['keys'] },
    fetch: deps.fetch,
    clients: [],
    clientDefaults: {
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code id_token'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'PS256',
      id_token_signed_response_alg: 'PS256',
      authorization_signed_response_alg: 'PS256',
    } as unknown as ClientMetadata,
    clientAuthMethods: ['private_key_jwt'],
    responseTypes: ['code id_token'],
    subjectTypes: ['public'],
    scopes: settings.discoveryScopes,
    acrValues: [ACR_LOA2, ACR_LOA3],
    claims: { openid: ['sub', 'cpf', 'cnpj'], acr: null, auth_time: null },
    conformIdTokenClaims: true,
    clockTolerance: 5,
    routes: ROUTES,
    pkce: { required: () => true },
    enabledJWA: {
      clientAuthSigningAlgValues: PS256 as never,
      idTokenSigningAlgValues: PS256 as never,
      requestObjectSigningAlgValues: PS256 as never,
      userinfoSigningAlgValues: PS256 as never,
      introspectionSigningAlgValues: PS256 as never,
      authorizationSigningAlgValues: PS256 as never,
      idTokenEncryptionAlgValues: ['RSA-OAEP'],
      idTokenEncryptionEncValues: ['A256GCM'],
      requestObjectEncryptionAlgValues: ['RSA-OAEP'],
      requestObjectEncryptionEncValues: ['A256GCM'],
      userinfoEncryptionAlgValues: ['RSA-OAEP'],
      userinfoEncryptionEncValues: ['A256GCM'],
      introspectionEncryptionAlgValues: ['RSA-OAEP'],
      introspectionEncryptionEncValues: ['A256GCM'],
      authorizationEncryptionAlgValues: ['RSA-OAEP'],
      authorizationEncryptionEncValues: ['A256GCM'],
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      fapi: { enabled: true, profile: '1.0 Final' },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: false,
        selfSignedTlsClientAuth: false,
        getCertificate: (ctx) => deps.certificate(ctx)?.certificate as never,
      },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      encryption: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId !== client.clientId) throw new errors.InvalidRequest('client is not authorized to revoke the presented token')
          return true
        },
      },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true, allowUnregisteredRedirectUris: false },
      registration: {
        enabled: true,
        initialAccessToken: false,
        issueRegistrationAccessToken: true,
        idFactory: (ctx) => {
          const id = (ctx.req as { ponteClientId?: string }).ponteClientId
          if (!id) throw new errors.InvalidRequest('registration must go through the DCR-BR checks')
          return id
        },
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      requestObjects: { enabled: true, requireSignedRequestObject: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => settings.accessTokenAudience,
        useGrantedResource: async () => true,
        getResourceServerInfo: getResourceServerInfo as never,
      },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: false },
    },
    extraClientMetadata: { properties: [...EXTRA_CLIENT_METADATA] },
    ttl: {
      AccessToken: settings.accessTokenTtlS,
      ClientCredentials: settings.accessTokenTtlS,
      AuthorizationCode: 60,
      IdToken: settings.accessTokenTtlS,
      Interaction: 900,
      Session: 900,
      Grant: settings.refreshTokenTtlS,
      RefreshToken: settings.refreshTokenTtlS,
    },
    expiresWithSession: async () => false,
    // FAPI-BR §5.1 items 13 and 22: refresh tokens are not rotated; issued only for a consent that is still
    // AUTHORISED (or a payment consent waiting for its other approvers), so a CONSUMED payment consent gets none
    // (docs/regulation/security-profile.md#consent-bound-tokens).
    rotateRefreshToken: () => false,
    async issueRefreshToken(_ctx, client, code) {
      const ids = consentIdsOfScopeString(code.scope)
      if (!client.grantTypeAllowed('refresh_token') || ids.length === 0) return false
      const consent = await deps.consents.get(ids[0]!)
      return consent !== undefined && tokenable(consent.status)
    },
    async extraTokenClaims(ctx, token) {
      const client = ctx.oidc.client as unknown as Record<string, unknown> | undefined
      const claims: Record<string, unknown> = {}
      if (typeof client?.org_id === 'string') claims.org_id = client.org_id
      if (typeof client?.software_id === 'string') claims.software_id = client.software_id
      const consentIds = token.kind === 'AccessToken' ? consentIdsOfScopeString(token.scope) : []
      if (consentIds.length > 0) {
        // §8.1: tokens only for an active, authorised consent of this client (events revoke as well; this closes the gap).
        const consent = await deps.consents.get(consentIds[0]!)
        if (!consent || consent.clientId !== token.clientId || !tokenable(consent.status)) {
          throw new errors.InvalidGrant('the consent is not authorised')
        }
        claims.consent_id = consent.consentId
      }
      return claims
    },
    async findAccount(_ctx, sub) {
      const subject = await deps.subjects.find(sub)
      if (!subject) return undefined
      return {
        accountId: sub,
        async claims() {
          return { sub, cpf: subject.cpf, ...(subject.cnpjs.length ? { cnpj: subject.cnpjs } : {}) }
        },
      }
    },
    // The client assertion is accepted only over the client's own certificate (cert of another TPP is refused).
    async assertJwtClientAuthClaimsAndHeader(ctx, _claims, _header, client) {
      const presented = deps.certificate(ctx)
      if (!presented) throw new errors.InvalidClient('a client certificate (mTLS) is required')
      const c = client as unknown as Record<string, unknown>
      if (presented.softwareStatementId !== c.software_id || presented.organisationId !== c.org_id) {
        throw new errors.InvalidClient('the client certificate does not belong to this client')
      }
    },
    // Each authorization gets its own grant, so revoking one consent never touches another consent's tokens.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: {
      keys: [settings.cookieSecret],
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: true },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: true },
    },
    discovery: {
      ui_locales_supported: ['pt-BR', 'en'],
      claims_parameter_supported: true,
      claims_supported: ['sub', 'acr', 'auth_time', 'cpf', 'cnpj'],
    },
    async renderError(ctx, out) {
      ctx.type = 'html'
      ctx.body = renderErrorPage(out as { error: string; error_description?: string }, ctx.query.ui_locales)
    },
  }

  const provider = new Provider(settings.issuer, configuration)
  provider.proxy = true
  // Every one-time identifier check of the library (client assertion `jti`, and DPoP / attestation were they on) goes
  // through ReplayDetection.unique, which finds and then saves: two replicas could both find nothing and both accept
  // the same assertion. One atomic claim in the shared store instead (docs/decisions/auth-server-token-path.md).
  Object.defineProperty(provider.ReplayDetection, 'unique', {
    value: async (iss: string, jti: string, exp: number) => {
      try {
        return await deps.replay.claim(createHash('sha256').update(`${iss}${jti}`).digest('base64url'), exp)
      } catch (err) {
        // The shared store (Redis) cannot say whether the assertion was used: the request is refused, never let
        // through unchecked, with 503 temporarily_unavailable in the RFC 6749 §5.2 envelope (not a bare 500).
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'assertion replay check unavailable; request refused with 503')
        const unavailable = new errors.TemporarilyUnavailable('the one-time check of the client assertion is unavailable; retry shortly')
        Object.assign(unavailable, { status: 503, statusCode: 503, expose: true })
        throw unavailable
      }
    },
  })
  // FAPI-BR: `code id_token` is answered in the fragment. The library computes its own list (query, form_post too);
  // discovery must not advertise what is not offered, so the published list is narrowed after the library built it.
  provider.use(async (ctx, next) => {
    await next()
    // PostgreSQL or Redis gone under the request (a restart, a failover): the library answered 500 server_error; the
    // client may retry, so 503 temporarily_unavailable (RFC 6749 §4.1.2.1, §5.2 shape), or the error page saying so.
    if (ctx.status === 500 && (ctx.state as { dependencyDown?: boolean }).dependencyDown) {
      const out = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable; retry shortly' }
      ctx.status = 503
      ctx.set('retry-after', '1')
      if (ctx.type === 'text/html') ctx.body = renderErrorPage(out, ctx.query.ui_locales)
      else ctx.body = out
    }
    // RFC 6749 §5.2: some of the library's refusals (request_uri_not_supported at PAR, among others) carry no
    // description; every OAuth error this server answers says in words what was refused.
    if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)) {
      const out = ctx.body as { error?: unknown; error_description?: unknown }
      if (typeof out.error === 'string' && typeof out.error_description !== 'string') out.error_description = describeOAuthError(out.error)
    }
    if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
      (ctx.body as Record<string, unknown>).response_modes_supported = ['fragment']
    }
    // FAPI-BR §5.2.2 items 12 and 21: `code id_token` with `response_mode=fragment`. The library would also honour
    // form_post, so a pushed request asking for anything but the fragment is refused (and its request_uri dropped).
    if (ctx.oidc?.route === 'pushed_authorization_request' && ctx.status === 201) {
      const mode = ctx.oidc.params?.response_mode
      if (mode !== undefined && mode !== 'fragment') {
        const uri = (ctx.body as { request_uri?: string } | undefined)?.request_uri
        const id = uri?.split(':').pop()
        if (id) await (await ctx.oidc.provider.PushedAuthorizationRequest.find(id))?.destroy()
        ctx.status = 400
        ctx.body = { error: 'invalid_request', error_description: 'response_mode must be fragment' }
      }
    }
  })
  provider.on('server_error', (ctx, err) => {
    if (dependencyDown(err)) {
      (ctx.state as { dependencyDown?: boolean }).dependencyDown = true
      log.warn({ err: err.message, route: ctx.oidc?.route }, 'a dependency was unavailable')
    } else log.error({ err, route: ctx.oidc?.route }, 'oidc server_error')
  })
  provider.on('grant.success', (ctx) => log.info({ clientId: ctx.oidc.client?.clientId, grantType: ctx.oidc.params?.grant_type }, 'token issued'))
  provider.on('grant.error', (ctx, err) => log.info({ clientId: ctx.oidc.client?.clientId, error: (err as { error?: string }).error, detail: (err as { error_description?: string }).error_description }, 'token refused'))
  provider.on('registration_create.success', (_ctx, client) => log.info({ clientId: client.clientId }, 'client registered'))
  return provider
}
