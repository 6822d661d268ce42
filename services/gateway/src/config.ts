import { z } from 'zod'
import { topics } from '@ponte/contracts'
import { DEV_PAYLOAD_SIGNING_PASSPHRASE } from '@ponte/pki'
import { baseServiceConfig, ConfigError, envList, listenerEnvShape, parseEnv, redisEnvShape, sharedEnvShape, tlsEnvShape } from '@ponte/platform'

const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback)

/** Environment variables of the gateway service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...sharedEnvShape,
  ...redisEnvShape,
  ...tlsEnvShape,
  ...listenerEnvShape(8443, 'Listen port (TLS, client certificate requested)'),
  CLIENT_CERT_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/).optional().describe('Header carrying the client certificate (URL-encoded PEM or base64 DER) set by a TLS-terminating proxy; believed only from TRUSTED_PROXIES and stripped from anyone else'),
  TRUSTED_PROXIES: envList([]).describe('Addresses of proxies whose certificate header and X-Forwarded-For are believed, comma-separated'),
  AUTH_JWKS_URL: z.url().default('https://localhost:8444/jwks').describe("The auth-server's JWKS URL (access-token signing keys)"),
  AUTH_ISSUER: z.string().min(1).default('https://localhost:8444').describe('Expected `iss` of access tokens (the auth-server ISSUER)'),
  ACCESS_TOKEN_AUDIENCE: envList(['https://localhost:8443']).describe('Accepted `aud` values of access tokens, comma-separated (the auth-server ACCESS_TOKEN_AUDIENCE)'),
  AUTH_CA_FILE: z.string().optional().describe("Trust anchors (PEM) for the auth-server's TLS certificate when fetching the JWKS; default: the system store"),
  TOKEN_CACHE_SIZE: z.coerce.number().int().min(0).default(100_000).describe('Verified access tokens kept in memory (LRU keyed by the raw token; entries end at the token expiry)'),
  JWKS_COOLDOWN_MS: ms(30_000).describe('Least time between two JWKS refreshes triggered by an unknown kid'),
  JWKS_MAX_AGE_MS: ms(600_000).describe('How long a fetched JWKS is used before it is fetched again'),
  CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(60).default(5).describe('Clock skew tolerated on token exp'),
  CONSENT_URL: z.url().default('http://127.0.0.1:3001').describe('Base URL of the consent service'),
  CONNECTORS_URL: z.url().default('http://127.0.0.1:3003').describe('Base URL of the connectors service'),
  DIRECTORY_URL: z.url().default('http://127.0.0.1:3005').describe('Base URL of the directory connector (organisation status)'),
  TRACE_URL: z.url().default('http://127.0.0.1:3004').describe('Base URL of the trace service (the regulator endpoints: admin metrics, discovery)'),
  TRAFFIC_URL: z.url().default('http://127.0.0.1:3002').describe('Base URL of the traffic service (policies at start-up)'),
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).default(14_000).describe('Per-call timeout towards consent and connectors (504 beyond it; TPPs wait 15 s)'),
  UPSTREAM_CONNECTIONS: z.coerce.number().int().min(1).default(64).describe('Keep-alive connections per upstream service'),
  SERVICE_TOKEN_TTL_S: z.coerce.number().int().min(2).max(60).default(30).describe('Lifetime of the service tokens the gateway signs; one token per caller context is reused for half of it'),
  CONSENT_CACHE_SIZE: z.coerce.number().int().min(1).default(200_000).describe('Consents kept in memory'),
  CONSENT_CACHE_MAX_AGE_MS: ms(300_000).describe('Safety net: a cached consent is read again after this long even without an event'),
  ORG_STATUS_TTL_MS: ms(600_000).describe('How long a directory answer about an organisation is used (events update it sooner)'),
  ORG_CHECK_ON_DIRECTORY_DOWN: z.enum(['allow', 'deny']).default('allow').describe('Directory unreachable and the organisation unknown: let the call through (allow) or refuse it (deny)'),
  GLOBAL_TPS_DEFAULT: z.coerce.number().int().min(300).default(300).describe('Global capacity (requests/s across replicas) until the traffic service says otherwise; the rules require at least 300'),
  LIMITS_ON_REDIS_DOWN: z.enum(['allow', 'deny']).default('allow').describe('Redis unreachable: serve without limits (allow, counted and logged) or refuse with 503 (deny)'),
  LIMITS_REDIS_TIMEOUT_MS: z.coerce.number().int().min(5).default(100).describe('Longest wait for the limits script before the Redis-down behaviour applies'),
  OPEN_DATA_CACHE_TTL_MS: ms(60_000).describe('How long open-data responses are cached (0 disables)'),
  REGULATOR_CACHE_TTL_MS: ms(5_000).describe("How long the regulator's endpoints (admin metrics, discovery status and outages) are cached (0 disables); short, so a status change shows within seconds"),
  REGULATOR_TPM_PER_IP: z.coerce.number().int().min(0).default(60).describe("Requests per minute per client IP on each regulator endpoint (429 beyond it, as open data; 0 = no limit); the NFR reference sets none, a regulator poller needs a few"),
  EVENT_BUFFER_MAX: z.coerce.number().int().min(1).default(50_000).describe('api-call events held while Kafka is slow; beyond it events are dropped, counted and logged'),
  EVENT_BATCH_SIZE: z.coerce.number().int().min(1).default(500).describe('api-call events per Kafka request'),
  EVENT_FLUSH_MS: z.coerce.number().int().min(1).default(200).describe('api-call event flush interval'),
  TRAFFIC_POLICY_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/).default(topics.trafficPolicy)
    .describe('Compacted topic of traffic policies (the one the traffic service publishes to)'),
  API_CATALOG_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/).default(topics.apiCatalog)
    .describe('Compacted topic of API versions turned off or on in the admin console (read from the beginning)'),
  CLIENT_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/).default(topics.client)
    .describe('Compacted topic of clients suspended or reinstated (published by the auth-server; read from the beginning)'),
  PUBLIC_BASE_URLS: envList(['https://localhost:8443', 'https://127.0.0.1:8443']).describe('Public base URLs of the gateway, comma-separated: a signed request\'s `aud` must be the endpoint\'s URL under one of them'),
  BANK_ORGANISATION_ID: z.string().min(1).max(40).default('9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b').describe('Directory organisation id of the bank running Ponte: the `iss` of signed answers (the directory\'s BANK_ORGANISATION_ID)'),
  BANK_NAME: z.string().min(1).max(256).default('Banco Ponte Demo S.A.').describe('Registered name of the bank (CN of the development payload-signing certificate)'),
  BANK_CNPJ: z.string().regex(/^[0-9A-Z]{12}\d{2}$/).default('12345678000195').describe('CNPJ of the bank (in the development payload-signing certificate)'),
  PAYLOAD_SIGNING_CERT_FILE: z.string().optional().describe('The bank\'s payload-signing (BRSEAL) certificate chain, PEM, leaf first; with ALLOW_DEV_DEFAULTS a dev certificate in the dev PKI folder'),
  PAYLOAD_SIGNING_KEY_FILE: z.string().optional().describe('Its private key as an encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`); may be the certificate file'),
  PAYLOAD_SIGNING_RELOAD_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000).describe('How often the payload-signing key files are checked for a rotation (`pnpm ponte rotate-keys --payload-signing`); a changed file that opens is used from then on'),
  PAYLOAD_SIGNING_KEY_PASSPHRASE: z.string().min(1).optional().describe('Passphrase of PAYLOAD_SIGNING_KEY_FILE; with ALLOW_DEV_DEFAULTS a fixed dev passphrase'),
  PONTE_DEV_PKI_DIR: z.string().optional().describe('Dev PKI folder where the development payload-signing key is created (ALLOW_DEV_DEFAULTS only); default `<repo>/.pki`'),
  PARTICIPANT_KEYS_MAX_AGE_MS: ms(600_000).describe('How long a TPP\'s payload-signing keys fetched from the directory are used before they are fetched again'),
  PARTICIPANT_KEYS_COOLDOWN_MS: ms(30_000).describe('Least time between two fetches of one TPP\'s keys caused by an unknown kid'),
  OVERLOAD_MAX_IN_FLIGHT: z.coerce.number().int().min(0).default(1_000).describe('Regulated calls in progress at once per process beyond which new ones are answered 529 at once, whatever the event loop says (0: no cap); the regulator\'s endpoints are never shed'),
  OVERLOAD_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(20).describe('Mean event-loop delay over a 50 ms window beyond which the adaptive limit of calls in progress falls by a quarter; calls over the limit are answered 529 at once (0: off, only OVERLOAD_MAX_IN_FLIGHT applies)'),
  OVERLOAD_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0.1).max(1).default(1).describe('Share of a 50 ms window the event loop may be busy before the adaptive limit of calls in progress falls by a quarter, keeping the rest free to read and refuse what arrives: faster refusals for fewer calls served, worth it where calls cost far more than a refusal (1: no bound; only with OVERLOAD_EVENT_LOOP_DELAY_MS on; docs/decisions/gateway-load-shedding.md)'),
  SHUTDOWN_DRAIN_DELAY_MS: ms(0).describe('On SIGTERM, how long the gateway keeps serving with /readyz answering 503 before it stops accepting connections, so a load balancer takes it out of rotation first (a Kubernetes preStop delay does the same)'),
  GATEWAY_WORKERS: z.coerce.number().int().min(0).max(256).default(0).describe('Worker processes sharing the listener (0: one per core; 1: a single process, no primary)'),
  GATEWAY_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional().describe('Name of this replica in consumer group ids (default: hostname-pid)'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  if (!e.ALLOW_DEV_DEFAULTS && !(e.PAYLOAD_SIGNING_CERT_FILE && e.PAYLOAD_SIGNING_KEY_FILE && e.PAYLOAD_SIGNING_KEY_PASSPHRASE)) {
    throw new ConfigError([{ key: 'PAYLOAD_SIGNING_CERT_FILE', message: 'PAYLOAD_SIGNING_CERT_FILE, PAYLOAD_SIGNING_KEY_FILE and PAYLOAD_SIGNING_KEY_PASSPHRASE are required (or set ALLOW_DEV_DEFAULTS=true)' }])
  }
  const base = baseServiceConfig('gateway', e)
  if (e.SHUTDOWN_DRAIN_DELAY_MS >= base.shutdownTimeoutMs) {
    throw new ConfigError([{ key: 'SHUTDOWN_DRAIN_DELAY_MS', message: `must be shorter than SHUTDOWN_TIMEOUT_MS (${base.shutdownTimeoutMs} ms), which it is part of` }])
  }
  return Object.freeze({
    ...base,
    kafka: { brokers: e.KAFKA_BROKERS },
    redis: { url: e.REDIS_URL, timeoutMs: e.LIMITS_REDIS_TIMEOUT_MS },
    tls: { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE, clientCaFile: e.TLS_CLIENT_CA_FILE },
    certificates: { header: e.CLIENT_CERT_HEADER, trustedProxies: e.TRUSTED_PROXIES },
    tokens: {
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.ACCESS_TOKEN_AUDIENCE,
      caFile: e.AUTH_CA_FILE,
      cacheSize: e.TOKEN_CACHE_SIZE,
      jwksCooldownMs: e.JWKS_COOLDOWN_MS,
      jwksMaxAgeMs: e.JWKS_MAX_AGE_MS,
      clockToleranceS: e.CLOCK_TOLERANCE_S,
    },
    services: { consent: e.CONSENT_URL, connectors: e.CONNECTORS_URL, directory: e.DIRECTORY_URL, traffic: e.TRAFFIC_URL, trace: e.TRACE_URL },
    upstream: { timeoutMs: e.UPSTREAM_TIMEOUT_MS, connections: e.UPSTREAM_CONNECTIONS, serviceTokenTtlS: e.SERVICE_TOKEN_TTL_S },
    consents: { maxEntries: e.CONSENT_CACHE_SIZE, maxAgeMs: e.CONSENT_CACHE_MAX_AGE_MS },
    organisations: { ttlMs: e.ORG_STATUS_TTL_MS, onDirectoryDown: e.ORG_CHECK_ON_DIRECTORY_DOWN },
    limits: { globalTpsDefault: e.GLOBAL_TPS_DEFAULT, onRedisDown: e.LIMITS_ON_REDIS_DOWN, policyTopic: e.TRAFFIC_POLICY_TOPIC },
    openData: { ttlMs: e.OPEN_DATA_CACHE_TTL_MS },
    controls: { catalogTopic: e.API_CATALOG_TOPIC, clientTopic: e.CLIENT_TOPIC },
    regulator: { cacheTtlMs: e.REGULATOR_CACHE_TTL_MS, tpmPerIp: e.REGULATOR_TPM_PER_IP },
    events: { maxBuffered: e.EVENT_BUFFER_MAX, batchSize: e.EVENT_BATCH_SIZE, flushIntervalMs: e.EVENT_FLUSH_MS },
    instanceId: e.GATEWAY_INSTANCE_ID,
    signed: {
      publicBaseUrls: e.PUBLIC_BASE_URLS,
      bank: { organisationId: e.BANK_ORGANISATION_ID, name: e.BANK_NAME, cnpj: e.BANK_CNPJ },
      certFile: e.PAYLOAD_SIGNING_CERT_FILE,
      keyFile: e.PAYLOAD_SIGNING_KEY_FILE,
      passphrase: e.PAYLOAD_SIGNING_KEY_PASSPHRASE ?? (e.ALLOW_DEV_DEFAULTS ? DEV_PAYLOAD_SIGNING_PASSPHRASE : undefined),
      reloadMs: e.PAYLOAD_SIGNING_RELOAD_MS,
      devPkiDir: e.PONTE_DEV_PKI_DIR,
      keysMaxAgeMs: e.PARTICIPANT_KEYS_MAX_AGE_MS,
      keysCooldownMs: e.PARTICIPANT_KEYS_COOLDOWN_MS,
    },
    workers: e.GATEWAY_WORKERS,
    overload: { maxInFlight: e.OVERLOAD_MAX_IN_FLIGHT, maxEventLoopDelayMs: e.OVERLOAD_EVENT_LOOP_DELAY_MS, maxEventLoopUtilization: e.OVERLOAD_EVENT_LOOP_UTILIZATION },
    drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
