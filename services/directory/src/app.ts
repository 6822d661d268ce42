import { createServer, type PonteServer, type ServerOptions } from '@ponte/platform'
import { internalRoutes, type InternalRoutesDeps } from './routes/internal.routes.ts'
import { sandboxRoutes, type SandboxRoutesDeps } from './routes/sandbox.routes.ts'

/** What the directory connector app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps extends InternalRoutesDeps {
  server: ServerOptions
}

/** Builds the directory connector's internal API (plain HTTP, service-token protected). It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  app.register(internalRoutes, deps)
  return app
}

/** What the sandbox directory app is built from. `server.https` must be set: the SSA assertion needs mTLS. */
export interface SandboxAppDeps extends SandboxRoutesDeps {
  server: ServerOptions
}

/** Builds the sandbox central directory (its own TLS listener). It never listens. */
export function buildSandboxApp(deps: SandboxAppDeps): PonteServer {
  const app = createServer(deps.server)
  app.register(sandboxRoutes, deps)
  return app
}
