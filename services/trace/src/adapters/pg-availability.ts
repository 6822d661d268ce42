import { randomUUID } from 'node:crypto'
import type { Pool } from '@ponte/platform'
import type { ApiState, Outage } from '../domain/discovery.ts'
import { brasiliaDay, brasiliaDayStart, dayBefore } from '../domain/calls.ts'
import { metricsWindow, type DayFigures, type MetricsInput, type MetricsPeriod } from '../domain/metrics.ts'

/** A new scheduled outage. */
export interface NewOutage { startsAt: Date; endsAt: Date; apis: string[]; explanation: string; createdBy: string }

/** Reads and writes availability: probe results, scheduled outages, and what the regulator endpoints need. */
export interface AvailabilityStore {
  /** Everything {@link computeMetrics} needs for a period, read from the rollups (never from raw calls). */
  metricsInput(now: Date, period: MetricsPeriod): Promise<Omit<MetricsInput, 'baseUrl'>>
  /** The latest probe state of every API group. */
  states(): Promise<ApiState[]>
  /** Outages not cancelled that end after `after`. */
  outages(after: Date): Promise<Outage[]>
  addOutage(o: NewOutage, now: Date): Promise<Outage>
  /** Cancels an outage; false when there is none with that id. */
  cancelOutage(id: string, now: Date): Promise<boolean>
  /** Records one probe of an API group: its minute counters and its current state. */
  recordProbe(api: string, ok: boolean, at: Date): Promise<void>
}

const MINUTE = 60_000
const DAY = 86_400_000

/** The unavailable minutes (start instants, ms) of each endpoint in one day. */
export type DayMinutes = ReadonlyMap<string, readonly number[]>

/**
 * The unavailable minutes of closed Brasília days, computed once per day and kept
 * (docs/decisions/trace-closed-day-metrics.md). A closed day's rollups change only when a late event of that day is
 * stored, and the same transaction then raises the day's call count in `endpoint_days`: an entry is kept with the
 * day's call count when it was read and read again whenever the count differs, so every replica sees a late event.
 * Concurrent requests for a day share one read.
 */
export function createClosedDays(read: (from: Date, to: Date) => Promise<DayMinutes>) {
  const entries = new Map<string, { calls: number; minutes: Promise<DayMinutes> }>()
  return {
    /** The day's minutes, given its current call count (the count read before, never after, the minutes). */
    get(day: string, calls: number): Promise<DayMinutes> {
      const e = entries.get(day)
      if (e && e.calls === calls) return e.minutes
      const from = brasiliaDayStart(day)
      const minutes = read(from, new Date(from.getTime() + DAY))
      entries.set(day, { calls, minutes })
      minutes.catch(() => { if (entries.get(day)?.minutes === minutes) entries.delete(day) })
      return minutes
    },
    /** Drops the days up to `day` (out of every window). */
    forget(day: string) {
      for (const d of entries.keys()) if (d <= day) entries.delete(d)
    },
    get size() {
      return entries.size
    },
  }
}

