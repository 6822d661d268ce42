import { PaymentEvent, topics } from '@ponte/contracts'
import { DomainError, subscribe, type Kafka, type Logger, type Subscription } from '@ponte/platform'
import type { ConsentService } from './consent-service.ts'

/** Options of {@link startPaymentEventsConsumer}. */
export interface PaymentEventsOptions {
  kafka: Kafka
  consents: ConsentService
  logger: Logger
  /** One group for every replica (default `consent.payments`). */
  groupId?: string
  /** Default `ponte.payment.v1`; tests use a private topic. */
  topic?: string
}

/**
 * Consumes `ponte.payment.v1`: a `payment.created` event consumes its payment consent. Connectors consumes the consent
 * synchronously once the payments of a `POST /pix/payments` are recorded; this is the catch-up for when that call did not
 * get through (consent unreachable, connectors stopped in between), so a paid consent never stays AUTHORISED
 * (docs/regulation/payments.md#payment-consent-lifecycle). Consuming is idempotent: a redelivered event, or one that
 * follows the synchronous call, changes nothing. A consent that can no longer be consumed (unknown, expired, rejected) is
 * logged and skipped, since redelivering the event could not change that.
 */
export async function startPaymentEventsConsumer(o: PaymentEventsOptions): Promise<Subscription> {
  return subscribe({
    kafka: o.kafka,
    groupId: o.groupId ?? 'consent.payments',
    topic: o.topic ?? topics.payment,
    schema: PaymentEvent,
    logger: o.logger,
    handler: async (event) => {
      if (event.type !== 'payment.created') return
      const { consentId, paymentId } = event.data
      try {
        await o.consents.consume(consentId, { paymentIds: [paymentId], by: 'payment-event' }, { via: 'connectors' })
      } catch (err) {
        if (!(err instanceof DomainError)) throw err
        o.logger.warn({ consentId, paymentId, code: err.code }, 'payment.created for a consent that cannot be consumed: skipped')
      }
    },
  })
}
