import { createServer, requireServiceToken, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'

/** What the connectors app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
}

const startedAt = Date.now()

/** Builds the connectors app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  app.register(async (internal) => {
    internal.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    internal.get('/internal/info', async (req) => ({ service: 'connectors', caller: req.serviceCaller?.iss, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }))
  })
  return app
}
