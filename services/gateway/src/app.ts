import { createServer, registerInternalInfo, requireServiceToken, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import { recordCalls, regulatedRoutes, type RegulatedRoutesOptions } from './routes/regulated.routes.ts'

/** What the gateway app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps extends RegulatedRoutesOptions {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
}

/** Builds the gateway app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  registerInternalInfo(app, 'gateway', deps.serviceAuth)
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
    ...(deps.admission ? { admission: deps.admission } : {}),
    openData: deps.openData,
    signed: deps.signed,
    controls: deps.controls,
    ...(deps.now ? { now: deps.now } : {}),
  })
  app.register(async (internal) => {
    internal.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    internal.get('/internal/stats', async () => ({
      tokens: deps.tokens.stats,
      consents: deps.consents.stats,
      organisations: deps.organisations.stats,
      limiter: deps.limiter.stats,
      upstreams: deps.upstreams.stats,
      events: deps.events.stats,
      ...(deps.admission ? { admission: deps.admission.stats } : {}),
      openData: deps.openData.stats,
      policies: deps.policies.size,
      controls: deps.controls.stats,
    }))
  })
  return app
}
