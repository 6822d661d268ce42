import { createServer, registerInternalInfo, requireServiceToken, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { AvailabilityStore } from './adapters/pg-availability.ts'
import type { CallSearch } from './adapters/pg-search.ts'
import type { Overview } from './adapters/pg-overview.ts'
import { internalRoutes, type AlertReader, type IngestionStatus } from './routes/internal.routes.ts'
import { regulatorRoutes } from './routes/regulator.routes.ts'

/** What the trace app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  search: CallSearch
  availability: AvailabilityStore
  /** The running ingestion, for `/internal/ingestion` (lag and counters). */
  ingestion?: IngestionStatus | undefined
  clock: () => Date
  /** Alert state and history. */
  alerts: AlertReader
  /** The admin console's dashboard overview. */
  overview: Overview
  /** The gateway's public base URL. */
  publicBaseUrl: string
  minOutageNoticeMs: number
  resolutionEstimateMs: number
}

/** Builds the trace app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  registerInternalInfo(app, 'trace', deps.serviceAuth)
  app.register(regulatorRoutes, { availability: deps.availability, clock: deps.clock, baseUrl: deps.publicBaseUrl, resolutionEstimateMs: deps.resolutionEstimateMs })
  app.register(async (internal) => {
    internal.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    await internal.register(internalRoutes, { search: deps.search, availability: deps.availability, clock: deps.clock, minNoticeMs: deps.minOutageNoticeMs, ingestion: deps.ingestion, alerts: deps.alerts, overview: deps.overview })
  })
  return app
}
