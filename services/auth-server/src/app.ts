import { topics } from '@ponte/contracts'
import { createServer, registerInternalInfo, type PonteServer, type Pool, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { CertificateSourceOptions } from './adapters/client-certificate.ts'
import type { AttemptThrottle } from './adapters/attempt-throttle.ts'
import type { RequestLimiter } from './adapters/request-limiter.ts'
import type { ThrottleRule } from './domain/throttle.ts'
import type { ConnectorsPort, ConsentPort, DirectoryPort } from './adapters/services.ts'
import type { SubjectStore } from './adapters/subjects.ts'
import type { KeyStore } from './adapters/key-store.ts'
import type { ProviderHolder } from './provider/provider-holder.ts'
import { oauthRefusalBody } from './domain/oauth-errors.ts'
import { dcrRoutes } from './routes/dcr.routes.ts'
import { internalClientRoutes } from './routes/internal-clients.routes.ts'
import { internalKeyRoutes } from './routes/internal-keys.routes.ts'
import { journeyRoutes } from './routes/journey.routes.ts'
import { providerRoutes } from './routes/provider.routes.ts'
import { limitRequests } from './adapters/request-limit-hook.ts'
import { userinfoRoutes } from './routes/userinfo.routes.ts'

/** What the auth-server app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  pool: Pool
  holder: ProviderHolder
  /** The signing and encryption keys (`/internal/keys`: rotation status and rotate now). */
  keys: KeyStore
  directory: DirectoryPort
  consents: ConsentPort
  connectors: ConnectorsPort
  subjects: SubjectStore
  throttle: AttemptThrottle
  /** The journey login throttle rules (`loginRules`). */
  loginRules: { cpf: ThrottleRule; address: ThrottleRule }
  /**
   * The per-address request limit of the OAuth endpoints (docs/decisions/auth-server-request-limits.md); `undefined`
   * only where a harness sends more from one address than any real client would, and says so.
   */
  requestLimiter: RequestLimiter | undefined
  /** The TOTP step's rule (`totpRule`); by default the login's CPF limits under its own counter. */
  totpRule?: ThrottleRule
  /** Outbound fetch limited to the directory keystore origins (client jwks_uri). */
  fetch: typeof globalThis.fetch
  certificates: CertificateSourceOptions
  offeredScopes: readonly string[]
  csrfSecret: string
  bankName: string
  /** Issuer URL and access-token audience (userinfo verifies the JWT access tokens with them). */
  oidc: { issuer: string; accessTokenAudience: string }
  /** Topic of client suspensions (default `ponte.client.v1`). */
  clientTopic?: string
}

/** Builds the auth-server app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer({ refusalBody: oauthRefusalBody, ...deps.server })
  // RFC 6749 §5.2: OAuth error answers are never cached (the provider's own answers already say so).
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (reply.statusCode >= 400 && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    done(null, payload)
  })
  registerInternalInfo(app, 'auth-server', deps.serviceAuth)
  if (deps.requestLimiter) limitRequests(app, { limiter: deps.requestLimiter, trustedProxies: deps.certificates.trustedProxies, bankName: deps.bankName })
  app.register(providerRoutes, { holder: deps.holder, certificates: deps.certificates })
  app.register(userinfoRoutes, {
    holder: deps.holder, certificates: deps.certificates, subjects: deps.subjects, consents: deps.consents,
    issuer: deps.oidc.issuer, accessTokenAudience: deps.oidc.accessTokenAudience,
  })
  app.register(dcrRoutes, {
    holder: deps.holder, pool: deps.pool, directory: deps.directory, fetch: deps.fetch, certificates: deps.certificates, offeredScopes: deps.offeredScopes,
  })
  app.register(internalClientRoutes, { pool: deps.pool, serviceAuth: deps.serviceAuth, clientTopic: deps.clientTopic ?? topics.client })
  app.register(internalKeyRoutes, { keys: deps.keys, holder: deps.holder, serviceAuth: deps.serviceAuth })
  app.register(journeyRoutes, {
    holder: deps.holder, pool: deps.pool, consents: deps.consents, connectors: deps.connectors, directory: deps.directory,
    subjects: deps.subjects, throttle: deps.throttle, loginRules: deps.loginRules, totpRule: deps.totpRule ?? { ...deps.loginRules.cpf, name: 'totp' }, trustedProxies: deps.certificates.trustedProxies, csrfSecret: deps.csrfSecret, bankName: deps.bankName,
  })
  return app
}
