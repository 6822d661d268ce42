import { z } from 'zod'
import { ConfigError, baseServiceConfig, commonEnvShape, dbConfig, envBoolean, listenerEnvShape, parseEnv } from '@ponte/platform'
import { DEFAULT_ISPB } from './domain/pix.ts'

/** Environment variables of the connectors service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3003),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('core').describe('PostgreSQL schema owned by this service (the reference core bank)'),
  CORE_CONNECTOR: z.enum(['postgres', 'http']).default('postgres').describe('Which core serves the data: the reference core in PostgreSQL, or an external core over HTTP (core-api.yaml)'),
  CORE_HTTP_URL: z.url().optional().describe('Base URL of the external core (CORE_CONNECTOR=http)'),
  CORE_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(5_000).describe('Timeout of one call to the external core; past it the API answers 504'),
  CORE_HTTP_RETRIES: z.coerce.number().int().min(0).max(5).default(2).describe('Retries of a failed idempotent call to the external core (GET, and the Pix debit PUT named by its end-to-end id) after connection errors and 502/503'),
  CORE_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5).describe('Consecutive failures of the external core that open the circuit breaker'),
  CORE_BREAKER_RESET_MS: z.coerce.number().int().min(100).default(10_000).describe('How long the open circuit refuses calls before one trial call'),
  PUBLIC_BASE_URL: z.url().default('https://localhost:8443').describe('Public base URL of the regulated API (links in responses point at the gateway)'),
  PAGINATION_KEY_SECRET: z.string().min(32).optional().describe('HMAC secret of pagination-key values (≥ 32 characters; shared by all replicas); required unless ALLOW_DEV_DEFAULTS, which generates one per process'),
  BRAND_NAME: z.string().min(1).max(80).default('Banco Ponte').describe('Brand name shown in the data APIs (brandName)'),
  COMPANY_CNPJ: z.string().regex(/^[0-9A-Z]{12}\d{2}$/).default('12345678000195').describe('CNPJ of the institution (companyCnpj)'),
  SEED_DEMO_BANK: envBoolean(false).describe('Load the demo bank into the reference core at start-up (idempotent)'),
  PIX_ISPB: z.string().regex(/^[0-9]{8}$/).default(DEFAULT_ISPB).describe('ISPB of this institution in the Pix arrangement (reference core): creditors with it are credited here at settlement; the demo Pix keys of its customers point at it'),
  PIX_DAILY_LIMIT: z.string().regex(/^\d{1,15}\.\d{2}$/).default('5000.00').describe('Daily Pix limit of a customer of the reference core (sum of pending and settled Pix debits per Brasília calendar day), unless the customer has their own (customer.pix_daily_limit)'),
  PIX_SETTLEMENT_DELAY_MS: z.coerce.number().int().min(0).max(86_400_000).default(2_000).describe('How long after the debit a Pix payment of the reference core settles'),
  PIX_SETTLEMENT_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(500).describe('How often the reference core\'s settlement job looks for due Pix payments (also woken at each due time by the process that made the debit)'),
  PIX_SETTLEMENT_REJECT_ALL: envBoolean(false).describe('Reject every Pix settlement of the reference core (PAGAMENTO_RECUSADO_SPI; the debit is returned) — to exercise failed payments'),
  PIX_REJECTED_CREDITOR_ACCOUNT: z.string().regex(/^[0-9]{1,20}$/).default('99999999').describe('Creditor account number whose Pix settlements the reference core rejects (PAGAMENTO_RECUSADO_SPI) — the per-payment hook for failed payments'),
  PIX_ANALYSIS_THRESHOLD: z.string().regex(/^\d{1,15}\.\d{2}$/).optional().describe('Pix debits of at least this amount are held for analysis by the reference core (payment status PDNG, cancellable by the customer as CANCELADO_PENDENCIA) before settlement; unset: none is held'),
  PIX_ANALYSIS_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000).describe('How long the reference core holds a debit for analysis (PIX_ANALYSIS_THRESHOLD) before sending it to settlement'),
  CONSENT_URL: z.url().default('http://127.0.0.1:3001').describe('Base URL of the consent service (internal payment-consent API: read and consume a payment consent at payment time)'),
  CONSENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(3_000).describe('Timeout of one call to the consent service'),
  PAYMENTS_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000).describe('How often the payments scheduler debits due Pix payments (scheduled for today in Brasília, or left received) and follows debits to settlement'),
  WEBHOOKS_ENABLED: envBoolean(true).describe('Deliver webhook notifications of payment consents and Pix payments to the clients\' registered webhook URIs (consumes ponte.payment.v1 and ponte.consent.v1)'),
  AUTH_SERVER_INTERNAL_URL: z.url().default('https://localhost:8444').describe('Base URL of the auth-server\'s internal API (`GET /internal/clients/{clientId}/webhook`: the clients\' webhook URIs)'),
  AUTH_SERVER_CA_FILE: z.string().optional().describe('Trust anchors (PEM) of the auth-server\'s TLS certificate; default: the system store, or the dev CA with ALLOW_DEV_DEFAULTS'),
  WEBHOOK_CLIENT_CERT_FILE: z.string().optional().describe('The bank\'s transport (BRCAC) certificate chain (PEM), presented on every webhook delivery (mTLS); required unless ALLOW_DEV_DEFAULTS, which issues one from the dev PKI'),
  WEBHOOK_CLIENT_KEY_FILE: z.string().optional().describe('Private key (PEM) of WEBHOOK_CLIENT_CERT_FILE'),
  WEBHOOK_CA_FILE: z.string().optional().describe('Trust anchors (PEM) of the clients\' webhook server certificates; default: the system store, or the dev CA with ALLOW_DEV_DEFAULTS'),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000).describe('Budget of one delivery attempt (connect, TLS, answer), past which it fails and is retried; also the timeout of the auth-server lookup'),
  WEBHOOK_INITIAL_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000).describe('Wait before the second attempt of a notification not answered 202; doubled after each failed attempt'),
  WEBHOOK_MAX_BACKOFF_MS: z.coerce.number().int().min(10).max(86_400_000).default(600_000).describe('Upper bound of the wait between two attempts'),
  WEBHOOK_MAX_AGE_MS: z.coerce.number().int().min(100).max(604_800_000).default(86_400_000).describe('No attempt starts later than this after the notification was stored; then it is given up (FAILED)'),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(20).max(60_000).default(1_000).describe('How often the delivery job looks for due notifications (it is also woken when new ones are stored)'),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16).describe('Notifications one process attempts at once'),
  WEBHOOK_CONSUMER_GROUP: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('connectors.webhooks').describe('Kafka consumer group prefix of the webhook consumers (`<prefix>.payment`, `<prefix>.consent`); every replica uses the same'),
  PONTE_DEV_PKI_DIR: z.string().optional().describe('Dev PKI folder (created when missing), used with ALLOW_DEV_DEFAULTS: its CA issues the webhook transport certificate and is the webhooks\' trust anchor; `<repo>/.pki` when unset'),
  BANK_ORGANISATION_ID: z.string().min(1).max(40).default('9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b').describe('Directory organisation id of the bank (put in the dev-issued webhook transport certificate)'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  // What production needs and development may generate (the Kubernetes manifests are checked against this).
  if (!e.ALLOW_DEV_DEFAULTS) {
    const issues: Array<{ key: string; message: string }> = []
    if (!e.PAGINATION_KEY_SECRET) issues.push({ key: 'PAGINATION_KEY_SECRET', message: 'required (or set ALLOW_DEV_DEFAULTS=true for development)' })
    if (e.WEBHOOKS_ENABLED && !(e.WEBHOOK_CLIENT_CERT_FILE && e.WEBHOOK_CLIENT_KEY_FILE)) {
      issues.push({ key: 'WEBHOOK_CLIENT_CERT_FILE', message: 'WEBHOOK_CLIENT_CERT_FILE and WEBHOOK_CLIENT_KEY_FILE are required (or WEBHOOKS_ENABLED=false, or ALLOW_DEV_DEFAULTS=true for development)' })
    }
    if (issues.length) throw new ConfigError(issues)
  }
  return Object.freeze({
    ...baseServiceConfig('connectors', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    core: {
      kind: e.CORE_CONNECTOR,
      http: { url: e.CORE_HTTP_URL, timeoutMs: e.CORE_HTTP_TIMEOUT_MS, retries: e.CORE_HTTP_RETRIES, breakerFailures: e.CORE_BREAKER_FAILURES, breakerResetMs: e.CORE_BREAKER_RESET_MS },
    },
    publicBaseUrl: e.PUBLIC_BASE_URL,
    paginationKeySecret: e.PAGINATION_KEY_SECRET,
    brand: { brandName: e.BRAND_NAME, companyCnpj: e.COMPANY_CNPJ },
    seedDemoBank: e.SEED_DEMO_BANK,
    payments: { consentUrl: e.CONSENT_URL, consentTimeoutMs: e.CONSENT_TIMEOUT_MS, pollMs: e.PAYMENTS_POLL_MS },
    pix: {
      ispb: e.PIX_ISPB,
      dailyLimit: e.PIX_DAILY_LIMIT,
      settlementDelayMs: e.PIX_SETTLEMENT_DELAY_MS,
      pollMs: e.PIX_SETTLEMENT_POLL_MS,
      rejectAll: e.PIX_SETTLEMENT_REJECT_ALL,
      rejectedCreditorAccount: e.PIX_REJECTED_CREDITOR_ACCOUNT,
      analysisThreshold: e.PIX_ANALYSIS_THRESHOLD,
      analysisMs: e.PIX_ANALYSIS_MS,
    },
    webhooks: {
      enabled: e.WEBHOOKS_ENABLED,
      authServer: { url: e.AUTH_SERVER_INTERNAL_URL, caFile: e.AUTH_SERVER_CA_FILE },
      clientCertFile: e.WEBHOOK_CLIENT_CERT_FILE,
      clientKeyFile: e.WEBHOOK_CLIENT_KEY_FILE,
      caFile: e.WEBHOOK_CA_FILE,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retry: { initialBackoffMs: e.WEBHOOK_INITIAL_BACKOFF_MS, maxBackoffMs: e.WEBHOOK_MAX_BACKOFF_MS, maxAgeMs: e.WEBHOOK_MAX_AGE_MS },
      pollMs: e.WEBHOOK_POLL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      bankOrganisationId: e.BANK_ORGANISATION_ID,
      devPkiDir: e.PONTE_DEV_PKI_DIR,
      consumerGroup: e.WEBHOOK_CONSUMER_GROUP,
    },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
