import { fileURLToPath } from 'node:url'
import { createLogger, type Logger } from './logger.ts'
import { loadServiceKeys, type ServiceKeys } from './keys.ts'
import { createServiceTokenIssuer, createServiceTokenVerifier, type ServiceTokenIssuer, type ServiceTokenVerifier } from './service-auth.ts'
import { assertSearchPath, createPool, migrate, pingDatabase, type Pool } from './db.ts'
import { createKafka, createPublisher, type EventPublisher, type Kafka } from './kafka.ts'
import { createRedis, pingRedis, type Redis } from './redis.ts'
import type { ReadinessCheck } from './server.ts'
import type { Closer } from './lifecycle.ts'

/** What a service connects to, from its parsed configuration. */
export interface RuntimeOptions {
  service: string
  logLevel: string
  /** PostgreSQL: the service's own schema and its migrations folder (see `dbConfig`). */
  db?: DbOptions & { migrationsDir: string }
  kafka?: { brokers: readonly string[] }
  redis?: { url: string }
}

/** The PostgreSQL part of a configuration, as `dbConfig` builds it. */
export interface DbOptions {
  url: string
  /** Session connection: migrations and LISTEN (the same as `url` unless a transaction pooler is in between). */
  directUrl?: string
  pooler?: 'none' | 'transaction'
  schema: string
  poolMax: number
}

/** Real connections of a service, with the readiness checks and closers that go with them. */
export interface Runtime {
  logger: Logger
  pool?: Pool
  /**
   * Connections that keep session state (LISTEN): `pool` itself, or behind a transaction pooler a small pool on the
   * direct URL, since a LISTEN through the pooler would be left on a server connection other clients then use.
   */
  sessionPool?: Pool
  kafka?: Kafka
  publisher?: EventPublisher
  redis?: Redis
  readiness: ReadinessCheck[]
  /** Close in this order at shutdown (after the HTTP server). */
  closers: Closer[]
}

/**
 * Opens what a service needs, for `main.ts`: the logger, the PostgreSQL pool after migrating the service's schema
 * (under an advisory lock, so replicas migrate once), Kafka and Redis clients. PostgreSQL and Redis get a readiness
 * check; Kafka does not: a broker outage delays events (they wait in the outbox, or the gateway's bounded buffer) but
 * must not take a service's API out of rotation (docs/operations/chaos.md shows it). Nothing here is used by tests,
 * which build apps from their own dependencies.
 */
export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const logger = createLogger({ service: options.service, level: options.logLevel })
  const readiness: ReadinessCheck[] = []
  const closers: Closer[] = []
  const rt: Runtime = { logger, readiness, closers }
  if (options.db) {
    const db = options.db
    await migrate({ url: db.directUrl ?? db.url, schema: db.schema, dir: db.migrationsDir, log: logger })
    const pooled = db.pooler === 'transaction'
    const pool = createPool({ url: db.url, schema: db.schema, max: db.poolMax, applicationName: options.service, pooler: db.pooler ?? 'none' }, logger)
    if (pooled) await assertSearchPath(pool, db.schema).catch(async (err: unknown) => { await pool.end(); throw err })
    closers.push(() => pool.end())
    rt.pool = pool
    rt.sessionPool = pool
    if (pooled) {
      const sessionPool = createPool({ url: db.directUrl ?? db.url, schema: db.schema, max: 2, applicationName: `${options.service}-listen` }, logger)
      rt.sessionPool = sessionPool
      closers.push(() => sessionPool.end())
    }
    readiness.push({ name: 'postgres', check: () => pingDatabase(pool) })
  }
  if (options.kafka) {
    const kafka = createKafka({ brokers: [...options.kafka.brokers], clientId: options.service, logger })
    rt.kafka = kafka
    rt.publisher = createPublisher(kafka)
    const publisher = rt.publisher
    closers.unshift(() => publisher.disconnect())
  }
  if (options.redis) {
    const redis = createRedis(options.redis.url, logger)
    rt.redis = redis
    readiness.push({ name: 'redis', check: () => pingRedis(redis) })
    closers.push(() => redis.quit().catch(() => redis.disconnect()))
  }
  return rt
}

/**
 * Runs a start-up step (parsing configuration, reading keys); on failure prints the reason on stderr and exits 1,
 * so a misconfigured service refuses to start with a readable message instead of a stack trace.
 */
export function orExit<T>(step: () => T): T {
  try {
    return step()
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err))
    process.exit(1)
  }
}

/** The configuration fields {@link bootService} reads (see `baseServiceConfig`, `dbConfig`). */
export interface BootConfig {
  service: string
  logLevel: string
  serviceKeys: { privateKey?: string | undefined; publicKeys?: string | undefined }
  db?: DbOptions
  kafka?: { brokers: readonly string[] }
  redis?: { url: string }
}

/** What a booted service has: its connections and its service-token keys. */
export interface BootedService {
  runtime: Runtime
  serviceKeys: ServiceKeys
  /** Verifies tokens addressed to this service (its `/internal/*` routes). */
  serviceAuth: ServiceTokenVerifier
  /** Signs tokens for the services it calls. */
  issuer: ServiceTokenIssuer
}

/**
 * The start of every `main.ts`: reads the service-token keys (exits with a readable message when they are missing),
 * migrates the service's schema from `migrations` (when the config has `db`), and opens Kafka and Redis when the config
 * names them.
 */
export async function bootService(config: BootConfig, migrations?: URL, argv: readonly string[] = process.argv): Promise<BootedService> {
  if (argv.includes('--migrate-only')) await migrateOnly(config, migrations)
  const serviceKeys = orExit(() => loadServiceKeys(config.serviceKeys))
  const runtime = await openRuntime({
    service: config.service,
    logLevel: config.logLevel,
    ...(config.db && migrations ? { db: { ...config.db, migrationsDir: fileURLToPath(migrations) } } : {}),
    ...(config.kafka ? { kafka: config.kafka } : {}),
    ...(config.redis ? { redis: config.redis } : {}),
  })
  return {
    runtime,
    serviceKeys,
    serviceAuth: createServiceTokenVerifier(config.service, serviceKeys.publicKeys),
    issuer: createServiceTokenIssuer(config.service, serviceKeys.privateKeyPem),
  }
}

/**
 * `main.ts --migrate-only`: migrates the service's schema (under the same advisory lock as a start) and exits 0,
 * opening nothing else: the migration Job run before a rollout (infra/k8s/README.md). Exits 1 when it fails.
 */
async function migrateOnly(config: BootConfig, migrations: URL | undefined): Promise<never> {
  const logger = createLogger({ service: config.service, level: config.logLevel })
  try {
    const { applied } = config.db && migrations
      ? await migrate({ url: config.db.directUrl ?? config.db.url, schema: config.db.schema, dir: fileURLToPath(migrations), log: logger })
      : { applied: [] }
    logger.info({ schema: config.db?.schema, applied: applied.length }, 'migrate-only: schema up to date')
    process.exit(0)
  } catch (err) {
    logger.error({ err }, 'migrate-only: migration failed')
    process.exit(1)
  }
}
