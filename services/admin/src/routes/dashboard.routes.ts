import { z } from 'zod'
import { TraceOverview } from '@ponte/contracts'
import type { InternalClient, PonteServer } from '@ponte/platform'

/** Options of {@link dashboardRoutes}. */
export interface DashboardRoutesOptions {
  /** The trace service's internal API (audience `trace`). */
  trace: InternalClient
  clock: { now(): Date }
  /** How long one answer is shared by every session (ms); 0: none. */
  cacheMs: number
}

/** A firing alert as trace lists it (`GET /internal/alerts?state=firing`). */
const FiringAlerts = z.object({
  alerts: z.array(z.object({ alertKey: z.string(), rule: z.string(), subject: z.string(), value: z.number(), threshold: z.number(), message: z.string(), firedAt: z.string() }).loose()),
})

/**
 * `GET /api/dashboard`: the operations overview of the last hour from trace (calls per minute, errors, 423/429/529
 * shares, p95 per SLA tier against its target, today's availability) and the firing alerts. The answer is the same for
 * every staff member, so one upstream read (single flight) serves every session for `cacheMs`: fifty consoles open
 * on the dashboard cost trace one read per period, not fifty.
 */
export async function dashboardRoutes(app: PonteServer, opts: DashboardRoutesOptions): Promise<void> {
  let cached: { at: number; value: Promise<unknown> } | undefined
  const read = async () => {
    const [overview, alerts] = await Promise.all([
      opts.trace.call('GET', '/internal/overview', TraceOverview, { query: { minutes: 60 } }),
      opts.trace.call('GET', '/internal/alerts', FiringAlerts, { query: { state: 'firing' } }),
    ])
    const share = (n: number) => (overview.totals.calls > 0 ? n / overview.totals.calls : 0)
    return {
      ...overview,
      shares: { errors: share(overview.totals.errors), s423: share(overview.totals.s423), s429: share(overview.totals.s429), s529: share(overview.totals.s529) },
      alerts: alerts.alerts.map((a) => ({ alertKey: a.alertKey, rule: a.rule, subject: a.subject, value: a.value, threshold: a.threshold, message: a.message, firedAt: a.firedAt })),
    }
  }
  app.get('/api/dashboard', async () => {
    const now = opts.clock.now().getTime()
    if (!cached || now - cached.at >= opts.cacheMs || now < cached.at) {
      const value = read()
      cached = { at: now, value }
      value.catch(() => { if (cached?.value === value) cached = undefined })
    }
    return cached.value
  })
}
