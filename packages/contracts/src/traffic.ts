import { z } from 'zod'
import { eventEnvelope } from './envelope.ts'

/**
 * Traffic-limit policies (owned by `traffic`, enforced by `gateway`) and the Redis counter layout both services share:
 * the gateway increments the counters in one Lua script per request; `traffic` reads them for usage reports.
 * docs/regulation/traffic-and-slas.md#per-origin-limit-tpm: per-minute TPM per endpoint × origin (organisation, or client IP for open data) → 429; global TPS → 529;
 * monthly operational limits per endpoint × resource × customer × receiving organisation → 423 (2xx only).
 */

/** The kinds of limit. */
export const LimitKind = z.enum(['tpm', 'global-tps', 'monthly'])
export type LimitKind = z.infer<typeof LimitKind>

/**
 * One policy. `endpoint` is the templated endpoint key `METHOD /path/{param}` (e.g.
 * `GET /open-banking/accounts/v2/accounts/{accountId}/balances`); absent = every endpoint of that kind (default).
 * `organisationId` absent = every organisation (default); present = an override for that organisation.
 */
export const TrafficPolicy = z.object({
  policyId: z.string().min(1).max(300),
  kind: LimitKind,
  endpoint: z.string().optional(),
  organisationId: z.string().optional(),
  /** Requests per minute (tpm), per second (global-tps) or per month (monthly). */
  limit: z.number().int().positive(),
  enabled: z.boolean(),
  updatedAt: z.string(),
  updatedBy: z.string().optional(),
})
export type TrafficPolicy = z.infer<typeof TrafficPolicy>

/** Policy set or changed (`ponte.traffic-policy.v1`, compacted, key = policyId). */
export const TrafficPolicyUpserted = z.object({ ...eventEnvelope, type: z.literal('traffic.policy.upserted'), data: TrafficPolicy })
/** Policy removed (the key's last record; consumers drop it). */
export const TrafficPolicyDeleted = z.object({ ...eventEnvelope, type: z.literal('traffic.policy.deleted'), data: z.object({ policyId: z.string() }) })
/** Any event of `ponte.traffic-policy.v1`. */
export const TrafficPolicyEvent = z.discriminatedUnion('type', [TrafficPolicyUpserted, TrafficPolicyDeleted])
export type TrafficPolicyEvent = z.infer<typeof TrafficPolicyEvent>

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** Calendar minute bucket `YYYYMMDDhhmm` (UTC) of a time. */
export function minuteBucket(ms: number): string {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`
}

/** Calendar month bucket `YYYYMM` (UTC). */
export function monthBucket(ms: number): string {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}`
}

/**
 * Redis keys of the counters. Hash fields join their parts with `|`:
 * - `tpm(minute)`: hash, field `origin|endpoint` → calls accepted in that minute (origin = org id or `ip:<addr>`).
 *   Kept 48 h for usage reports.
 * - `tps(second)`: string counter of all calls in that epoch second, across replicas. Kept 5 s.
 * - `monthly(month)`: hash, field `endpoint|resourceId|customerDoc|organisationId` → 2xx calls that count toward the
 *   operational limit. Kept 40 days.
 * - `usage(month)`: hash, field `organisationId|endpoint` → all calls of the month per organisation, for reports.
 *
 * Every key carries the hash tag `{tl}`: the gateway's limits script touches four of them in one call, and Redis
 * Cluster runs a script only when all its keys are in one hash slot (docs/decisions/platform-redis-sentinel-cluster.md).
 */
export const trafficKeys = {
  tpm: (minute: string) => `ponte:{tl}:tpm:${minute}`,
  tps: (epochSecond: number) => `ponte:{tl}:tps:${epochSecond}`,
  monthly: (month: string) => `ponte:{tl}:mon:${month}`,
  usage: (month: string) => `ponte:{tl}:usage:${month}`,
  field: (...parts: string[]) => parts.join('|'),
  ttlSeconds: { tpm: 48 * 3600, tps: 5, monthly: 40 * 86400, usage: 400 * 86400 },
} as const
