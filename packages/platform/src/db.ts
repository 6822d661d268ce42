import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { runner } from 'node-pg-migrate'
import type { Logger } from './logger.ts'

export type { Pool, PoolClient } from 'pg'

/** Options of {@link createPool}. */
export interface PoolOptions {
  url: string
  /** The service's schema, put first on every connection's `search_path`. */
  schema: string
  max?: number
  /** Client-side statement timeout in ms (default 10 000). */
  statementTimeoutMs?: number
  applicationName?: string
  /**
   * `transaction`: `url` goes through a transaction-pooling PgBouncer, which refuses startup options and would hand a
   * session `SET` to other clients; nothing session-scoped is sent, and the URL's role must carry `search_path` and
   * `statement_timeout` (`ALTER ROLE … SET`, docs/decisions/platform-pgbouncer.md). Checked by {@link assertSearchPath}.
   */
  pooler?: 'none' | 'transaction'
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/

/** Throws unless `name` is a plain lowercase SQL identifier (schemas are interpolated into DDL). */
export function assertSchemaName(name: string): string {
  if (!SCHEMA_RE.test(name)) throw new Error(`invalid schema name: ${name}`)
  return name
}

/** A PostgreSQL pool whose connections use the service's schema; errors on idle clients are logged, not thrown. */
export function createPool(options: PoolOptions, log?: Logger): pg.Pool {
  const schema = assertSchemaName(options.schema)
  const session = options.pooler === 'transaction'
    ? {}
    : { statement_timeout: options.statementTimeoutMs ?? 10_000, options: `-c search_path=${schema},public` }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? schema,
    ...session,
  })
  pool.on('error', (err) => log?.warn({ err }, 'idle PostgreSQL client failed'))
  // A client checked out of the pool (a transaction between two statements, a LISTEN connection) has no 'error'
  // listener of the pool's: when the server goes away (a restart, a failover) its 'error' event would be unhandled and
  // end the process. Every client gets one for its whole life; the failed statement still rejects, and the pool drops
  // the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', (err) => log?.warn({ err: err.message }, 'PostgreSQL connection lost'))
  })
  return pool
}

/**
 * Throws unless the pool's connections resolve unqualified names in `schema`: behind a transaction pooler the role's
 * `search_path` decides it, and a role set up for another schema must stop the service before it writes anywhere.
 */
export async function assertSearchPath(pool: pg.Pool, schema: string): Promise<void> {
  const { rows } = await pool.query<{ schema: string | null; user: string }>('select current_schema() as schema, current_user as user')
  const found = rows[0]
  if (found?.schema !== schema) {
    throw new Error(`PostgreSQL role ${found?.user ?? '?'} resolves names in schema ${found?.schema ?? '(none)'}, not ${schema}: ` +
      `with DATABASE_POOLER=transaction run \`ALTER ROLE "${found?.user ?? '<role>'}" SET search_path = ${schema}, public\` (docs/operations/postgres.md)`)
  }
}

/** SQLSTATEs of a server that is going away or not yet accepting work (classes 08 and 57P, too many connections). */
const UNAVAILABLE_STATES = /^(08...|57P0[1-4]|53300)$/
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed|the database system is (starting up|shutting down|in recovery mode)/

/**
 * True when `err` (or its cause) says PostgreSQL cannot be reached right now: refused or dropped connections, a
 * server shutting down or starting up, the pool's connect timeout. Such a request is answered 503, not 500: nothing
 * was committed (its transaction was rolled back with the connection) and a retry may succeed.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message, errors } = e as { code?: unknown; message?: unknown; errors?: unknown }
    if (typeof code === 'string' && (UNAVAILABLE_STATES.test(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE')) return true
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true
    if (Array.isArray(errors) && errors.some((x) => isDatabaseUnavailable(x))) return true
  }
  return false
}

/** A readiness check body for a pool: one round trip. */
export async function pingDatabase(pool: pg.Pool): Promise<void> {
  await pool.query('select 1')
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  url: string
  /** The service's schema; created when missing. Migrations run with it as `search_path`. */
  schema: string
  /** Folder of `NNN_name.sql` migrations (`-- Up Migration` / `-- Down Migration` sections). */
  dir: string
  log?: Logger
}

const platformMigrations = fileURLToPath(new URL('../migrations', import.meta.url))

/**
 * Applies the platform's own tables (transactional outbox, consumer inbox) and then the service's migrations to its
 * schema, under PostgreSQL's advisory lock so concurrent replicas migrate once. A second run is a no-op.
 */
export async function migrate(options: MigrateOptions): Promise<{ applied: string[] }> {
  const schema = assertSchemaName(options.schema)
  const log = options.log
  const quiet = (msg: string) => log?.debug({ migration: msg }, 'migration')
  const applied: string[] = []
  for (const [dir, table] of [[platformMigrations, 'platform_migrations'], [options.dir, 'migrations']] as const) {
    const ran = await runner({
      databaseUrl: options.url,
      dir,
      direction: 'up',
      migrationsTable: table,
      migrationsSchema: schema,
      schema,
      createSchema: true,
      createMigrationsSchema: true,
      checkOrder: true,
      singleTransaction: true,
      // One advisory lock per schema: replicas of a service wait for each other; different services don't.
      lockValue: createHash('sha256').update(schema).digest().readInt32BE(0),
      advisoryLockMode: 'wait',
      log: quiet,
      verbose: false,
    })
    applied.push(...ran.map((m) => m.name))
  }
  if (applied.length) log?.info({ schema, applied }, 'migrations applied')
  return { applied }
}

/** Runs `fn` in a transaction on one client; commits on success and rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let result: T
  try {
    await client.query('begin')
    result = await fn(client)
    await client.query('commit')
  } catch (err) {
    // A connection that failed is not returned to the pool: the next transaction gets a fresh one.
    const broken = await client.query('rollback').then(() => false, () => true)
    client.release(broken || isDatabaseUnavailable(err))
    throw err
  }
  client.release()
  return result
}

/** Creates the database of `url` when it does not exist (connecting to the server's `postgres` database). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (!rowCount) await client.query(`create database "${name.replaceAll('"', '')}"`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err // created concurrently
    })
  } finally {
    await client.end()
  }
}
