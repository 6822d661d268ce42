import { ParticipantCertificates, topicSettings, topics } from '@ponte/contracts'
import { bootService, createInternalClient, createOutboxRelay, ensureTopics, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { createAlertReader, createAlerting, deliverWebhooks } from './adapters/alerting.ts'
import { loadSlaLookup } from './adapters/nfr-sla.ts'
import { createAvailabilityStore } from './adapters/pg-availability.ts'
import { createCallStore } from './adapters/pg-call-store.ts'
import { runMaintenance } from './adapters/pg-partitions.ts'
import { parseProbeTargets, startProber } from './adapters/prober.ts'
import { createCallSearch } from './adapters/pg-search.ts'
import { createOverview } from './adapters/pg-overview.ts'
import { startIngestion, type Ingestion } from './adapters/ingestion.ts'
import { loadConfig } from './config.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth, issuer } = await bootService(config, new URL('../migrations', import.meta.url))
const { logger, pool, kafka, publisher } = runtime
if (!pool || !kafka || !publisher) throw new Error('runtime without PostgreSQL or Kafka')
const clock = () => new Date()
const probeTargets = orExit(() => parseProbeTargets(config.probes.targets))
const availability = createAvailabilityStore(pool)

// Availability probes through the gateway (off when PROBE_GATEWAY_URL is unset).
if (config.probes.gatewayUrl) {
  const prober = startProber({ availability, logger, gatewayUrl: config.probes.gatewayUrl, targets: probeTargets, intervalMs: config.probes.intervalMs, timeoutMs: config.probes.timeoutMs, caFile: config.probes.caFile })
  runtime.closers.unshift(() => prober.stop())
} else {
  logger.warn('PROBE_GATEWAY_URL is unset: availability probes are off (discovery reports only scheduled outages)')
}

// Partitions: created ahead and dropped past the retention, by whichever replica gets the lock first.
const maintain = async () => {
  try {
    const r = await runMaintenance({ pool, now: clock(), aheadDays: config.retention.aheadDays, retentionMonths: config.retention.months })
    if (!r.skipped && (r.created.length || r.dropped.length)) logger.info(r, 'call partitions maintained')
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'partition maintenance failed; will retry')
  }
}
await maintain()
const maintenance = setInterval(() => void maintain(), config.retention.intervalMs)
maintenance.unref()
runtime.closers.unshift(async () => clearInterval(maintenance))

// Ingestion starts once Kafka answers; until then the HTTP API serves what is stored.
let ingestion: Ingestion | undefined
let stopping = false
runtime.closers.unshift(async () => { stopping = true; await ingestion?.stop() })
void (async () => {
  for (let attempt = 1, waitMs = 1_000; !stopping; attempt++, waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      await ensureTopics(kafka, [topics.apiCall, topics.consent, topics.alert].map((t) => ({ topic: t, ...topicSettings[t] })))
      ingestion = await startIngestion({ kafka, groupId: config.ingest.groupId, logger, store: createCallStore({ pool, retentionMonths: config.retention.months }) })
      logger.info({ topics: ingestion.topics, attempt }, 'call ingestion started')
      return
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err), attempt, retryInMs: waitMs }, 'call ingestion could not start; will retry')
      await new Promise((r) => setTimeout(r, waitMs).unref())
    }
  }
})()

// Alerts leave through the outbox (ponte.alert.v1); the relay publishes them.
const relay = createOutboxRelay({ pool, listenPool: runtime.sessionPool, publisher, logger })
runtime.closers.unshift(() => relay.stop())
// TPP certificates come from the directory connector's keystore view (service token, audience directory).
const directory = createInternalClient({ baseUrl: config.services.directory, audience: 'directory', issuer, timeoutMs: 10_000 })
runtime.closers.push(() => directory.close())
const slaOf = orExit(() => loadSlaLookup())
const alerting = createAlerting({
  pool, availability, logger, thresholds: config.alerts.thresholds, slaOf,
  outboxSchemas: config.alerts.outboxSchemas, certificateFiles: config.alerts.certificateFiles, webhookUrl: config.alerts.webhook.url,
  consumerLag: () => (ingestion ? ingestion.lag() : Promise.resolve(-1)),
  participantCertificates: config.alerts.tppCertificates ? () => directory.call('GET', '/internal/certificates/expiry', ParticipantCertificates) : undefined,
})
const alertTimer = setInterval(() => {
  void alerting.evaluate(clock()).catch((err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'alert round failed'))
  const url = config.alerts.webhook.url
  if (url) void deliverWebhooks({ pool, url, timeoutMs: config.alerts.webhook.timeoutMs, maxAttempts: config.alerts.webhook.maxAttempts, now: clock() })
    .catch((err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'alert webhook round failed'))
}, config.alerts.intervalMs)
alertTimer.unref()
runtime.closers.unshift(async () => clearInterval(alertTimer))

const app = buildApp({
  serviceAuth,
  server: { logger, readiness: runtime.readiness },
  search: createCallSearch(pool),
  availability,
  alerts: createAlertReader(pool),
  overview: createOverview({ pool, availability, slaOf }),
  ingestion: { get stats() { return ingestion?.stats ?? {} }, lag: () => (ingestion ? ingestion.lag() : Promise.resolve(-1)) },
  clock,
  publicBaseUrl: config.publicBaseUrl,
  minOutageNoticeMs: config.outages.minNoticeMs,
  resolutionEstimateMs: config.discovery.resolutionEstimateMs,
})
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics })
logger.info({ address }, 'trace listening')
