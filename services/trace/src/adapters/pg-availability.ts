import { randomUUID } from 'node:crypto'
import type { Pool } from '@ponte/platform'
import type { ApiState, Outage } from '../domain/discovery.ts'
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

/** The PostgreSQL availability store. */
export function createAvailabilityStore(pool: Pool): AvailabilityStore {
  const outagesBetween = async (from: Date, to: Date) => {
    const { rows } = await pool.query<{ outage_id: string; starts_at: Date; ends_at: Date; apis: string[]; explanation: string }>(
      `select outage_id, starts_at, ends_at, apis, explanation from outages
        where cancelled_at is null and ends_at > $1 and starts_at < $2 order by starts_at`, [from, to])
    return rows.map((r) => ({ outageId: r.outage_id, startsAt: r.starts_at, endsAt: r.ends_at, apis: r.apis, explanation: r.explanation }))
  }
  return {
    async metricsInput(now, period) {
      const first = await pool.query<{ day: string | null }>(`select to_char(min(day), 'YYYY-MM-DD') as day from endpoint_days`)
      const firstDay = first.rows[0]?.day ?? undefined
      const { today, previous, span } = metricsWindow(now, period, firstDay)
      const days = await pool.query<{ day: string; endpoint: string; calls: string; ttfb_sum: number; errors: string; rejections: string; peak_tps: number }>(
        `select to_char(day, 'YYYY-MM-DD') as day, endpoint, calls, ttfb_sum, errors, rejections, peak_tps from endpoint_days
          where day = any($1::date[])`, [[today, ...previous]])
      const probes = await pool.query<{ api: string; minute: Date }>(
        'select api, minute from api_minutes where failures > 0 and minute >= $1 and minute < $2', [span.from, span.to])
      const outages = (await outagesBetween(span.from, span.to)).map((o) => ({ from: o.startsAt, to: o.endsAt, apis: o.apis }))
      // Every minute some group was probed down or in a scheduled outage: the unavailable minutes on these come as a list.
      const groupMinutes = new Set<number>(probes.rows.map((r) => r.minute.getTime()))
      for (const o of outages) {
        const to = Math.min(o.to.getTime(), span.to.getTime())
        for (let t = Math.floor(Math.max(o.from.getTime(), span.from.getTime()) / MINUTE) * MINUTE; t < to; t += MINUTE) groupMinutes.add(t)
      }
      const UNAVAILABLE = 'ok * 20 < (ok + failed) * 19 and minute >= $1 and minute < $2'
      const CLIPPED = "extract(epoch from least(minute + interval '1 minute', $2) - minute)"
      // Sequential on one connection, without parallel workers: index-only scans of a few thousand entries are faster
      // than starting workers on a busy machine.
      const client = await pool.connect()
      let perEndpoint, any, overlapping
      try {
        await client.query('begin read only')
        await client.query('set local max_parallel_workers_per_gather = 0')
        perEndpoint = await client.query<{ endpoint: string; seconds: number }>(`select endpoint, sum(${CLIPPED})::float8 as seconds from endpoint_minutes where ${UNAVAILABLE} group by endpoint`, [span.from, span.to])
        any = await client.query<{ seconds: number }>(`select coalesce(sum(${CLIPPED}), 0)::float8 as seconds from (select distinct minute from endpoint_minutes where ${UNAVAILABLE}) m`, [span.from, span.to])
        overlapping = groupMinutes.size === 0 ? { rows: [] as Array<{ endpoint: string; minute: Date }> }
          : await client.query<{ endpoint: string; minute: Date }>(`select endpoint, minute from endpoint_minutes where ${UNAVAILABLE} and minute = any($3::timestamptz[])`,
            [span.from, span.to, [...groupMinutes].map((t) => new Date(t))])
        await client.query('commit')
      } catch (err) {
        await client.query('rollback').catch(() => undefined)
        throw err
      } finally {
        client.release()
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
        days: days.rows.map((r): DayFigures => ({ day: r.day, endpoint: r.endpoint, calls: Number(r.calls), ttfbSum: r.ttfb_sum, errors: Number(r.errors), rejections: Number(r.rejections), peakTps: r.peak_tps })),
        unavailable: {
          seconds: new Map(perEndpoint.rows.map((r) => [r.endpoint, Math.round(r.seconds)])),
          anySeconds: Math.round(any.rows[0]?.seconds ?? 0),
          minutes: group(overlapping.rows, (r) => r.endpoint, (r) => r.minute.getTime()),
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
