import type { z } from 'zod'
import { Catalogue, MinuteUsage, MinuteUsageQuery, PolicyList, PolicyListQuery, PolicyView, UpsertOverride, UpsertOverrideResult, policyIdOf } from '@ponte/contracts'
import type { InternalClient, PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import { auditContext } from '../adapters/http-security.ts'

/** Options of {@link trafficRoutes}. */
export interface TrafficRoutesOptions {
  /** The traffic service's internal API (audience `traffic`). */
  traffic: InternalClient
  audit: AuditStore
}

/** The header naming the person behind a change, recorded in the policy's history by the traffic service. */
const ACTOR_HEADER = 'x-ponte-actor'

type Override = z.output<typeof UpsertOverride>

/** What an override change would do: the override in force now (none: `null`) and the one after. */
function previewOf(current: PolicyView | undefined, change: Override) {
  const after = { kind: change.kind, endpoint: change.endpoint ?? null, organisationId: change.organisationId ?? null, limit: change.limit ?? null, enabled: change.enabled }
  const before = current
    ? { kind: current.kind, endpoint: current.endpoint ?? null, organisationId: current.organisationId ?? null, limit: current.limit, enabled: current.enabled }
    : null
  const changes = before
    ? (['limit', 'enabled'] as const).filter((k) => after[k] !== null && after[k] !== before[k]).map((k) => ({ field: k, from: before[k], to: after[k] }))
    : [{ field: 'created' as const, from: null, to: after.limit }]
  return { policyId: policyIdOf({ kind: change.kind, scope: 'override', ...(change.organisationId ? { organisationId: change.organisationId } : {}), ...(change.endpoint ? { endpoint: change.endpoint } : {}) }), before, after, changes, floor: current?.floor ?? null }
}

/** `/api/traffic`: the traffic service's policies, catalogue and usage; an override's preview and its change. */
export async function trafficRoutes(app: PonteServer, opts: TrafficRoutesOptions): Promise<void> {
  const current = (change: Override) => {
    const id = previewOf(undefined, change).policyId
    return opts.traffic.find('GET', `/internal/policies/${encodeURIComponent(id)}`, PolicyView)
  }

  app.get('/api/traffic/policies', { schema: { querystring: PolicyListQuery } }, async (req) =>
    opts.traffic.call('GET', '/internal/policies', PolicyList, { query: { ...req.query } }))

  app.get('/api/traffic/catalogue', async () => opts.traffic.call('GET', '/internal/catalogue', Catalogue))

  app.get('/api/traffic/usage', { schema: { querystring: MinuteUsageQuery } }, async (req) =>
    opts.traffic.call('GET', '/internal/usage/minutes', MinuteUsage, { query: { ...req.query } }))

  app.post('/api/traffic/overrides/preview', { schema: { body: UpsertOverride } }, async (req) => previewOf(await current(req.body), req.body))

  app.put('/api/traffic/overrides', { schema: { body: UpsertOverride } }, async (req) => {
    const preview = previewOf(await current(req.body), req.body)
    const entry = { ...auditContext(req), action: 'traffic.override', target: `policy:${preview.policyId}`, before: preview.before }
    try {
      const result = await opts.traffic.call('POST', '/internal/overrides', UpsertOverrideResult, { body: req.body, headers: { [ACTOR_HEADER]: req.staff!.user.email } })
      await opts.audit.append({ ...entry, outcome: 'success', after: { limit: result.policy.limit, enabled: result.policy.enabled } })
      return result
    } catch (err) {
      await opts.audit.append({ ...entry, outcome: 'failure', after: preview.after, detail: { error: err instanceof Error ? err.message : String(err) } })
      throw err
    }
  })
}
