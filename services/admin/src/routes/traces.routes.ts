import { z } from 'zod'
import { CallDetail, CallSearchQuery, CallSearchResult } from '@ponte/contracts'
import { DomainError, type InternalClient, type PonteServer } from '@ponte/platform'

/** Options of {@link traceRoutes}. */
export interface TraceRoutesOptions {
  /** The trace service's internal API (audience `trace`). */
  trace: InternalClient
}

const EventIdParams = z.object({ eventId: z.uuid() })

/**
 * `/api/traces`: the call search of trace (interaction id, consent, payment, organisation, client, endpoint, status
 * or status class, time range; newest first, cursor paging) and one call's story (the gateway record, its consent,
 * payment and audit events, its trace id). Trace stores no personal data, so nothing is masked here.
 */
export async function traceRoutes(app: PonteServer, opts: TraceRoutesOptions): Promise<void> {
  app.get('/api/traces', { schema: { querystring: CallSearchQuery } }, async (req) => {
    const query: Record<string, string | number | undefined> = {}
    for (const [k, v] of Object.entries(req.query)) if (v !== undefined) query[k] = v
    return opts.trace.call('GET', '/internal/calls', CallSearchResult, { query })
  })

  app.get('/api/traces/:eventId', { schema: { params: EventIdParams } }, async (req) => {
    const detail = await opts.trace.find('GET', `/internal/calls/${req.params.eventId}`, CallDetail)
    if (!detail) throw new DomainError('NOT_FOUND', 'no call with this event id')
    return detail
  })
}
