import { apiGroupOf, brasiliaDay, brasiliaDayStart, dayBefore } from './calls.ts'

/** `period` of the admin metrics: the current Brasília day, or it and the 7 previous days. */
export type MetricsPeriod = 'CURRENT' | 'ALL'

/** Rollup of one endpoint URL on one Brasília day (endpoint_days). */
export interface DayFigures { day: string; endpoint: string; calls: number; ttfbSum: number; errors: number; rejections: number; peakTps: number }

/** A time span [from, to). */
export interface Span { from: Date; to: Date }

/** What the admin metrics are computed from. */
export interface MetricsInput {
  now: Date
  period: MetricsPeriod
  /** Endpoint-day rollups of the window (any order). */
  days: readonly DayFigures[]
  /** The first Brasília day the store holds data for (previous days before it are "not available"). */
  firstDay: string | undefined
  /**
   * Minutes in which an endpoint's valid calls succeeded below 95 %, counted by the database: `seconds` per endpoint
   * template and `anySeconds` for their union over every endpoint (each minute clipped to the window), and `minutes`,
   * the start instants (ms) of those that fall on a minute where some API group was probed down or in a scheduled
   * outage (so overlaps are not counted twice).
   */
  unavailable: {
    seconds: ReadonlyMap<string, number>
    anySeconds: number
    minutes: ReadonlyMap<string, readonly number[]>
  }
  /** Start instants (ms) of minutes the probes found an API group down or partly down, per group. */
  probeDownMinutes: ReadonlyMap<string, readonly number[]>
  /** Scheduled outages overlapping the window: their span and affected API groups (empty = every API). */
  outages: ReadonlyArray<Span & { apis: readonly string[] }>
  /** Absolute base URL endpoints are reported under (the gateway's public address). */
  baseUrl: string
}

/** One record of `ResponseMetricsListData` (admin-v2.0.1.yaml). */
export interface MetricsRecord {
  endpoint: string
  requestTime: string
  availability: {
    uptime: { generalUptimeRate: string; uptimeRate: string }
    downtime: { generalDowntime: number; scheduledOutage: number; partialDowntime: number }
  }
  invocations: Series
  averageResponse: Series
  averageTps: Series
  peakTps: Series
  errors: Series
  rejections: Series
}
interface Series { currentDay: number; previousDays: number[] }

const MINUTE = 60_000

/** The window of a period: its first day, its days (current first) and its span up to `now`. */
export function metricsWindow(now: Date, period: MetricsPeriod, firstDay: string | undefined) {
  const today = brasiliaDay(now)
  const previous: string[] = []
  if (period === 'ALL') {
    for (let i = 1; i <= 7; i++) {
      const d = dayBefore(today, i)
      if (firstDay === undefined || d < firstDay) break
      previous.push(d)
    }
  }
  const from = brasiliaDayStart(previous.at(-1) ?? today)
  return { today, previous, span: { from, to: now } }
}

function minutesOf(span: Span, clip: Span): number[] {
  const from = Math.max(span.from.getTime(), clip.from.getTime())
  const to = Math.min(span.to.getTime(), clip.to.getTime())
  const out: number[] = []
  for (let t = Math.floor(from / MINUTE) * MINUTE; t < to; t += MINUTE) out.push(t)
  return out
}

const rate = (down: number, total: number) => (total <= 0 ? 1 : Math.max(0, 1 - down / total)).toFixed(6)

/**
 * The admin metrics, one record per endpoint URL with calls in the window, sorted by endpoint
 * (docs/regulation/regulator-endpoints.md). Definitions:
 * - days are Brasília calendar days; `currentDay` runs from 00:00 Brasília to now, `previousDays[0]` is yesterday,
 *   and only days since the store's first day are listed (at most 7, none for `CURRENT`);
 * - a minute of an endpoint is down when fewer than 95 % of its valid calls succeeded, when the probes found its API
 *   group down or partly down, or when a scheduled outage of its group was in effect (planned outages do not exempt
 *   the time); `partialDowntime` is the endpoint's down seconds, `generalDowntime` the seconds in which any endpoint was
 *   down, `scheduledOutage` the seconds of scheduled outages of the endpoint's group; the rates are 1 − down ÷ elapsed;
 * - `averageResponse` is the mean time to first byte (ms), `averageTps` calls ÷ the day's elapsed seconds, `peakTps`
 *   the most calls in one second; integers are rounded;
 * - `errors` are 5xx except 529, and 408; `rejections` are 423, 429 and 529.
 */
