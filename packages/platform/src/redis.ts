import { Redis } from 'ioredis'
import type { Logger } from './logger.ts'

export type { Redis } from 'ioredis'

/**
 * A Redis client that never blocks callers while Redis is down: commands fail fast (no offline queue) and the client
 * reconnects by itself with capped backoff. Connection errors are logged once per outage, not per retry.
 */
export function createRedis(url: string, log: Logger, options: { lazy?: boolean } = {}): Redis {
  let down = false
  const redis = new Redis(url, {
    lazyConnect: options.lazy ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
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
