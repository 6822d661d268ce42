import { minuteBucket, monthBucket, trafficKeys } from '@ponte/contracts'
import type { Logger } from '@ponte/platform'
import type { Redis } from 'ioredis'
import type { LimitPlan } from '../domain/limits.ts'

/**
 * All counters of one call in one Redis round-trip: a Lua script (EVALSHA through ioredis `defineCommand`, auto-
 * pipelined) over the shared layout of `trafficKeys`. Order: global TPS (529) → per-minute TPM (429) → monthly
 * reservation (423). Refused calls are taken back out of the TPM/monthly counters (they count "accepted calls"); the
 * TPS counter and the monthly usage count every call that reached the limiter.
 *
 * KEYS: 1 tps(second) 2 tpm(minute) 3 monthly(month) 4 usage(month)
 * ARGV: 1 tpsLimit 2 tpmField 3 tpmLimit 4 monthlyField 5 monthlyLimit (0 = do not reserve) 6 usageField
 *       7 ttl tps 8 ttl tpm 9 ttl monthly 10 ttl usage
 * Returns { verdict (0 ok, 1 tps, 2 tpm, 3 monthly), tps, tpm, monthly }.
 */
export const LIMITS_SCRIPT = `
local tps = redis.call('INCR', KEYS[1])
if tps == 1 then redis.call('EXPIRE', KEYS[1], ARGV[7]) end
redis.call('HINCRBY', KEYS[4], ARGV[6], 1)
redis.call('EXPIRE', KEYS[4], ARGV[10], 'NX')
local tpsLimit = tonumber(ARGV[1])
if tpsLimit > 0 and tps > tpsLimit then return {1, tps, 0, 0} end
local tpm = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('EXPIRE', KEYS[2], ARGV[8], 'NX')
local tpmLimit = tonumber(ARGV[3])
if tpmLimit > 0 and tpm > tpmLimit then
  redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
  return {2, tps, tpm - 1, 0}
end
local monLimit = tonumber(ARGV[5])
local mon = 0
if monLimit > 0 then
  mon = redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
  redis.call('EXPIRE', KEYS[3], ARGV[9], 'NX')
  if mon > monLimit then
    redis.call('HINCRBY', KEYS[3], ARGV[4], -1)
    redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
    return {3, tps, tpm - 1, mon - 1}
  end
end
return {0, tps, tpm, mon}
`

/** What one call is counted as. */
export interface LimitCall {
  plan: LimitPlan
  /** Organisation id, or `ip:<address>` for open data. */
  origin: string
  /** Templated endpoint key. */
  endpoint: string
  /** For usage reports: the organisation (or the origin for open data). */
  organisationId: string
  /** `endpoint|resource|customer|organisation` when a monthly reservation is wanted, else undefined. */
  monthlyField?: string | undefined
  nowMs: number
}

/** The limiter's answer. `degraded` = Redis could not be asked and the configured fallback let the call through. */
export type LimitVerdict =
  | { ok: true; tpm: number; tpmLimit: number; monthlyReserved: boolean; degraded: boolean }
  | { ok: false; kind: 'tps' | 'tpm' | 'monthly'; tpm: number; tpmLimit: number }
  | { ok: false; kind: 'unavailable' }

/** Runs the script; adjusts monthly counters after the response (2xx-only counting). */
export interface Limiter {
  check(call: LimitCall): Promise<LimitVerdict>
  /** Adds `delta` to a monthly counter, fire-and-forget (refund of a reservation, or a late count). */
  adjustMonthly(field: string, nowMs: number, delta: 1 | -1): void
  readonly stats: LimiterStats
}

/** What the limiter counted since start (decisions, and Redis failures). */
export interface LimiterStats {
  checks: number
  redisFailures: number
  /** Served without limits because Redis could not be asked (LIMITS_ON_REDIS_DOWN=allow). */
  servedWithoutLimits: number
  allowed: number
  /** Refused: global TPS (529), per-client TPM (429), monthly limit (423), Redis down with LIMITS_ON_REDIS_DOWN=deny (503). */
  tps: number
  tpm: number
  monthly: number
  unavailable: number
}

