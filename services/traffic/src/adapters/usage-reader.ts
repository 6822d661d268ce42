import { minuteBucket, trafficKeys } from '@ponte/contracts'
import type { createRedis } from '@ponte/platform'

type Redis = ReturnType<typeof createRedis>

/**
 * Reads the counters the gateway writes in Redis (layout: `trafficKeys` in packages/contracts/src/traffic.ts). Reads
 * only; `traffic` never writes counters. Hash fields join their parts with `|`; the endpoint is always the last part.
 */

/** One per-minute counter. */
export interface MinuteCounter { minute: string; origin: string; endpoint: string; count: number }

/** One per-month usage counter. */
export interface MonthCounter { organisationId: string; endpoint: string; count: number }

/** The usage reader. */
export interface UsageReader {
  /** Every `tpm` counter of the calendar minutes from `fromMs` to `toMs` (both included), oldest first. */
  minutes(fromMs: number, toMs: number): Promise<MinuteCounter[]>
  /** Every usage counter of a month bucket `YYYYMM`. */
  month(bucket: string): Promise<MonthCounter[]>
}

function splitField(field: string): [string, string] | undefined {
  const bar = field.indexOf('|')
  if (bar <= 0 || bar === field.length - 1) return undefined
  return [field.slice(0, bar), field.slice(bar + 1)]
}

function count(value: string): number {
  const n = Number(value)
  return Number.isSafeInteger(n) && n >= 0 ? n : 0
}

/** Builds a reader on a Redis client (commands are auto-pipelined: one round trip per batch of minutes). */
export function createUsageReader(redis: Redis): UsageReader {
  return {
    async minutes(fromMs, toMs) {
      const start = Math.floor(fromMs / 60_000) * 60_000
      const buckets: string[] = []
      for (let t = start; t <= toMs; t += 60_000) buckets.push(minuteBucket(t))
      const hashes = await Promise.all(buckets.map((b) => redis.hgetall(trafficKeys.tpm(b))))
      const out: MinuteCounter[] = []
      hashes.forEach((hash, i) => {
        for (const [field, value] of Object.entries(hash)) {
          const parts = splitField(field)
          if (parts) out.push({ minute: buckets[i]!, origin: parts[0], endpoint: parts[1], count: count(value) })
        }
      })
      return out
    },
    async month(bucket) {
      const hash = await redis.hgetall(trafficKeys.usage(bucket))
      const out: MonthCounter[] = []
      for (const [field, value] of Object.entries(hash)) {
        const parts = splitField(field)
        if (parts) out.push({ organisationId: parts[0], endpoint: parts[1], count: count(value) })
      }
      return out
    },
  }
}
