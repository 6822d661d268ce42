import { createInternalClient, type ServiceTokenIssuer } from '@ponte/platform'
import { InternalPaymentConsent } from '@ponte/contracts'
import { z } from 'zod'
import type { PaymentConsents } from './pg-payments.ts'

/** The consent service's internal payment-consent API over HTTP (contracts: payments.ts). */
export function createConsentClient(o: { baseUrl: string; issuer: ServiceTokenIssuer; timeoutMs: number }): PaymentConsents & { close(): Promise<void> } {
  const client = createInternalClient({ baseUrl: o.baseUrl, audience: 'consent', issuer: o.issuer, timeoutMs: o.timeoutMs })
  const path = (id: string) => `/internal/payment-consents/${encodeURIComponent(id)}`
  return {
    get: (consentId) => client.find('GET', path(consentId), InternalPaymentConsent),
    async consume(consentId, paymentIds) {
      await client.call('POST', `${path(consentId)}/consume`, z.unknown(), { body: { paymentIds } })
    },
    close: () => client.close(),
  }
}
