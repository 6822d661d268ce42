import { createServer, registerInternalInfo, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'

/** What the admin app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
}

/** Builds the admin app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  registerInternalInfo(app, 'admin', deps.serviceAuth)
  return app
}
