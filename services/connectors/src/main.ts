import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bootService, createOutboxRelay, ensureTopics, orExit, runService, type Subscription } from '@ponte/platform'
import { topics, topicSettings, type CoreConnector } from '@ponte/contracts'
import { issueClientCertificate, loadOrCreateDevPki } from '@ponte/pki'
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
import { createPgWebhookStore, type WebhookStore } from './adapters/pg-webhooks.ts'
import { createAuthServerWebhookClients } from './adapters/webhook-clients.ts'
import { startWebhookConsumers } from './adapters/webhook-consumers.ts'
import { createWebhookDispatcher } from './adapters/webhook-dispatcher.ts'
import { createWebhookSender } from './adapters/webhook-sender.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth, issuer } = await bootService(config, new URL('../migrations', import.meta.url))
const log = runtime.logger

// Without ALLOW_DEV_DEFAULTS the configuration already required the secret and the webhook certificate.
let secret = config.paginationKeySecret
if (!secret) {
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
  // The external core's TOTP check (core-api.yaml `POST /customers/verify-totp`): LoA3 for payment consents.
  totp = { verify: (cpf, code) => http.verifyTotp(cpf, code) }
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
  const relay = createOutboxRelay({ pool: runtime.pool, listenPool: runtime.sessionPool, publisher: runtime.publisher, logger: log })
  runtime.closers.unshift(() => relay.stop())
}

// Webhook notifications (docs/decisions/connectors-webhooks.md): events → stored notifications → delivery job.
let webhooks: WebhookStore | undefined
if (config.webhooks.enabled) {
  const w = config.webhooks
  if (!runtime.pool || !runtime.kafka) throw new Error('webhook delivery needs DATABASE_URL and KAFKA_BROKERS')
  const pool = runtime.pool
  const kafka = runtime.kafka
  const devPki = !config.allowDevDefaults ? undefined : await loadOrCreateDevPki(w.devPkiDir ?? fileURLToPath(new URL('../../../.pki', import.meta.url)))
  let clientCertificate: { chainPem: string; privateKeyPem: string }
  if (w.clientCertFile && w.clientKeyFile) {
    clientCertificate = { chainPem: readFileSync(w.clientCertFile, 'utf8'), privateKeyPem: readFileSync(w.clientKeyFile, 'utf8') }
  } else if (devPki) {
    const issued = await issueClientCertificate(devPki.ca, { orgId: w.bankOrganisationId, softwareStatementId: 'ponte-webhooks', cnpj: config.brand.companyCnpj, commonName: 'webhooks.bank.localhost', organizationName: 'Ponte Dev Bank' })
    clientCertificate = { chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem }
    log.warn({ pkiDir: devPki.dir }, 'WARNING: webhook deliveries use a transport certificate issued by the dev PKI at start-up; set WEBHOOK_CLIENT_CERT_FILE/WEBHOOK_CLIENT_KEY_FILE before production')
  } else {
    throw new Error('unreachable: the configuration requires WEBHOOK_CLIENT_CERT_FILE without ALLOW_DEV_DEFAULTS')
  }
  const trust = (file: string | undefined, what: string) => {
    if (file) return readFileSync(file, 'utf8')
    if (devPki) log.warn(`WARNING: ${what} trusts the dev CA; set its CA file before production`)
    return devPki?.caBundlePem
  }
  webhooks = createPgWebhookStore(pool, w.retry)
  const sender = createWebhookSender({ clientCertificate, ca: trust(w.caFile, 'webhook delivery (WEBHOOK_CA_FILE)'), timeoutMs: w.timeoutMs })
  const dispatcher = createWebhookDispatcher({ store: webhooks, sender, pollMs: w.pollMs, concurrency: w.concurrency, leaseMs: w.timeoutMs + 30_000, logger: log })
  const clients = createAuthServerWebhookClients({ baseUrl: w.authServer.url, issuer, ca: trust(w.authServer.caFile, 'the auth-server client (AUTH_SERVER_CA_FILE)'), timeoutMs: w.timeoutMs })
  dispatcher.start()
  // Consumers start once Kafka answers; until then stored notifications are still delivered.
  let subscriptions: Subscription[] = []
  let stopping = false
  runtime.closers.unshift(async () => {
    stopping = true
    await Promise.all(subscriptions.map((s) => s.stop().catch((err: unknown) => log.warn({ err }, 'webhook consumer did not stop cleanly'))))
    await dispatcher.stop()
    await sender.close()
    await clients.close()
  })
  void (async () => {
    for (let attempt = 1, waitMs = 1_000; !stopping; attempt++, waitMs = Math.min(waitMs * 2, 30_000)) {
      try {
        await ensureTopics(kafka, [topics.payment, topics.consent].map((t) => ({ topic: t, ...topicSettings[t] })))
        subscriptions = await startWebhookConsumers({ kafka, pool, clients, logger: log, groupPrefix: w.consumerGroup, onStored: () => dispatcher.wake() })
        if (stopping) {
          await Promise.all(subscriptions.map((sub) => sub.stop().catch(() => undefined)))
          return
        }
        log.info({ attempt }, 'webhook consumers started')
        void Promise.all(subscriptions.map((sub) => sub.ready)).then(() => log.info('webhook consumers joined their groups'))
        return
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err), attempt, retryInMs: waitMs }, 'webhook consumers could not start; will retry')
        await new Promise((r) => setTimeout(r, waitMs).unref())
      }
    }
  })()
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
  webhooks,
})
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics })
log.info({ address, core: config.core.kind }, 'connectors listening')
