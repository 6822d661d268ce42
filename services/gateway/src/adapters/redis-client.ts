import { createRedis, type Logger, type Redis } from '@ponte/platform'

/**
 * The gateway's Redis client: the platform's (auto-pipelined, so one script per request shares the connection's
 * writes; fail-fast while disconnected; reconnects by itself), with no retries and a short command timeout so a hung
 * Redis turns into the configured Redis-down behaviour instead of a hung request.
 */
export function createLimitsRedis(url: string, commandTimeoutMs: number, log: Logger): Redis {
  return createRedis(url, log, { maxRetriesPerRequest: 0, commandTimeoutMs })
}
