import type { AlertEvent } from '@ponte/contracts'

/** A rule name (the `rule` of `ponte.alert.v1`). */
export type AlertRule = AlertEvent['data']['rule']

/** Thresholds of the alert rules (configuration). */
export interface AlertThresholds {
  /** Daily availability (current Brasília day) below which an endpoint alerts; the rules' target is 95 %. */
  availabilityTarget: number
  /** Sliding window (minutes) of the latency and share rules. */
  windowMinutes: number
  /** Fewest calls in the window for the latency and share rules to judge an endpoint. */
  minCalls: number
  /** Share of 5xx above which an endpoint alerts. */
  errorShare: number
  /** Share of 429 above which an endpoint alerts. */
  throttleShare: number
  /** Share of 529 above which an endpoint alerts (the rules keep 529 below 0.5 % of valid calls a day). */
  overloadShare: number
  /** Unpublished outbox events above which a schema alerts. */
  outboxBacklog: number
  /** Unconsumed messages above which the call store's consumer alerts. */
  consumerLag: number
  /** Days before a certificate's expiry from which it alerts. */
  certificateDays: number
}

/** Window figures of one endpoint and method, from the per-minute rollups. */
export interface EndpointWindow { endpoint: string; method: string; calls: number; s5xx: number; s429: number; s529: number; over1500: number; over2000: number; over4000: number }

/** What the rules look at in one round. */
export interface AlertInput {
  now: Date
  /** uptimeRate per endpoint for the current Brasília day (admin metrics). */
  availability: ReadonlyArray<{ endpoint: string; uptimeRate: number }>
  windows: readonly EndpointWindow[]
  /** p95 SLA (ms) of an endpoint and method: 1 500, 2 000 or 4 000; undefined when unknown. */
  slaOf: (method: string, endpoint: string) => number | undefined
  outboxBacklog: ReadonlyArray<{ schema: string; pending: number }>
  consumerLag: number | undefined
  certificates: ReadonlyArray<{ subject: string; notAfter: Date }>
}

/** One rule's verdict on one subject. */
export interface Verdict { alertKey: string; rule: AlertRule; subject: string; firing: boolean; value: number; threshold: number; message: string }

const pct = (x: number) => `${(x * 100).toFixed(2)} %`

/**
 * Evaluates every rule (docs/regulation/traffic-and-slas.md). A verdict is returned for every subject a rule looked at,
 * firing or not, so the caller can resolve what is no longer true. p95 above the SLA tier is judged exactly from the
 * rollup's counts of calls slower than each tier: the p95 exceeds the tier when more than 5 % of the calls do.
 */
export function evaluate(input: AlertInput, th: AlertThresholds): Verdict[] {
  const out: Verdict[] = []
  for (const a of input.availability) {
    out.push({ alertKey: `availability:${a.endpoint}`, rule: 'availability', subject: a.endpoint, firing: a.uptimeRate < th.availabilityTarget,
      value: a.uptimeRate, threshold: th.availabilityTarget, message: `availability today ${pct(a.uptimeRate)} (target ${pct(th.availabilityTarget)})` })
  }
  for (const w of input.windows) {
    const subject = `${w.method} ${w.endpoint}`
    const judged = w.calls >= th.minCalls
    const sla = input.slaOf(w.method, w.endpoint)
    if (sla !== undefined) {
      const over = sla >= 4_000 ? w.over4000 : sla >= 2_000 ? w.over2000 : w.over1500
      const share = w.calls ? over / w.calls : 0
      out.push({ alertKey: `latency-p95:${subject}`, rule: 'latency-p95', subject, firing: judged && share > 0.05, value: share, threshold: 0.05,
        message: `${pct(share)} of ${w.calls} calls over the ${sla} ms SLA in ${th.windowMinutes} min (p95 above it when over 5 %)` })
    }
    const shares: Array<[AlertRule, number, number, string]> = [
      ['error-share', w.s5xx, th.errorShare, '5xx'], ['throttle-share', w.s429, th.throttleShare, '429'], ['overload-share', w.s529, th.overloadShare, '529']]
    for (const [rule, n, limit, what] of shares) {
      const share = w.calls ? n / w.calls : 0
      out.push({ alertKey: `${rule}:${subject}`, rule, subject, firing: judged && share > limit, value: share, threshold: limit,
        message: `${what} share ${pct(share)} of ${w.calls} calls in ${th.windowMinutes} min (threshold ${pct(limit)})` })
    }
  }
  for (const o of input.outboxBacklog) {
    out.push({ alertKey: `outbox-backlog:${o.schema}`, rule: 'outbox-backlog', subject: o.schema, firing: o.pending > th.outboxBacklog, value: o.pending,
      threshold: th.outboxBacklog, message: `${o.pending} events waiting in the ${o.schema} outbox` })
  }
  if (input.consumerLag !== undefined) {
    out.push({ alertKey: 'consumer-lag:trace', rule: 'consumer-lag', subject: 'trace', firing: input.consumerLag > th.consumerLag, value: input.consumerLag,
      threshold: th.consumerLag, message: `${input.consumerLag} api-call events not yet stored` })
  }
  for (const c of input.certificates) {
    const days = (c.notAfter.getTime() - input.now.getTime()) / 86_400_000
    out.push({ alertKey: `certificate-expiry:${c.subject}`, rule: 'certificate-expiry', subject: c.subject, firing: days < th.certificateDays,
      value: Math.floor(days), threshold: th.certificateDays, message: `certificate ${c.subject} expires on ${c.notAfter.toISOString()} (${Math.floor(days)} days)` })
  }
  return out
}

/** A state change to record: a new firing alert, or a firing one that resolved. */
export interface Transition { verdict: Verdict; to: 'firing' | 'resolved' }

/** Transitions from the current firing set: fire what is newly true, resolve what is firing and no longer true. */
export function transitions(verdicts: readonly Verdict[], firing: ReadonlySet<string>): Transition[] {
  const out: Transition[] = []
  for (const v of verdicts) {
    if (v.firing && !firing.has(v.alertKey)) out.push({ verdict: v, to: 'firing' })
    if (!v.firing && firing.has(v.alertKey)) out.push({ verdict: v, to: 'resolved' })
  }
  return out
}
