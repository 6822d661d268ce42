import type { CatalogueEntry } from '@ponte/contracts'
import { createServer, registerInternalInfo, requireServiceToken, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { UsageReader } from './adapters/usage-reader.ts'
import { indexCatalogue } from './domain/policy-rules.ts'
import type { PolicyService } from './adapters/policy-service.ts'
import { internalRoutes } from './routes/internal.routes.ts'

/** What the traffic app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  policies: PolicyService
  /** The limitable endpoints of the NFR reference (src/domain/nfr-catalogue.json). */
  catalogue: readonly CatalogueEntry[]
  usage: UsageReader
  now?: () => Date
}

/** Builds the traffic app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  registerInternalInfo(app, 'traffic', deps.serviceAuth)
  app.register(async (internal) => {
    internal.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    await internal.register(internalRoutes, {
      policies: deps.policies,
      catalogue: indexCatalogue(deps.catalogue),
      catalogueEntries: deps.catalogue,
      usage: deps.usage,
      ...(deps.now ? { now: deps.now } : {}),
    })
  })
  return app
}
