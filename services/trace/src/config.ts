import { z } from 'zod'
import { baseServiceConfig, commonEnvShape, dbConfig, envList, listenerEnvShape, parseEnv, schemaEnvShape } from '@ponte/platform'

const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback)

/** Environment variables of the trace service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3004),
  ...schemaEnvShape('trace'),
  INGEST_GROUP_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).default('trace').describe('Kafka consumer group of the call store (one group for all replicas)'),
  RETENTION_MONTHS: z.coerce.number().int().min(1).max(120).default(13).describe('Calls, rollups and story events older than this many months are dropped (whole daily partitions)'),
  PARTITIONS_AHEAD_DAYS: z.coerce.number().int().min(1).max(60).default(3).describe('Daily partitions of the call table created ahead of today (UTC days)'),
  MAINTENANCE_INTERVAL_MS: ms(3_600_000).describe('How often the partition job runs (creates ahead, drops past the retention); any replica may run it'),
  PUBLIC_BASE_URL: z.url().default('https://localhost:8443').describe("The gateway's public base URL: endpoints in the admin metrics and links are reported under it"),
  OUTAGE_MIN_NOTICE_MS: ms(3_600_000).describe('Least time between registering a scheduled outage and its start (it must be announced on /outages before it begins)'),
  DISCOVERY_RESOLUTION_ESTIMATE_MS: ms(1_800_000).describe('expectedResolutionTime announced on /status for a detected (unscheduled) failure: this long after the last check'),
  PROBE_GATEWAY_URL: z.url().optional().describe('Base URL the availability probes call (the gateway, as a TPP would); unset: probes off'),
  PROBE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(30_000).describe('Interval between two probes of every API group'),
  PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).default(1_000).describe('Timeout of one probe (the rules poll status with a 1 s timeout)'),
  PROBE_CA_FILE: z.string().optional().describe("Trust anchors (PEM) for the gateway's TLS certificate when probing; default: the system store"),
  PROBE_TARGETS: envList([
    'consents/v3=http://127.0.0.1:3001', 'resources/v3=http://127.0.0.1:3003', 'accounts/v2=http://127.0.0.1:3003',
    'credit-cards-accounts/v2=http://127.0.0.1:3003', 'customers/v2=http://127.0.0.1:3003', 'loans/v2=http://127.0.0.1:3003',
    'channels/v2=http://127.0.0.1:3003', 'opendata-accounts/v1=http://127.0.0.1:3003',
  ]).describe('API groups to probe and the base URL of the service owning each (`api/vN=url`), comma-separated: the groups the gateway routes'),
  ALERT_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000).describe('How often the alert rules are evaluated'),
  ALERT_AVAILABILITY_TARGET: z.coerce.number().min(0).max(1).default(0.95).describe("Daily availability (Brasília day so far) below which an endpoint alerts; the rules' target is 0.95"),
  ALERT_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1_440).default(15).describe('Window of the latency and share rules, in minutes'),
  ALERT_MIN_CALLS: z.coerce.number().int().min(1).default(20).describe('Fewest calls in the window for an endpoint to be judged by the latency and share rules'),
  ALERT_5XX_SHARE: z.coerce.number().min(0).max(1).default(0.05).describe('Share of 5xx answers above which an endpoint alerts'),
  ALERT_429_SHARE: z.coerce.number().min(0).max(1).default(0.05).describe('Share of 429 answers above which an endpoint alerts'),
  ALERT_529_SHARE: z.coerce.number().min(0).max(1).default(0.005).describe('Share of 529 answers above which an endpoint alerts (the rules keep 529 under 0.5 % a day)'),
  ALERT_OUTBOX_BACKLOG: z.coerce.number().int().min(0).default(1_000).describe('Unpublished outbox events above which a schema alerts'),
  ALERT_OUTBOX_SCHEMAS: envList(['consent', 'traffic', 'auth', 'trace']).describe('Schemas whose outbox backlog is watched (read-only), comma-separated'),
  ALERT_CONSUMER_LAG: z.coerce.number().int().min(0).default(10_000).describe('Unconsumed api-call events above which the call store alerts'),
  ALERT_CERTIFICATE_DAYS: z.coerce.number().int().min(1).default(30).describe('Days before expiry from which a watched certificate alerts'),
  ALERT_CERTIFICATE_FILES: envList([]).describe("PEM certificate files watched for expiry (the bank's transport, signing and server certificates), comma-separated"),
  ALERT_TPP_CERTIFICATES: z.enum(['on', 'off']).default('on').describe("Watch the TPPs' certificates for expiry, as the directory connector lists them (GET /internal/certificates/expiry at DIRECTORY_URL)"),
  DIRECTORY_URL: z.url().default('http://127.0.0.1:3005').describe('Base URL of the directory connector (TPP certificates for the expiry alerts)'),
  ALERT_WEBHOOK_URL: z.url().optional().describe('Webhook that receives every alert transition as JSON (retried); unset: none'),
  ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000).describe('Timeout of one webhook delivery'),
  ALERT_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10).describe('Delivery attempts per alert event before it is given up (kept with its last error)'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    ...baseServiceConfig('trace', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    ingest: { groupId: e.INGEST_GROUP_ID },
    retention: { months: e.RETENTION_MONTHS, aheadDays: e.PARTITIONS_AHEAD_DAYS, intervalMs: e.MAINTENANCE_INTERVAL_MS },
    publicBaseUrl: e.PUBLIC_BASE_URL,
    services: { directory: e.DIRECTORY_URL },
    outages: { minNoticeMs: e.OUTAGE_MIN_NOTICE_MS },
    discovery: { resolutionEstimateMs: e.DISCOVERY_RESOLUTION_ESTIMATE_MS },
    alerts: {
      intervalMs: e.ALERT_INTERVAL_MS,
      thresholds: {
        availabilityTarget: e.ALERT_AVAILABILITY_TARGET, windowMinutes: e.ALERT_WINDOW_MINUTES, minCalls: e.ALERT_MIN_CALLS,
        errorShare: e.ALERT_5XX_SHARE, throttleShare: e.ALERT_429_SHARE, overloadShare: e.ALERT_529_SHARE,
        outboxBacklog: e.ALERT_OUTBOX_BACKLOG, consumerLag: e.ALERT_CONSUMER_LAG, certificateDays: e.ALERT_CERTIFICATE_DAYS,
      },
      outboxSchemas: e.ALERT_OUTBOX_SCHEMAS,
      certificateFiles: e.ALERT_CERTIFICATE_FILES,
      tppCertificates: e.ALERT_TPP_CERTIFICATES === 'on',
      webhook: { url: e.ALERT_WEBHOOK_URL, timeoutMs: e.ALERT_WEBHOOK_TIMEOUT_MS, maxAttempts: e.ALERT_WEBHOOK_MAX_ATTEMPTS },
    },
    probes: { gatewayUrl: e.PROBE_GATEWAY_URL, intervalMs: e.PROBE_INTERVAL_MS, timeoutMs: e.PROBE_TIMEOUT_MS, caFile: e.PROBE_CA_FILE, targets: e.PROBE_TARGETS },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
