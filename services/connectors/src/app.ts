import { createServer, registerInternalInfo, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { CoreConnector } from '@ponte/contracts'
import type { PaginationKeys } from './domain/pagination.ts'
import { accountsRoutes } from './routes/accounts.routes.ts'
import { creditCardsRoutes } from './routes/credit-cards.routes.ts'
import { customersRoutes } from './routes/customers.routes.ts'
import { internalCustomerRoutes } from './routes/internal-customers.routes.ts'
import { internalTotpRoutes } from './routes/internal-totp.routes.ts'
import type { CustomerTotp } from './adapters/pg-totp.ts'
import { internalWebhookRoutes } from './routes/internal-webhooks.routes.ts'
import { internalPaymentRoutes } from './routes/internal-payments.routes.ts'
import type { WebhookStore } from './adapters/pg-webhooks.ts'
import { loansRoutes } from './routes/loans.routes.ts'
import { openDataRoutes } from './routes/open-data.routes.ts'
import { resourcesRoutes } from './routes/resources.routes.ts'
import { paymentsRoutes } from './routes/payments.routes.ts'
import type { Payments } from './adapters/pg-payments.ts'

/** What the connectors app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on every route but health (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  /** The bank core (postgres reference core or the HTTP connector). */
  core: CoreConnector
  paginationKeys: PaginationKeys
  /** Public base URL of the regulated API, used in `links`. */
  publicBaseUrl: string
  brand: { brandName: string; companyCnpj: string }
  /** Stored webhook notifications and their attempts (`GET /internal/webhooks`); absent when webhooks are off. */
  webhooks?: Pick<WebhookStore, 'list'> | undefined
  clock?: () => Date
  /** Pix payment initiation (Payments v4/v5); the routes are served only when given. */
  payments?: Payments
  /** The customer TOTP check (the postgres core holds the secrets); without it `verify-totp` is not served. */
  totp?: CustomerTotp
}

/**
 * Builds the connectors app from its dependencies. It never listens. The regulated read APIs are served at the same
 * paths as the public API (the gateway forwards them with a service token carrying the verified consent); the
 * `/internal/customers/*` routes serve the consent journey.
 */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  const regulated = { ...deps, publicBaseUrl: deps.publicBaseUrl.replace(/\/$/, ''), clock: deps.clock ?? (() => new Date()) }
  registerInternalInfo(app, 'connectors', deps.serviceAuth)
  app.register(internalCustomerRoutes, deps)
  if (deps.totp) app.register(internalTotpRoutes, { totp: deps.totp, serviceAuth: deps.serviceAuth, ...(deps.clock ? { clock: deps.clock } : {}) })
  if (deps.webhooks) app.register(internalWebhookRoutes, { webhooks: deps.webhooks, serviceAuth: deps.serviceAuth })
  app.register(resourcesRoutes, regulated)
  app.register(accountsRoutes, regulated)
  app.register(creditCardsRoutes, regulated)
  app.register(customersRoutes, regulated)
  app.register(loansRoutes, regulated)
  app.register(openDataRoutes, regulated)
  if (deps.payments) {
    const payments = { payments: deps.payments, serviceAuth: deps.serviceAuth, publicBaseUrl: regulated.publicBaseUrl, clock: regulated.clock }
    app.register(paymentsRoutes('v4'), payments)
    app.register(paymentsRoutes('v5'), payments)
    app.register(internalPaymentRoutes, { payments: deps.payments, serviceAuth: deps.serviceAuth })
  }
  return app
}
