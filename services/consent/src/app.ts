import { createServer, type PonteServer, type ServerOptions, type ServiceTokenVerifier } from '@ponte/platform'
import type { ConsentService } from './adapters/consent-service.ts'
import { consentsRoutes } from './routes/consents.routes.ts'
import { internalConsentRoutes } from './routes/internal.routes.ts'
import { internalPaymentConsentRoutes } from './routes/internal-payment.routes.ts'
import { paymentConsentsRoutes } from './routes/payment-consents.routes.ts'

/** What the consent app is built from; `main.ts` passes real connections, tests pass their own. */
export interface AppDeps {
  server: ServerOptions
  /** Verifies the service tokens on `/internal/*` and regulated routes (audience = this service). */
  serviceAuth: ServiceTokenVerifier
  consents: ConsentService
  /** Public base URL of the regulated API, for `links`. */
  publicBaseUrl: string
  /** Services allowed to forward TPP calls (the gateway). */
  regulatedCallers: readonly string[]
}

/** Builds the consent app from its dependencies. It never listens. */
export function buildApp(deps: AppDeps): PonteServer {
  const app = createServer(deps.server)
  app.register(consentsRoutes, {
    prefix: '/open-banking/consents/v3',
    consents: deps.consents,
    serviceAuth: deps.serviceAuth,
    regulatedCallers: deps.regulatedCallers,
    publicBaseUrl: deps.publicBaseUrl,
  })
  // Payments v4 and v5: one implementation, registered once per version (differences: domain/payment-rules.ts).
  for (const apiVersion of ['v4', 'v5'] as const) {
    app.register(paymentConsentsRoutes, {
      prefix: `/open-banking/payments/${apiVersion}`,
      apiVersion,
      consents: deps.consents,
      serviceAuth: deps.serviceAuth,
      regulatedCallers: deps.regulatedCallers,
      publicBaseUrl: deps.publicBaseUrl,
    })
  }
  app.register(internalConsentRoutes, { prefix: '/internal/consents', consents: deps.consents, serviceAuth: deps.serviceAuth })
  app.register(internalPaymentConsentRoutes, { prefix: '/internal/payment-consents', consents: deps.consents, serviceAuth: deps.serviceAuth })
  return app
}
