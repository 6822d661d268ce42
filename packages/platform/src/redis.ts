import { Redis } from 'ioredis'
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
  const redis = new Redis(url, {
    lazyConnect: options.lazy ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
    connectTimeout: 2_000,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
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

/** A readiness check body for Redis. */
export async function pingRedis(redis: Redis): Promise<void> {
  await redis.ping()
}
