import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { ConfigError, baseServiceConfig, commonEnvShape, dbConfig, envBoolean, listenerEnvShape, parseEnv, redisEnvShape, schemaEnvShape } from '@ponte/platform'

/** Environment variables of the admin service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3000),
  ...schemaEnvShape('admin'),
  ...redisEnvShape,
  CONSENT_URL: z.url().default('http://127.0.0.1:3001').describe('Consent service internal API (search, audit, revoke)'),
  TRAFFIC_URL: z.url().default('http://127.0.0.1:3002').describe('Traffic service internal API (policies, overrides, usage)'),
  DIRECTORY_URL: z.url().default('http://127.0.0.1:3005').describe('Directory service internal API (organisations)'),
  CONNECTORS_URL: z.url().default('http://127.0.0.1:3003').describe('Connectors internal API (payments, their history and cancellation, webhooks sent)'),
  TRACE_URL: z.url().default('http://127.0.0.1:3004').describe('Trace service internal API (scheduled outages)'),
  AUTH_SERVER_URL: z.url().default('https://127.0.0.1:8444').describe("Auth-server internal API (registered clients, their suspension); TLS"),
  AUTH_SERVER_CA_FILE: z.string().min(1).optional().describe("Trust anchors (PEM) of the auth-server's TLS certificate (default: the system store, or the dev CA with ALLOW_DEV_DEFAULTS)"),
  INTERNAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000).describe('Timeout of each call to another service'),
  SESSION_IDLE_TIMEOUT_S: z.coerce.number().int().min(60).max(86_400).default(900).describe('A staff session unused this long ends (seconds)'),
  SESSION_ABSOLUTE_TIMEOUT_S: z.coerce.number().int().min(300).max(7 * 86_400).default(28_800).describe('A staff session ends this long after login, used or not (seconds)'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5).describe('Failed logins (password or code) per e-mail before the account is throttled for the window'),
  LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20).describe('Failed logins per client address before the address is throttled for the window'),
  LOGIN_THROTTLE_WINDOW_S: z.coerce.number().int().min(10).default(900).describe('Login throttle window (seconds)'),
  ROUTE_TABLE_FILE: z.string().min(1).optional().describe("The gateway's route table, the API catalog's source (default: services/gateway/src/routes.generated.json)"),
  API_CATALOG_TOPIC: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('ponte.api-catalog.v1').describe('Kafka topic of API version changes (compacted; the gateway reads it from the beginning)'),
  CONSOLE_DIR: z.string().min(1).optional().describe('Directory of the built console app to serve (default: services/admin/web/dist, built by make install)'),
  SEED_DEMO_STAFF: envBoolean(false).describe('Create the demo staff accounts (README) at start-up; needs ALLOW_DEV_DEFAULTS, never in production'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  if (e.SEED_DEMO_STAFF && !e.ALLOW_DEV_DEFAULTS) throw new ConfigError([{ key: 'SEED_DEMO_STAFF', message: 'needs ALLOW_DEV_DEFAULTS=true: the demo accounts have public passwords' }])
  return Object.freeze({
    ...baseServiceConfig('admin', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    redis: { url: e.REDIS_URL },
    services: { consentUrl: e.CONSENT_URL, trafficUrl: e.TRAFFIC_URL, directoryUrl: e.DIRECTORY_URL, connectorsUrl: e.CONNECTORS_URL, traceUrl: e.TRACE_URL, authServerUrl: e.AUTH_SERVER_URL, authServerCaFile: e.AUTH_SERVER_CA_FILE, timeoutMs: e.INTERNAL_TIMEOUT_MS },
    sessions: { idleS: e.SESSION_IDLE_TIMEOUT_S, absoluteS: e.SESSION_ABSOLUTE_TIMEOUT_S, pendingS: 300 },
    throttle: { perAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT, perAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS, windowS: e.LOGIN_THROTTLE_WINDOW_S },
    seedDemoStaff: e.SEED_DEMO_STAFF,
    catalog: { routeTableFile: e.ROUTE_TABLE_FILE ?? fileURLToPath(new URL('../../gateway/src/routes.generated.json', import.meta.url)), topic: e.API_CATALOG_TOPIC },
    webDir: e.CONSOLE_DIR ?? fileURLToPath(new URL('../web/dist', import.meta.url)),
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
