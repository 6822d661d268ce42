import type { TraceOverview } from '@ponte/contracts'
import type { Pool } from '@ponte/platform'
import { computeMetrics } from '../domain/metrics.ts'
import type { AvailabilityStore } from './pg-availability.ts'

/** Options of {@link createOverview}. */
export interface OverviewOptions {
  pool: Pool
  availability: AvailabilityStore
  /** The p95 SLA (ms) of an endpoint template, from the NFR reference; undefined when it has none. */
  slaOf: (method: string, endpoint: string) => number | undefined
}

/** Reads the operations overview of the admin console's dashboard. */
export interface Overview {
  read(now: Date, minutes: number): Promise<TraceOverview>
}

const MINUTE = 60_000

/**
 * The overview from the store: per-minute counts from the `call_minutes` rollup; each SLA tier's p95 from the raw calls
 * of the window (the rollup keeps counts over each tier, not a distribution), joined to the tier of their endpoint;
 * today's availability as the admin metrics compute it (docs/regulation/traffic-and-slas.md).
 */
export function createOverview(options: OverviewOptions): Overview {
  const { pool } = options
  return {
    async read(now, minutes) {
      const from = new Date(Math.floor((now.getTime() - minutes * MINUTE) / MINUTE) * MINUTE)
      const perMinute = await pool.query<{ minute: Date; calls: number; errors: number; s423: number; s429: number; s529: number }>(
        `select minute, sum(calls)::int as calls,
                coalesce(sum(calls) filter (where (status >= 500 and status <> 529) or status = 408), 0)::int as errors,
                coalesce(sum(calls) filter (where status = 423), 0)::int as s423,
                coalesce(sum(calls) filter (where status = 429), 0)::int as s429,
                coalesce(sum(calls) filter (where status = 529), 0)::int as s529
           from call_minutes where minute >= $1 and minute <= $2 group by minute order by minute`, [from, now])
      const endpoints = await pool.query<{ method: string; endpoint: string }>(
        'select distinct method, endpoint from call_minutes where minute >= $1 and minute <= $2', [from, now])
      const tierOf = endpoints.rows.flatMap((r) => {
        const sla = options.slaOf(r.method, r.endpoint)
        return sla === undefined ? [] : [{ ...r, sla }]
      })
      const tiers = tierOf.length === 0 ? [] : (await pool.query<{ sla: number; calls: number; p95: number | null; over: number }>(
        `select t.sla, count(*)::int as calls, percentile_cont(0.95) within group (order by c.ttfb_ms) as p95,
                count(*) filter (where c.ttfb_ms > t.sla)::int as over
           from calls c join unnest($3::text[], $4::text[], $5::int[]) as t(method, endpoint, sla) on c.method = t.method and c.endpoint = t.endpoint
          where c.received_at >= $1 and c.received_at <= $2 group by t.sla order by t.sla`,
        [from, now, tierOf.map((t) => t.method), tierOf.map((t) => t.endpoint), tierOf.map((t) => t.sla)])).rows

      const records = computeMetrics({ ...(await options.availability.metricsInput(now, 'CURRENT')), baseUrl: '' })
      const lowest = records.map((r) => ({ endpoint: r.endpoint, uptimeRate: Number(r.availability.uptime.uptimeRate) }))
        .sort((a, b) => a.uptimeRate - b.uptimeRate || a.endpoint.localeCompare(b.endpoint)).slice(0, 10)

      const totals = { calls: 0, errors: 0, s423: 0, s429: 0, s529: 0 }
      for (const m of perMinute.rows) for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += m[k]
      return {
        generatedAt: now.toISOString(),
        windowMinutes: minutes,
        minutes: perMinute.rows.map((m) => ({ ...m, minute: m.minute.toISOString() })),
        totals,
        tiers: [1_500, 2_000, 4_000].map((slaMs) => {
          const t = tiers.find((r) => r.sla === slaMs)
          return { slaMs, calls: t?.calls ?? 0, p95Ms: t?.p95 == null ? null : Math.round(t.p95), overShare: t && t.calls > 0 ? t.over / t.calls : 0 }
        }),
        availability: { general: records[0] ? Number(records[0].availability.uptime.generalUptimeRate) : null, lowest },
      }
    },
  }
}