type ScriptRedis = Redis & { ponteLimits(...args: Array<string | number>): Promise<[number, number, number, number]> }

/** Options of {@link createLimiter}. */
export interface LimiterOptions {
  redis: Redis
  logger: Logger
  /** What to do when Redis cannot be asked: serve without limits (default) or refuse with 503. */
  onRedisDown: 'allow' | 'deny'
}

/** Creates the Redis limiter. */
export function createLimiter(options: LimiterOptions): Limiter {
  const redis = options.redis as ScriptRedis
  redis.defineCommand('ponteLimits', { numberOfKeys: 4, lua: LIMITS_SCRIPT })
  // Decisions since start, for /metrics: allowed, refused per limit (tps → 529, tpm → 429, monthly → 423), refused
  // because Redis is down (LIMITS_ON_REDIS_DOWN=deny), served without limits because Redis is down (=allow).
  const stats = { checks: 0, redisFailures: 0, servedWithoutLimits: 0, allowed: 0, tps: 0, tpm: 0, monthly: 0, unavailable: 0 }
  const ttl = trafficKeys.ttlSeconds
  let minuteOf = -1
  let minuteKey = ''
  let monthOf = -1
  let monthKeys = { monthly: '', usage: '' }
  let down = false
  let secondOf = -1
  let secondKey = ''
  const keysFor = (nowMs: number) => {
    const m = Math.floor(nowMs / 60_000)
    if (m !== minuteOf) {
      minuteOf = m
      minuteKey = trafficKeys.tpm(minuteBucket(nowMs))
      const month = monthBucket(nowMs)
      if (Number(month) !== monthOf) {
        monthOf = Number(month)
        monthKeys = { monthly: trafficKeys.monthly(month), usage: trafficKeys.usage(month) }
      }
    }
    return { tpm: minuteKey, ...monthKeys }
  }
  return {
    stats,
    async check(call) {
      stats.checks++
      const k = keysFor(call.nowMs)
      const second = Math.floor(call.nowMs / 1000)
      if (second !== secondOf) {
        secondOf = second
        secondKey = trafficKeys.tps(second)
      }
      const tpmField = trafficKeys.field(call.origin, call.endpoint)
      const usageField = call.organisationId === call.origin ? tpmField : trafficKeys.field(call.organisationId, call.endpoint)
      const reserve = call.monthlyField !== undefined && call.plan.monthly > 0
      try {
        const [verdict, , tpm] = await redis.ponteLimits(
          secondKey, k.tpm, k.monthly, k.usage,
          call.plan.tps, tpmField, call.plan.tpm, reserve ? call.monthlyField! : '', reserve ? call.plan.monthly : 0,
          usageField,
          ttl.tps, ttl.tpm, ttl.monthly, ttl.usage,
        )
        if (down) {
          down = false
          options.logger.info({ redisFailures: stats.redisFailures }, 'traffic limits enforced again')
        }
        if (verdict === 0) {
          stats.allowed++
          return { ok: true, tpm, tpmLimit: call.plan.tpm, monthlyReserved: reserve, degraded: false }
        }
        const kind = verdict === 1 ? 'tps' : verdict === 2 ? 'tpm' : 'monthly'
        stats[kind]++
        return { ok: false, kind, tpm, tpmLimit: call.plan.tpm }
      } catch (err) {
        stats.redisFailures++
        if (!down) {
          down = true
          options.logger.warn({ err: err instanceof Error ? err.message : String(err), onRedisDown: options.onRedisDown }, options.onRedisDown === 'allow' ? 'traffic limits unavailable: serving without limits' : 'traffic limits unavailable: refusing calls')
        }
        if (options.onRedisDown === 'deny') {
          stats.unavailable++
          return { ok: false, kind: 'unavailable' }
        }
        stats.servedWithoutLimits++
        return { ok: true, tpm: 0, tpmLimit: 0, monthlyReserved: false, degraded: true }
      }
    },
    adjustMonthly(field, nowMs, delta) {
      const k = keysFor(nowMs)
      redis.hincrby(k.monthly, field, delta).catch((err: unknown) => {
        stats.redisFailures++
        options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'monthly counter adjustment lost')
      })
    },
  }
}
