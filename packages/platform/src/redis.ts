import { Redis, type RedisOptions as IORedisOptions } from 'ioredis'
import type { Logger } from './logger.ts'

export type { Redis } from 'ioredis'

/** Options of {@link createRedis}. */
export interface RedisOptions {
  lazy?: boolean
  /** Retries of a command after a connection error (default 1; 0 for hot paths that decide themselves). */
  maxRetriesPerRequest?: number
  /** A command that takes longer fails with a timeout (default: none). */
  commandTimeoutMs?: number
}

/**
 * A Redis client that never blocks callers while Redis is down: commands fail fast (no offline queue) and the client
 * reconnects by itself with capped backoff. Connection errors are logged once per outage, not per retry.
 */
export function createRedis(url: string, log: Logger, options: RedisOptions = {}): Redis {
  let down = false
  const target = redisTarget(url)
  const redis = new Redis({
    ...target,
    lazyConnect: options.lazy ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
    connectTimeout: 2_000,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    // After a failover the old primary may come back as a replica: a write there answers READONLY; reconnect (the
    // sentinels name the new primary) and resend.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  })
  redis.on('error', (err) => {
    if (!down) log.warn({ err: err.message }, 'redis unavailable')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info('redis available again')
    down = false
  })
  return redis
}

/**
 * Connection options from a URL: `redis://[:password@]host:port[/db]`, or, through Redis Sentinel,
 * `redis-sentinel://[:password@]sentinel:26379/<primary name>[/db][?sentinels=host:port,host:port]`: the client asks
 * the sentinels which server is the primary and asks again after a failover (docs/operations/redis.md).
 */
export function redisTarget(url: string): IORedisOptions {
  const u = new URL(url)
  const password = u.password ? decodeURIComponent(u.password) : undefined
  const username = u.username ? decodeURIComponent(u.username) : undefined
  if (u.protocol === 'redis-sentinel:') {
    const [name, db] = u.pathname.split('/').filter(Boolean)
    if (!name) throw new Error('a redis-sentinel:// URL names the primary: redis-sentinel://host:26379/<name>')
    const more = (u.searchParams.get('sentinels') ?? '').split(',').filter(Boolean)
    const sentinels = [`${u.hostname}:${u.port || '26379'}`, ...more].map((hp) => {
      const i = hp.lastIndexOf(':')
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) }
    })
    return { sentinels, name, db: Number(db ?? 0), ...(password ? { password, sentinelPassword: password } : {}), ...(username ? { username } : {}) }
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`unsupported Redis URL scheme ${u.protocol}`)
  return {
    host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0),
    ...(password ? { password } : {}), ...(username ? { username } : {}), ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  }
}


/** A readiness check body for Redis. */
export async function pingRedis(redis: Redis): Promise<void> {
  await redis.ping()
}
