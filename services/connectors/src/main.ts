import { randomBytes } from 'node:crypto'
import { bootService, createOutboxRelay, ensureTopics, orExit, runService } from '@ponte/platform'
import { topics, topicSettings } from '@ponte/contracts'
import type { CoreConnector } from '@ponte/contracts'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { createPgCore } from './adapters/pg-core.ts'
import { createHttpCore } from './adapters/http-core.ts'
import { createPgCustomerTotp, type CustomerTotp } from './adapters/pg-totp.ts'
import { createPixSettlement } from './adapters/pix-settlement.ts'
import { createPaginationKeys } from './domain/pagination.ts'
import { seedDemoBank } from './seed/demo-bank.ts'
import { createConsentClient } from './adapters/consent-client.ts'
import { createPayments } from './adapters/pg-payments.ts'
import { createPaymentScheduler } from './adapters/payment-scheduler.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth, issuer } = await bootService(config, new URL('../migrations', import.meta.url))
const log = runtime.logger

let secret = config.paginationKeySecret
if (!secret) {
  if (!config.allowDevDefaults) orExit(() => { throw new Error('PAGINATION_KEY_SECRET is required (or set ALLOW_DEV_DEFAULTS=true for development)') })
  secret = randomBytes(32).toString('base64url')
  log.warn('WARNING: PAGINATION_KEY_SECRET is unset; using a random per-process secret (development only: set it before production, shared by every replica)')
}

let core: CoreConnector
let totp: CustomerTotp | undefined
if (config.core.kind === 'http') {
  const url = config.core.http.url ?? orExit<string>(() => { throw new Error('CORE_HTTP_URL is required when CORE_CONNECTOR=http') })
  const http = createHttpCore({ ...config.core.http, baseUrl: url, logger: log })
  runtime.closers.push(() => http.close())
  core = http
} else {
  if (!runtime.pool) throw new Error('the postgres core needs DATABASE_URL')
  // The reference core's Pix settlement job: due payments are picked from the database (SKIP LOCKED), so they
  // settle after a restart and every replica can run it.
  const settlement = createPixSettlement(runtime.pool, { ...config.pix, logger: log })
  totp = createPgCustomerTotp(runtime.pool)
  core = createPgCore(runtime.pool, { pix: { ...config.pix, onDebited: (due) => settlement.wakeAt(due) } })
  if (config.seedDemoBank) {
    const { loaded } = await seedDemoBank(runtime.pool, { brand: config.brand, ispb: config.pix.ispb })
    log.info({ loaded }, loaded ? 'demo bank loaded' : 'demo bank already present')
  }
  settlement.start()
  runtime.closers.unshift(() => settlement.stop())
}

// Pix payment initiation: payments and their events live in this service's schema; events leave through the outbox,
// and the scheduler (SKIP LOCKED, restart-safe) debits due payments and follows them to settlement.
if (!runtime.pool) throw new Error('the payments API needs DATABASE_URL')
const consents = createConsentClient({ baseUrl: config.payments.consentUrl, issuer, timeoutMs: config.payments.consentTimeoutMs })
runtime.closers.push(() => consents.close())
const payments = createPayments({ pool: runtime.pool, rail: core, consents, logger: log })
const scheduler = createPaymentScheduler({ payments, pollMs: config.payments.pollMs, logger: log })
scheduler.start()
runtime.closers.unshift(() => scheduler.stop())
if (runtime.publisher && runtime.kafka) {
  // The payment topic is created if missing (a Kafka outage only delays events: they wait in the outbox).
  await ensureTopics(runtime.kafka, [{ topic: topics.payment, ...topicSettings[topics.payment] }])
    .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not ensure the payment topic; the relay retries publishing'))
  const relay = createOutboxRelay({ pool: runtime.pool, publisher: runtime.publisher, logger: log })
  runtime.closers.unshift(() => relay.stop())
}

const app = buildApp({
  payments,
  serviceAuth,
  server: { logger: log, readiness: runtime.readiness },
  core,
  paginationKeys: createPaginationKeys(secret),
  publicBaseUrl: config.publicBaseUrl,
  brand: config.brand,
  ...(totp ? { totp } : {}),
})
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics })
log.info({ address, core: config.core.kind }, 'connectors listening')