/** The PostgreSQL availability store. */
export function createAvailabilityStore(pool: Pool): AvailabilityStore {
  const outagesBetween = async (from: Date, to: Date) => {
    const { rows } = await pool.query<{ outage_id: string; starts_at: Date; ends_at: Date; apis: string[]; explanation: string }>(
      `select outage_id, starts_at, ends_at, apis, explanation from outages
        where cancelled_at is null and ends_at > $1 and starts_at < $2 order by starts_at`, [from, to])
    return rows.map((r) => ({ outageId: r.outage_id, startsAt: r.starts_at, endsAt: r.ends_at, apis: r.apis, explanation: r.explanation }))
  }
  const unavailableMinutes = async (from: Date, to: Date): Promise<DayMinutes> => {
    const { rows } = await pool.query<{ endpoint: string; minute: Date }>(
      'select endpoint, minute from endpoint_minutes where ok * 20 < (ok + failed) * 19 and minute >= $1 and minute < $2', [from, to])
    const out = new Map<string, number[]>()
    for (const r of rows) {
      const list = out.get(r.endpoint)
      if (list) list.push(r.minute.getTime())
      else out.set(r.endpoint, [r.minute.getTime()])
    }
    return out
  }
  const closedDays = createClosedDays(unavailableMinutes)
  return {
    async metricsInput(now, period) {
      // One round trip for the day rollups of the widest window and the store's first day; the window follows from it.
      const todayOf = brasiliaDay(now)
      const days = await pool.query<{ day: string; endpoint: string; calls: string; ttfb_sum: number; errors: string; rejections: string; peak_tps: number; first_day: string }>(
        `select to_char(day, 'YYYY-MM-DD') as day, endpoint, calls, ttfb_sum, errors, rejections, peak_tps,
                (select to_char(min(day), 'YYYY-MM-DD') from endpoint_days) as first_day
           from endpoint_days where day >= $1::date and day <= $2::date`, [period === 'ALL' ? dayBefore(todayOf, 7) : todayOf, todayOf])
      const firstDay = days.rows[0]?.first_day ?? undefined
      const { today, previous, span } = metricsWindow(now, period, firstDay)
      const inWindow = new Set([today, ...previous])
      const dayRows = days.rows.filter((r) => inWindow.has(r.day))
      // Closed days: their unavailable minutes, computed once per day and kept while the day's call count is unchanged;
      // the current day's read on every request. Probes and outages are read for the whole window (few rows; an outage
      // may be registered or cancelled for a past day).
      const callsOfDay = new Map<string, number>()
      for (const r of dayRows) callsOfDay.set(r.day, (callsOfDay.get(r.day) ?? 0) + Number(r.calls))
      const todayStart = brasiliaDayStart(today)
      const [probes, outageRows, todayMinutes, ...closed] = await Promise.all([
        pool.query<{ api: string; minute: Date }>('select api, minute from api_minutes where failures > 0 and minute >= $1 and minute < $2', [span.from, span.to]),
        outagesBetween(span.from, span.to),
        unavailableMinutes(todayStart, span.to),
        ...previous.map((d) => closedDays.get(d, callsOfDay.get(d) ?? 0)),
      ])
      closedDays.forget(dayBefore(today, 8))
      const outages = outageRows.map((o) => ({ from: o.startsAt, to: o.endsAt, apis: o.apis }))
      // Every minute some group was probed down or in a scheduled outage: the unavailable minutes on these come as a list.
      const groupMinutes = new Set<number>(probes.rows.map((r) => r.minute.getTime()))
      for (const o of outages) {
        const to = Math.min(o.to.getTime(), span.to.getTime())
        for (let t = Math.floor(Math.max(o.from.getTime(), span.from.getTime()) / MINUTE) * MINUTE; t < to; t += MINUTE) groupMinutes.add(t)
      }
      // Each unavailable minute counts for as long as it lies in the window (the current one only up to now).
      const end = span.to.getTime()
      const lengthOf = (t: number) => Math.min(t + MINUTE, end) - t
      const ms = new Map<string, number>()
      let anyMs = 0
      const overlapRows: Array<{ endpoint: string; minute: number }> = []
      for (const day of [todayMinutes, ...closed]) {
        const distinct = new Set<number>()
        for (const [endpoint, minutes] of day) {
          let sum = ms.get(endpoint) ?? 0
          for (const t of minutes) {
            if (t >= end) continue
            sum += lengthOf(t)
            distinct.add(t)
            if (groupMinutes.has(t)) overlapRows.push({ endpoint, minute: t })
          }
          ms.set(endpoint, sum)
        }
        for (const t of distinct) anyMs += lengthOf(t)
      }
      const group = <R>(rows: R[], key: (r: R) => string, value: (r: R) => number) => {
        const m = new Map<string, number[]>()
        for (const r of rows) { const k = key(r); const list = m.get(k); if (list) list.push(value(r)); else m.set(k, [value(r)]) }
        return m
      }
      return {
        now,
        period,
        firstDay,
        days: dayRows.map((r): DayFigures => ({ day: r.day, endpoint: r.endpoint, calls: Number(r.calls), ttfbSum: r.ttfb_sum, errors: Number(r.errors), rejections: Number(r.rejections), peakTps: r.peak_tps })),
        unavailable: {
          seconds: new Map([...ms].map(([e, v]) => [e, Math.round(v / 1_000)])),
          anySeconds: Math.round(anyMs / 1_000),
          minutes: group(overlapRows, (r) => r.endpoint, (r) => r.minute),
        },
        probeDownMinutes: group(probes.rows, (r) => r.api, (r) => r.minute.getTime()),
        outages,
      }
    },
    async states() {
      const { rows } = await pool.query<{ api: string; state: ApiState['state']; since: Date; checked_at: Date }>('select api, state, since, checked_at from api_status order by api')
      return rows.map((r) => ({ api: r.api, state: r.state, since: r.since, checkedAt: r.checked_at }))
    },
    outages: (after) => outagesBetween(after, new Date(8.64e15)),
    async addOutage(o, now) {
      const id = randomUUID()
      await pool.query('insert into outages (outage_id, starts_at, ends_at, apis, explanation, created_at, created_by) values ($1, $2, $3, $4, $5, $6, $7)',
        [id, o.startsAt, o.endsAt, o.apis, o.explanation, now, o.createdBy])
      return { outageId: id, startsAt: o.startsAt, endsAt: o.endsAt, apis: o.apis, explanation: o.explanation }
    },
    async cancelOutage(id, now) {
      const { rowCount } = await pool.query('update outages set cancelled_at = $2 where outage_id = $1 and cancelled_at is null', [id, now])
      return rowCount === 1
    },
    async recordProbe(api, ok, at) {
      const minute = new Date(Math.floor(at.getTime() / MINUTE) * MINUTE)
      const { rows } = await pool.query<{ probes: number; failures: number }>(
        `insert into api_minutes as t (api, minute, probes, failures) values ($1, $2, 1, $3)
         on conflict (api, minute) do update set probes = t.probes + 1, failures = t.failures + excluded.failures
         returning probes, failures`, [api, minute, ok ? 0 : 1])
      const r = rows[0]!
      // The state of the last minute probed: down when every probe of it failed, partial when some did.
      const state = r.failures === 0 ? 'up' : r.failures === r.probes ? 'down' : 'partial'
      await pool.query(
        `insert into api_status as s (api, state, since, checked_at) values ($1, $2, $3, $3)
         on conflict (api) do update set state = excluded.state, checked_at = excluded.checked_at,
           since = case when s.state = excluded.state then s.since else excluded.since end`, [api, state, at])
    },
  }
}
