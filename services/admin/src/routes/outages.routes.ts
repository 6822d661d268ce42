import { z } from 'zod'
import { NewScheduledOutage, ScheduledOutage } from '@ponte/contracts'
import type { InternalClient, PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import { audited } from '../adapters/audited.ts'

/** Options of {@link outageRoutes}. */
export interface OutageRoutesOptions {
  /** The trace service's internal API (audience `trace`): the scheduled outages discovery publishes. */
  trace: InternalClient
  audit: AuditStore
}

const OutageList = z.object({ outages: z.array(ScheduledOutage) })
const IdParams = z.object({ outageId: z.uuid() })

/**
 * `/api/outages`: the scheduled outages that `/discovery/v2/outages` announces (trace owns them;
 * docs/regulation/regulator-endpoints.md). Registering and cancelling one is audited; trace's 422 (too little notice)
 * passes through.
 */
export async function outageRoutes(app: PonteServer, opts: OutageRoutesOptions): Promise<void> {
  app.get('/api/outages', async () => opts.trace.call('GET', '/internal/outages', OutageList))

  app.post('/api/outages', { schema: { body: NewScheduledOutage } }, async (req, reply) => {
    const outage = await audited(opts.audit, req, { action: 'outages.create', target: 'outage:new', detail: { ...req.body } },
      () => opts.trace.call('POST', '/internal/outages', ScheduledOutage, { body: req.body }),
      (o) => o)
    return reply.code(201).send(outage)
  })

  app.delete('/api/outages/:outageId', { schema: { params: IdParams } }, async (req, reply) => {
    const id = req.params.outageId
    const before = (await opts.trace.call('GET', '/internal/outages', OutageList)).outages.find((o) => o.outageId === id)
    await audited(opts.audit, req, { action: 'outages.cancel', target: `outage:${id}`, before: before ?? null },
      () => opts.trace.call('DELETE', `/internal/outages/${id}`, z.unknown()),
      () => ({ cancelled: true }))
    return reply.code(204).send()
  })
}
