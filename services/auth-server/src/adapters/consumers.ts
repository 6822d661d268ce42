import { ConsentEvent, DirectoryEvent, topics } from '@ponte/contracts'
import { idempotentHandler, subscribe, type Kafka, type Logger, type Pool, type Subscription } from '@ponte/platform'
import { onConsentEvent, onDirectoryEvent } from './event-handlers.ts'

/**
 * Starts the auth-server's consumers: `ponte.consent.v1` (a rejected consent revokes its grants and refresh tokens)
 * and `ponte.directory.v1` (withdrawn organisations and revoked software statements lose their clients). Each event
 * is handled once per consumer name (inbox in the service's schema), whatever Kafka redelivers.
 */
export async function startConsumers(o: { kafka: Kafka; pool: Pool; logger: Logger; groupPrefix?: string }): Promise<Subscription[]> {
  const prefix = o.groupPrefix ?? 'auth-server'
  const consent = await subscribe({
    kafka: o.kafka, groupId: `${prefix}.consent`, topic: topics.consent, schema: ConsentEvent, logger: o.logger,
    handler: idempotentHandler(o.pool, 'auth-server.consent', onConsentEvent),
  })
  const directory = await subscribe({
    kafka: o.kafka, groupId: `${prefix}.directory`, topic: topics.directory, schema: DirectoryEvent, logger: o.logger,
    handler: idempotentHandler(o.pool, 'auth-server.directory', onDirectoryEvent),
  })
  return [consent, directory]
}
