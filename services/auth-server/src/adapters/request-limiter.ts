import { registerMetricSource, type Logger } from '@ponte/platform'
import type { Redis } from 'ioredis'
import { addressKey, msUntilAllowed, REQUEST_LIMIT_WINDOW_MS, type RequestBudgets, type RequestClass } from '../domain/request-limit.ts'

/** The limiter's answer for one request. */
export type RequestVerdict =
  | { ok: true }
  | { ok: false; retryAfterS: number }

/** Counts requests per class and client address in Redis, shared by every replica. */
export interface RequestLimiter {
  check(cls: RequestClass, address: string): Promise<RequestVerdict>
  readonly stats: RequestLimiterStats
}

/** Decisions since start, per class. */
export type RequestLimiterStats = Record<RequestClass, { allowed: number; refused: number; servedWithoutLimit: number }>

// One round-trip per request. KEYS[1] the current window's count, KEYS[2] the previous window's; ARGV[1] the budget,
// ARGV[2] milliseconds into the current window, ARGV[3] the window (ms), ARGV[4] the counters' lifetime (s). A refused
// request is taken back out: an address that keeps knocking is not held longer for it. Answers {allowed, current, previous}.
const SLIDING_WINDOW = `
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
local window = tonumber(ARGV[3])
if previous * (window - tonumber(ARGV[2])) / window + current > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {0, current - 1, previous}
end
return {1, current, previous}
`

type ScriptRedis = Redis & { ponteRequestLimit(...args: Array<string | number>): Promise<[number, number, number]> }

/** Options of {@link createRequestLimiter}. */
export interface RequestLimiterOptions {
  budgets: RequestBudgets
  /** Key prefix, e.g. `auth:requests`. */
  prefix: string
  logger: Logger
  /** The clock the windows are cut from. */
  now?: () => number
}

/**
 * The Redis limiter (a sliding window of two fixed-minute counters per class and address). Redis unreachable or too
 * slow (the client's command timeout): the request is served without the limit, counted, and logged once per outage,
 * as the gateway does with its own limits (docs/decisions/gateway-traffic-limits.md): a limit must not become an outage.
 */
export function createRequestLimiter(redis: Redis, options: RequestLimiterOptions): RequestLimiter {
  const script = redis as ScriptRedis
  script.defineCommand('ponteRequestLimit', { numberOfKeys: 2, lua: SLIDING_WINDOW })
  const now = options.now ?? Date.now
  const windowMs = REQUEST_LIMIT_WINDOW_MS
  const ttlS = Math.ceil((2 * windowMs) / 1000)
  const stats: RequestLimiterStats = { public: { allowed: 0, refused: 0, servedWithoutLimit: 0 }, mtls: { allowed: 0, refused: 0, servedWithoutLimit: 0 } }
  let down = false
  return {
    stats,
    async check(cls, address) {
      const budget = options.budgets[cls]
      if (budget <= 0) return { ok: true }
      const t = now()
      const window = Math.floor(t / windowMs)
      const elapsedMs = t - window * windowMs
      // One hash tag per class and address: both counters live in the same Redis Cluster slot.
      const tag = `${options.prefix}:{${cls}:${addressKey(address)}}`
      try {
        const [allowed, current, previous] = await script.ponteRequestLimit(`${tag}:${window}`, `${tag}:${window - 1}`, budget, elapsedMs, windowMs, ttlS)
        if (down) {
          down = false
          options.logger.info('request limits enforced again')
        }
        if (allowed === 1) {
          stats[cls].allowed++
          return { ok: true }
        }
        stats[cls].refused++
        return { ok: false, retryAfterS: Math.max(1, Math.ceil(msUntilAllowed(budget, previous, current, elapsedMs, windowMs) / 1000)) }
      } catch (err) {
        stats[cls].servedWithoutLimit++
        if (!down) {
          down = true
          options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'request limits unavailable: serving without them')
        }
        return { ok: true }
      }
    },
  }
}

/** Reports the limiter's decisions in the process metrics (`/metrics`); returns the function that removes them. */
export function registerRequestLimitMetrics(limiter: RequestLimiter): () => void {
  return registerMetricSource('ponte_auth_request_limit_decisions_total',
    'Per-address request limit of the OAuth endpoints, by class: allowed, refused (429), or served without the limit while Redis was unavailable', 'counter',
    () => (['public', 'mtls'] as const).flatMap((cls) => [
      { labels: { class: cls, decision: 'allowed' }, value: limiter.stats[cls].allowed },
      { labels: { class: cls, decision: 'refused' }, value: limiter.stats[cls].refused },
      { labels: { class: cls, decision: 'redis_down_pass' }, value: limiter.stats[cls].servedWithoutLimit },
    ]))
}
