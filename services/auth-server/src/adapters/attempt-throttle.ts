import type { Redis } from 'ioredis'
import { waitSchedule, type ThrottleHold, type ThrottleRule, type ThrottleSubject } from '../domain/throttle.ts'

/** Counts failed attempts per subject in Redis and says who must wait; shared by every replica. */
export interface AttemptThrottle {
  /** The longest wait in force among the subjects, if any (nothing is counted). */
  blocked(subjects: ThrottleSubject[]): Promise<ThrottleHold | undefined>
  /** Records a failure of each subject; answers the longest wait now in force, if any. */
  failed(subjects: ThrottleSubject[]): Promise<ThrottleHold | undefined>
  /** Forgets a subject's failures (a successful login for that CPF). */
  succeeded(subject: ThrottleSubject): Promise<void>
}

// KEYS[1] failure count, KEYS[2] not-before (ms); ARGV[1] now (ms), ARGV[2] forget-after (s), ARGV[3…] the wait after
// the 1st, 2nd, … failure (the last one repeats). The wait only ever moves later. Answers the not-before in force.
const RECORD_FAILURE = `
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
local waits = #ARGV - 2
local wait = tonumber(ARGV[2 + math.min(n, waits)])
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if wait > 0 then
  local nb = tonumber(ARGV[1]) + wait
  if nb > current then
    redis.call('SET', KEYS[2], string.format('%.0f', nb), 'PX', math.max(1, nb - tonumber(ARGV[1])) + 1000)
    return string.format('%.0f', nb)
  end
end
return string.format('%.0f', current)
`

/** Options of {@link createAttemptThrottle}. */
export interface AttemptThrottleOptions {
  /** Key prefix, e.g. `auth:login`. */
  prefix: string
  /** The clock the waits are computed against. */
  now?: () => number
}

/** The Redis throttle. A Redis failure rejects (the caller answers 503): it never fails open. */
export function createAttemptThrottle(redis: Redis, options: AttemptThrottleOptions): AttemptThrottle {
  const now = options.now ?? Date.now
  const keys = (s: ThrottleSubject) => [`${options.prefix}:${s.rule.name}:${s.id}:failures`, `${options.prefix}:${s.rule.name}:${s.id}:not-before`] as const
  const latest = (subjects: ThrottleSubject[], notBefore: Array<number>): ThrottleHold | undefined => {
    const t = now()
    let out: ThrottleHold | undefined
    subjects.forEach((s, i) => {
      const nb = notBefore[i] ?? 0
      if (nb > t && (!out || nb > out.until.getTime())) out = { rule: s.rule.name, until: new Date(nb), held: false, retryAfterS: Math.max(1, Math.ceil((nb - t) / 1000)) }
    })
    return out
  }
  const heldFor = (subjects: ThrottleSubject[], hold: ThrottleHold | undefined, counts: Array<number>): ThrottleHold | undefined => {
    if (!hold) return undefined
    const i = subjects.findIndex((s) => s.rule.name === hold.rule)
    const rule: ThrottleRule = subjects[i]!.rule
    return { ...hold, held: (counts[i] ?? 0) >= rule.maxFailures }
  }
  return {
    async blocked(subjects) {
      if (subjects.length === 0) return undefined
      const values = await redis.mget(...subjects.flatMap((s) => keys(s)))
      const counts = subjects.map((_, i) => Number(values[2 * i] ?? 0))
      return heldFor(subjects, latest(subjects, subjects.map((_, i) => Number(values[2 * i + 1] ?? 0))), counts)
    },
    async failed(subjects) {
      const t = now()
      const results = await Promise.all(subjects.map(async (s) => {
        const [failures, notBefore] = keys(s)
        const nb = await redis.eval(RECORD_FAILURE, 2, failures, notBefore, String(t), String(s.rule.forgetAfterS), ...waitSchedule(s.rule).map(String))
        return { nb: Number(nb), count: Number(await redis.get(failures) ?? 0) }
      }))
      return heldFor(subjects, latest(subjects, results.map((r) => r.nb)), results.map((r) => r.count))
    },
    async succeeded(subject) {
      await redis.del(...keys(subject))
    },
  }
}
