import type { Logger } from '@ponte/platform'
import { Redis } from 'ioredis'

/**
 * The gateway's Redis client: auto-pipelined (one script per request shares the connection's writes), fail-fast
 * while disconnected (no offline queue), and a short command timeout so a hung Redis turns into the configured
 * Redis-down behaviour instead of a hung request. It reconnects by itself.
 */
export function createLimitsRedis(url: string, commandTimeoutMs: number, log: Logger): Redis {
  let down = false
  const redis = new Redis(url, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  })
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message }, 'redis unavailable')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info('redis available again')
    down = false
  })
  return redis
}
