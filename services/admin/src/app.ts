import { createServer, registerInternalInfo, type InternalClient, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { AuditStore } from './adapters/audit-store.ts'
import type { LoginThrottle } from './adapters/login-throttle.ts'
import type { SessionStore } from './adapters/sessions.ts'
import type { StaffStore } from './adapters/staff-store.ts'
import { auditRoutes } from './routes/audit.routes.ts'
import { consentRoutes } from './routes/consents.routes.ts'
import { participantRoutes } from './routes/participants.routes.ts'
import { paymentRoutes } from './routes/payments.routes.ts'
import { outageRoutes } from './routes/outages.routes.ts'
import { catalogRoutes } from './routes/catalog.routes.ts'
import { clientRoutes } from './routes/clients.routes.ts'
import type { CatalogStore } from './adapters/catalog-store.ts'
import type { CatalogVersion } from './domain/api-catalog.ts'
import { registerSecurity } from './adapters/http-security.ts'
import { sessionRoutes } from './routes/session.routes.ts'
import { staffRoutes } from './routes/staff.routes.ts'
import { trafficRoutes } from './routes/traffic.routes.ts'
import { webRoutes } from './routes/web.routes.ts'

/** What the admin app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  staff: StaffStore
  sessions: SessionStore
  throttle: LoginThrottle
  audit: AuditStore
  /** Internal APIs of the services the console drives (service tokens, never their databases). */
  upstream: { consent: InternalClient; traffic: InternalClient; directory: InternalClient; connectors: InternalClient; trace: InternalClient; authServer: InternalClient }
  /** The API catalog: the gateway's route table by version, and the versions turned off or on. */
  catalog: { versions: readonly CatalogVersion[]; store: CatalogStore }
  clock: { now(): Date }
  /** Seconds to enter the TOTP code after the password. */
  pendingLoginS: number
  /** The built browser app to serve (absent: API only). */
  webDir?: string
}

/** Builds the admin app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  registerInternalInfo(app, 'admin', deps.serviceAuth)
  registerSecurity(app, { sessions: deps.sessions, staff: deps.staff, audit: deps.audit, clock: deps.clock })
  app.register(sessionRoutes, { staff: deps.staff, sessions: deps.sessions, throttle: deps.throttle, audit: deps.audit, clock: deps.clock, pendingS: deps.pendingLoginS })
  app.register(consentRoutes, { consent: deps.upstream.consent, audit: deps.audit })
  app.register(trafficRoutes, { traffic: deps.upstream.traffic, audit: deps.audit })
  app.register(participantRoutes, { directory: deps.upstream.directory })
  app.register(paymentRoutes, { connectors: deps.upstream.connectors, consent: deps.upstream.consent, audit: deps.audit })
  app.register(outageRoutes, { trace: deps.upstream.trace, audit: deps.audit })
  app.register(catalogRoutes, deps.catalog)
  app.register(clientRoutes, { authServer: deps.upstream.authServer, directory: deps.upstream.directory, audit: deps.audit })
  app.register(staffRoutes, { staff: deps.staff, sessions: deps.sessions, audit: deps.audit })
  app.register(auditRoutes, { audit: deps.audit })
  if (deps.webDir) app.register(webRoutes, { dir: deps.webDir })
  return app
}
