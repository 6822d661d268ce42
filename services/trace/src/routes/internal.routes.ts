import { z } from 'zod'
import { CallDetail, CallSearchQuery, CallSearchResult, NewScheduledOutage, ScheduledOutage, TraceOverview, TraceOverviewQuery } from '@ponte/contracts'
import { DomainError, type PonteServer } from '@ponte/platform'
import type { AvailabilityStore } from '../adapters/pg-availability.ts'
import type { CallSearch } from '../adapters/pg-search.ts'
import type { Overview } from '../adapters/pg-overview.ts'
import type { Outage } from '../domain/discovery.ts'

/** What the ingestion reports about itself. */
export interface IngestionStatus {
  stats: Record<string, number>
  /** Messages not consumed yet by the call store's group. */
  lag(): Promise<number>
}

/** Options of {@link internalRoutes}. */
export interface InternalRoutesOptions {
  search: CallSearch
  availability: AvailabilityStore
  clock: () => Date
  minNoticeMs: number
  ingestion?: IngestionStatus | undefined
  alerts: AlertReader
  /** The dashboard's overview (per-minute counts, p95 per SLA tier, today's availability). */
  overview: Overview
}

/** Reads alert state and history. */
export interface AlertReader {
  list(state?: 'firing' | 'resolved'): Promise<unknown[]>
  history(alertKey: string | undefined, limit: number): Promise<unknown[]>
}

const outageView = (o: Outage): ScheduledOutage => ({ outageId: o.outageId, startsAt: o.startsAt.toISOString(), endsAt: o.endsAt.toISOString(), apis: [...o.apis], explanation: o.explanation })
const IdParams = z.object({ id: z.uuid() })

/** The internal API of trace (every route behind the service token, audience `trace`), for the admin console. */
export async function internalRoutes(app: PonteServer, opts: InternalRoutesOptions): Promise<void> {
  app.get('/internal/calls', { schema: { querystring: CallSearchQuery, response: { 200: CallSearchResult } } }, async (req) => opts.search.search(req.query))

  app.get('/internal/calls/:id', { schema: { params: IdParams, response: { 200: CallDetail } } }, async (req) => {
    const detail = await opts.search.detail(req.params.id)
    if (!detail) throw new DomainError('NOT_FOUND', 'no call with this event id')
    return detail
  })

  app.get('/internal/overview', { schema: { querystring: TraceOverviewQuery, response: { 200: TraceOverview } } }, async (req) =>
    opts.overview.read(opts.clock(), req.query.minutes))

  app.get('/internal/outages', { schema: { response: { 200: z.object({ outages: z.array(ScheduledOutage) }) } } }, async () => ({
    outages: (await opts.availability.outages(opts.clock())).map(outageView),
  }))

  // docs/regulation/regulator-endpoints.md: a scheduled outage is announced on /discovery/v2/outages before it starts.
  app.post('/internal/outages', { schema: { body: NewScheduledOutage, response: { 201: ScheduledOutage } } }, async (req, reply) => {
    const now = opts.clock()
    const startsAt = new Date(req.body.startsAt)
    const endsAt = new Date(req.body.endsAt)
    if (endsAt <= startsAt) throw new DomainError('INVALID_PARAMETER', 'endsAt must be after startsAt')
    if (startsAt.getTime() - now.getTime() < opts.minNoticeMs)
      throw new DomainError('UNPROCESSABLE_ENTITY', `a scheduled outage must be announced at least ${Math.round(opts.minNoticeMs / 60_000)} minutes before it starts`)
    const outage = await opts.availability.addOutage({ startsAt, endsAt, apis: req.body.apis, explanation: req.body.explanation, createdBy: req.serviceCaller?.iss ?? 'unknown' }, now)
    return reply.code(201).send(outageView(outage))
  })

  app.delete('/internal/outages/:id', { schema: { params: IdParams } }, async (req, reply) => {
    if (!(await opts.availability.cancelOutage(req.params.id, opts.clock()))) throw new DomainError('NOT_FOUND', 'no active outage with this id')
    return reply.code(204).send()
  })

  app.get('/internal/alerts', { schema: { querystring: z.object({ state: z.enum(['firing', 'resolved']).optional() }) } }, async (req) => ({
    alerts: await opts.alerts.list(req.query.state),
  }))

  app.get('/internal/alerts/history', { schema: { querystring: z.object({ alertKey: z.string().min(1).max(500).optional(), limit: z.coerce.number().int().min(1).max(1_000).default(100) }) } }, async (req) => ({
    history: await opts.alerts.history(req.query.alertKey, req.query.limit),
  }))

  app.get('/internal/ingestion', async () => {
    if (!opts.ingestion) throw new DomainError('SERVICE_UNAVAILABLE', 'ingestion is not running in this process')
    return { ...opts.ingestion.stats, consumerLag: await opts.ingestion.lag() }
  })
}