export function computeMetrics(input: MetricsInput): MetricsRecord[] {
  const { now } = input
  const { today, previous, span } = metricsWindow(now, input.period, input.firstDay)
  const days = [today, ...previous]
  const inWindow = new Set(days)
  const byEndpoint = new Map<string, Map<string, DayFigures>>()
  for (const d of input.days) {
    if (!inWindow.has(d.day)) continue
    let m = byEndpoint.get(d.endpoint)
    if (!m) byEndpoint.set(d.endpoint, (m = new Map()))
    m.set(d.day, d)
  }
  const elapsedMs = now.getTime() - span.from.getTime()
  const inSpan = (t: number) => t >= span.from.getTime() && t < span.to.getTime()

  // Down minutes of each API group (probes, scheduled outages), and of each endpoint: its group's plus its own
  // unavailable minutes (counted by the database; only those overlapping a group's minutes come as a list).
  const groupDown = new Map<string, Set<number>>()
  const scheduled = new Map<string, Set<number>>()
  const groupOf = (g: string, m: Map<string, Set<number>>) => { let s = m.get(g); if (!s) m.set(g, (s = new Set())); return s }
  const endpoints = [...byEndpoint.keys()].sort()
  const groups = new Set(endpoints.map(apiGroupOf))
  for (const g of groups) {
    for (const t of input.probeDownMinutes.get(g) ?? []) if (inSpan(t)) groupOf(g, groupDown).add(t)
    for (const o of input.outages) {
      if (o.apis.length > 0 && !o.apis.includes(g)) continue
      for (const t of minutesOf(o, span)) { groupOf(g, groupDown).add(t); groupOf(g, scheduled).add(t) }
    }
  }
  // A minute counts for as long as it lies in the span (the current minute only up to now).
  const seconds = (set: Iterable<number>) => {
    let ms = 0
    for (const t of set) ms += Math.min(t + MINUTE, span.to.getTime()) - Math.max(t, span.from.getTime())
    return Math.round(ms / 1_000)
  }
  const anyGroupDown = new Set<number>()
  for (const s of groupDown.values()) for (const t of s) anyGroupDown.add(t)
  const overlap = (own: readonly number[] | undefined, down: Set<number>) => (own ?? []).filter((t) => down.has(t))
  const downSeconds = (e: string) => {
    const g = groupDown.get(apiGroupOf(e)) ?? new Set<number>()
    return (input.unavailable.seconds.get(e) ?? 0) + seconds(g) - seconds(overlap(input.unavailable.minutes.get(e), g))
  }
  const unavailableAny = new Set<number>()
  for (const list of input.unavailable.minutes.values()) for (const t of list) unavailableAny.add(t)
  const generalDowntime = input.unavailable.anySeconds + seconds(anyGroupDown) - seconds(overlap([...unavailableAny], anyGroupDown))
  const generalUptimeRate = rate(generalDowntime * 1_000, elapsedMs)
  const requestTime = new Date(Math.floor(now.getTime() / 1_000) * 1_000).toISOString().replace('.000Z', 'Z')
  const dayElapsedS = (day: string) => {
    const start = brasiliaDayStart(day).getTime()
    return Math.max(1, (Math.min(now.getTime(), start + 86_400_000) - start) / 1_000)
  }
  const series = (e: string, f: (d: DayFigures | undefined, day: string) => number): Series => ({
    currentDay: f(byEndpoint.get(e)?.get(today), today),
    previousDays: previous.map((day) => f(byEndpoint.get(e)?.get(day), day)),
  })
  return endpoints.map((e) => {
    const down = downSeconds(e)
    return {
      endpoint: input.baseUrl.replace(/\/$/, '') + e.replace(/\{([^}]+)\}/g, '$1'),
      requestTime,
      availability: {
        uptime: { generalUptimeRate, uptimeRate: rate(down * 1_000, elapsedMs) },
        downtime: { generalDowntime, scheduledOutage: seconds(scheduled.get(apiGroupOf(e)) ?? new Set()), partialDowntime: down },
      },
      invocations: series(e, (d) => d?.calls ?? 0),
      averageResponse: series(e, (d) => (d && d.calls > 0 ? Math.round(d.ttfbSum / d.calls) : 0)),
      averageTps: series(e, (d, day) => Math.round((d?.calls ?? 0) / dayElapsedS(day))),
      peakTps: series(e, (d) => d?.peakTps ?? 0),
      errors: series(e, (d) => d?.errors ?? 0),
      rejections: series(e, (d) => d?.rejections ?? 0),
    }
  })
}
