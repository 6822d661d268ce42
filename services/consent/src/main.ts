import { setTimeout as sleep } from 'node:timers/promises'
import { topics, topicSettings } from '@ponte/contracts'
import { bootService, createOutboxRelay, ensureTopics, orExit, runService, type Subscription } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { createConsentService, createIds, systemClock } from './adapters/consent-service.ts'
import { startPaymentEventsConsumer } from './adapters/payment-events.ts'
import { createExpiryScheduler } from './adapters/scheduler.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth } = await bootService(config, new URL('../migrations', import.meta.url))
const pool = runtime.pool!
const consents = createConsentService({
  pool,
  clock: systemClock,
  ids: createIds(config.consents.idPrefix),
  offeredGroups: new Set(config.consents.offeredGroups),
})
// Events reach Kafka through the outbox; time-based transitions run in the scheduler (both safe with N replicas).
const relay = createOutboxRelay({ pool, listenPool: runtime.sessionPool, publisher: runtime.publisher!, logger: runtime.logger })
const scheduler = createExpiryScheduler({ consents, logger: runtime.logger, ...config.scheduler })

// payment.created consumes its payment consent when connectors' synchronous call did not get through. Started in the
// background once Kafka answers, so a Kafka outage at start delays it without keeping the API down.
let paymentEvents: Subscription | undefined
let stopping = false
void (async () => {
  for (let waitMs = 1_000; !stopping; waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      await ensureTopics(runtime.kafka!, [{ topic: topics.payment, ...topicSettings[topics.payment] }])
      paymentEvents = await startPaymentEventsConsumer({ kafka: runtime.kafka!, consents, logger: runtime.logger })
      if (stopping) await paymentEvents.stop()
      return
    } catch (err) {
      runtime.logger.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: waitMs }, 'payment events consumer not started; retrying')
      await sleep(waitMs)
    }
  }
})()

// Readiness: the database (the runtime's check; a Kafka outage only delays events, which wait in the outbox) and a
// recent successful expiry sweep.
const readiness = [
  ...runtime.readiness,
  {
    name: 'expiry-scheduler',
    check: async () => {
      const last = scheduler.stats.lastSuccessAt
      const staleAfterMs = Math.max(60_000, config.scheduler.intervalMs * 4)
      if (!last || Date.now() - last.getTime() > staleAfterMs) throw new Error('no successful expiry sweep recently')
    },
  },
]
const app = buildApp({
  serviceAuth: serviceAuth,
  consents,
  publicBaseUrl: config.consents.publicBaseUrl,
  regulatedCallers: config.consents.regulatedCallers,
  server: { logger: runtime.logger, readiness },
})
const address = await runService({
  app,
  host: config.http.host,
  port: config.http.port,
  // Stop the background work before the pool and the producer it uses.
  closers: [async () => { stopping = true; await paymentEvents?.stop() }, () => scheduler.stop(), () => relay.stop(), ...runtime.closers],
  shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics,
})
runtime.logger.info({ address, idPrefix: config.consents.idPrefix, offeredGroups: config.consents.offeredGroups }, 'consent listening')
