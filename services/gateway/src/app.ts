import { createServer, requireServiceToken, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { AccessTokenVerifier } from './adapters/access-tokens.ts'
import type { CallEvents } from './adapters/call-events.ts'
import type { CertificateReader } from './adapters/client-certificates.ts'
import type { ConsentCache } from './adapters/consent-cache.ts'
import type { Limiter } from './adapters/limiter.ts'
import type { OpenDataCache } from './adapters/open-data-cache.ts'
import type { OrganisationStatus } from './adapters/organisations.ts'
import type { Upstreams } from './adapters/upstream.ts'
import type { PolicyStore } from './domain/limits.ts'
import type { RouteSpec } from './domain/route-table.ts'
import { recordCalls, regulatedRoutes } from './routes/regulated.routes.ts'

/** What the gateway app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  routes: readonly RouteSpec[]
  certificates: CertificateReader
  tokens: AccessTokenVerifier
  consents: ConsentCache
  organisations: OrganisationStatus
  policies: PolicyStore
  limiter: Limiter
  upstreams: Upstreams
  events: CallEvents
  openData: OpenDataCache
  /** Clock, ms (tests). */
  now?: () => number
}

const startedAt = Date.now()

/** Builds the gateway app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  // The certificate header is believed only from trusted proxies: remove it from everyone else before anything runs.
  app.addHook('onRequest', (req, _reply, done) => {
    deps.certificates.strip(req.headers, req.raw.socket.remoteAddress)
    done()
  })
  recordCalls(app, deps.events)
  app.register(regulatedRoutes, {
    routes: deps.routes,
    certificates: deps.certificates,
    tokens: deps.tokens,
    consents: deps.consents,
    organisations: deps.organisations,
    policies: deps.policies,
    limiter: deps.limiter,
    upstreams: deps.upstreams,
    events: deps.events,
    openData: deps.openData,
    ...(deps.now ? { now: deps.now } : {}),
  })
  app.register(async (internal) => {
    internal.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    internal.get('/internal/info', async (req) => ({ service: 'gateway', caller: req.serviceCaller?.iss, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }))
    internal.get('/internal/stats', async () => ({
      tokens: deps.tokens.stats,
      consents: deps.consents.stats,
      organisations: deps.organisations.stats,
      limiter: deps.limiter.stats,
      upstreams: deps.upstreams.stats,
      events: deps.events.stats,
      openData: deps.openData.stats,
      policies: deps.policies.size,
    }))
  })
  return app
}
