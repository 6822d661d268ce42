import { ConsentEvent, PaymentEvent, topics } from '@ponte/contracts'
import { idempotentHandler, subscribe, type Kafka, type Logger, type Pool, type PoolClient, type Subscription } from '@ponte/platform'
import { refusedUri, webhookTargetOf } from '../domain/webhooks.ts'
import { enqueueNotifications } from './pg-webhooks.ts'
import type { WebhookClientDirectory } from './webhook-clients.ts'

/** Options of {@link startWebhookConsumers}. */
export interface WebhookConsumersOptions {
  kafka: Kafka
  pool: Pool
  clients: WebhookClientDirectory
  logger: Logger
  /** Called after an event stored new notifications (wakes the delivery job). */
  onStored?: () => void
  /** Consumer group prefix (default `connectors.webhooks`). */
  groupPrefix?: string
  clock?: () => Date
}

/**
 * Turns `ponte.payment.v1` and payment-consent events of `ponte.consent.v1` into stored notifications, one per URI the
 * client registered. Each event is handled once (inbox row and notifications in one transaction); an unknown client,
 * a suspended one (`active=false`) or one without webhook URIs gets none. When the auth-server cannot answer, the
 * handler throws and Kafka redelivers the event.
 */
export async function startWebhookConsumers(o: WebhookConsumersOptions): Promise<Subscription[]> {
  const prefix = o.groupPrefix ?? 'connectors.webhooks'
  const clock = o.clock ?? (() => new Date())
  const log = o.logger.child({ component: 'webhooks' })
  let stored = 0

  async function handle(event: PaymentEvent | ConsentEvent, client: PoolClient): Promise<void> {
    const target = webhookTargetOf(event)
    if (!target) return
    const info = await o.clients.find(target.clientId)
    if (!info || !info.active || info.webhookUris.length === 0) {
      log.info({ eventId: event.id, clientId: target.clientId, reason: !info ? 'unknown client' : !info.active ? 'client suspended' : 'no webhook URI' }, 'no webhook notification')
      return
    }
    const baseUris = info.webhookUris.filter((uri) => {
      const why = refusedUri(uri)
      if (why) log.warn({ clientId: target.clientId, uri, why }, 'registered webhook URI refused')
      return !why
    })
    const organisationId = 'organisationId' in event.data ? event.data.organisationId : undefined
    stored += await enqueueNotifications(client, { eventId: event.id, eventType: event.type, organisationId: organisationId ?? info.organisationId, target, baseUris, now: clock() })
  }

  function afterCommit<E extends PaymentEvent | ConsentEvent, M>(inner: (event: E, meta: M) => Promise<void>) {
    return async (event: E, meta: M) => {
      const before = stored
      await inner(event, meta)
      if (stored !== before) o.onStored?.()
    }
  }

  const payments = await subscribe({
    kafka: o.kafka, groupId: `${prefix}.payment`, topic: topics.payment, schema: PaymentEvent, logger: o.logger,
    handler: afterCommit(idempotentHandler(o.pool, 'connectors.webhooks.payment', (e: PaymentEvent, c) => handle(e, c))),
  })
  try {
    const consents = await subscribe({
      kafka: o.kafka, groupId: `${prefix}.consent`, topic: topics.consent, schema: ConsentEvent, logger: o.logger,
      handler: afterCommit(idempotentHandler(o.pool, 'connectors.webhooks.consent', (e: ConsentEvent, c) => handle(e, c))),
    })
    return [payments, consents]
  } catch (err) {
    await payments.stop().catch(() => undefined)
    throw err
  }
}
