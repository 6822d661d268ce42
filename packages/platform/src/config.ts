import { z } from 'zod'

/** Thrown by {@link parseEnv}; lists every bad variable at once. */
export class ConfigError extends Error {
  readonly issues: ReadonlyArray<{ key: string; message: string }>
  constructor(issues: ReadonlyArray<{ key: string; message: string }>) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`)
    this.name = 'ConfigError'
    this.issues = issues
  }
}

/** Recursively freezes a parsed configuration so nothing can change it after start-up. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v)
  }
  return value
}

/**
 * Parses environment variables with a zod object schema, once. Every bad key is reported in one {@link ConfigError};
 * the result is deeply frozen. Empty strings count as unset, so `FOO=` falls back to the default.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): Readonly<z.output<S>> {
  const cleaned: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v
  const result = schema.safeParse(cleaned)
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ key: i.path.join('.') || '(root)', message: i.message }))
    throw new ConfigError(issues)
  }
  return deepFreeze(result.data)
}

/** `true`/`false`/`1`/`0`/`yes`/`no` as a boolean env variable. */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')

/** A comma-separated list env variable. */
export const envList = (fallback: string[] = []) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))

/** A TCP port env variable. */
export const envPort = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback)

/** The PostgreSQL variables, part of {@link commonEnvShape}. */
export const databaseEnvShape = {
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/ponte').describe('PostgreSQL connection URL'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10).describe('PostgreSQL pool size'),
  DATABASE_POOLER: z.enum(['none', 'transaction']).default('none').describe('`transaction`: DATABASE_URL goes through a transaction-pooling PgBouncer, so nothing session-scoped is sent (the role carries `search_path` and `statement_timeout`: docs/operations/postgres.md); `none`: a direct or session-pooled connection'),
  DATABASE_DIRECT_URL: z.url().optional().describe('Direct (session) connection for migrations, session locks and LISTEN; required when DATABASE_POOLER=transaction, else DATABASE_URL'),
} as const

/**
 * The variables every service shares, PostgreSQL aside. A service that keeps nothing in PostgreSQL (the gateway)
 * spreads this instead of {@link commonEnvShape}, so its configuration table lists no variable it never reads.
 */
export const sharedEnvShape = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  KAFKA_BROKERS: envList(['127.0.0.1:9092']).describe('Kafka bootstrap brokers, comma-separated'),
  SERVICE_TOKEN_PRIVATE_KEY: z.string().min(1).optional().describe('Ed25519 private key (PKCS#8 PEM) that signs internal service tokens'),
  SERVICE_TOKEN_PUBLIC_KEYS: z.string().min(1).optional().describe('Ed25519 public keys (SPKI PEM, concatenated) accepted on internal endpoints'),
  ALLOW_DEV_DEFAULTS: envBoolean(false).describe('Allow development shortcuts (generated keys, sandbox CA); never in production'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000).describe('Grace period for in-flight requests on SIGTERM'),
} as const

const { LOG_LEVEL, ...sharedAfterLogLevel } = sharedEnvShape

/** The variables every service with a PostgreSQL schema shares. Spread into a service's own schema. */
export const commonEnvShape = { LOG_LEVEL, ...databaseEnvShape, ...sharedAfterLogLevel } as const

/** Redis connection variable. */
export const redisEnvShape = {
  REDIS_URL: z.url().default('redis://127.0.0.1:6379').describe('Redis connection URL: `redis://[:password@]host:port[/db]`, or through Sentinel `redis-sentinel://[:password@]host:26379/<primary name>[/db]?sentinels=host:port,…`'),
} as const

/** TLS listener variables of the public services. */
export const tlsEnvShape = {
  TLS_CERT_FILE: z.string().optional().describe('Server certificate chain (PEM); with ALLOW_DEV_DEFAULTS the dev PKI is used when unset'),
  TLS_KEY_FILE: z.string().optional().describe('Server private key (PEM)'),
  TLS_CLIENT_CA_FILE: z.string().optional().describe('Trust anchors for client certificates (PEM bundle)'),
} as const

/**
 * `METRICS_HOST` and `METRICS_PORT`: the listener of `GET /metrics`, apart from the API listener (never on a regulated
 * one); who may scrape is decided by the address it binds (docs/decisions/observability-metrics.md).
 */
export const metricsEnvShape = {
  METRICS_HOST: z.string().min(1).default('127.0.0.1').describe('Listen address of the Prometheus metrics listener (GET /metrics); keep it on a private interface'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464).describe('Port of the Prometheus metrics listener (0: any free port)'),
} as const

/** `HOST` and `PORT` of a service's listener, and its metrics listener. */
export function listenerEnvShape(port: number, what = 'Listen port') {
  return {
    HOST: z.string().default('0.0.0.0').describe('Listen address'),
    PORT: envPort(port).describe(what),
    ...metricsEnvShape,
  } as const
}

/** `DB_SCHEMA`: the PostgreSQL schema a service owns. */
export function schemaEnvShape(schema: string, what = 'PostgreSQL schema owned by this service') {
  return { DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default(schema).describe(what) } as const
}

type BaseEnv = {
  LOG_LEVEL: string
  ALLOW_DEV_DEFAULTS: boolean
  SHUTDOWN_TIMEOUT_MS: number
  SERVICE_TOKEN_PRIVATE_KEY?: string | undefined
  SERVICE_TOKEN_PUBLIC_KEYS?: string | undefined
  HOST: string
  PORT: number
  METRICS_HOST?: string
  METRICS_PORT?: number
}

/** The part of a parsed configuration every service has, from the shared variables. */
export function baseServiceConfig<S extends string>(service: S, e: BaseEnv) {
  return {
    service,
    logLevel: e.LOG_LEVEL,
    allowDevDefaults: e.ALLOW_DEV_DEFAULTS,
    http: { host: e.HOST, port: e.PORT },
    metrics: { host: e.METRICS_HOST ?? '127.0.0.1', port: e.METRICS_PORT ?? 9464 },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    serviceKeys: { privateKey: e.SERVICE_TOKEN_PRIVATE_KEY, publicKeys: e.SERVICE_TOKEN_PUBLIC_KEYS },
  }
}

/**
 * The database part of a parsed configuration. `directUrl` is the session connection (migrations, LISTEN); behind a
 * transaction pooler it must be given, since a session lock or a LISTEN through one would land on a random server
 * connection (docs/decisions/platform-pgbouncer.md).
 */
export function dbConfig(e: { DATABASE_URL: string; DB_SCHEMA: string; DATABASE_POOL_MAX: number; DATABASE_POOLER?: 'none' | 'transaction'; DATABASE_DIRECT_URL?: string | undefined }) {
  const pooler = e.DATABASE_POOLER ?? 'none'
  if (pooler === 'transaction' && !e.DATABASE_DIRECT_URL) {
    throw new ConfigError([{ key: 'DATABASE_DIRECT_URL', message: 'required when DATABASE_POOLER=transaction (migrations and LISTEN need a session connection)' }])
  }
  return { url: e.DATABASE_URL, directUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL, pooler, schema: e.DB_SCHEMA, poolMax: e.DATABASE_POOL_MAX }
}
