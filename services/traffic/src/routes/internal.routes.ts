import { z } from 'zod'
import {
  Catalogue, LimitKind, MinuteUsage, MinuteUsageQuery, MonthUsage, MonthUsageQuery, PolicyHistory, PolicyList, PolicyListQuery, PolicyView,
  SetDefaultsEnabled, SetDefaultsEnabledResult, SetPolicyEnabled, UpsertOverride, UpsertOverrideResult, indexPolicies, monthBucket, resolveLimit,
  type CatalogueEntry,
} from '@ponte/contracts'
import { DomainError, ofbDateTime, type PonteServer } from '@ponte/platform'
import type { UsageReader } from '../adapters/usage-reader.ts'
import { GLOBAL_TPS_FLOOR } from '../domain/nfr-catalogue.ts'
import { policyView, type Actor, type CatalogueIndex } from '../domain/policy-rules.ts'
import type { PolicyService } from '../adapters/policy-service.ts'

/** Options of {@link internalRoutes}. */
export interface InternalRoutesOptions {
  policies: PolicyService
  catalogue: CatalogueIndex
  catalogueEntries: readonly CatalogueEntry[]
  usage: UsageReader
  now?: () => Date
}

/** The staff member on whose behalf the admin console calls (recorded in the change history). */
export const ACTOR_HEADER = 'x-ponte-actor'
const ActorHeaders = z.looseObject({ [ACTOR_HEADER]: z.string().trim().min(1).max(200) })
const PolicyIdParams = z.object({ policyId: z.string().min(1).max(400) })
const MAX_MINUTES = 24 * 60

function actorOf(req: { headers: Record<string, unknown>; serviceCaller?: { iss: string } }): Actor {
  return { actor: String(req.headers[ACTOR_HEADER]).trim(), via: req.serviceCaller?.iss ?? 'unknown' }
}

/** `YYYYMMDDhhmm` → RFC 3339 minute. */
function minuteIso(bucket: string): string {
  return `${bucket.slice(0, 4)}-${bucket.slice(4, 6)}-${bucket.slice(6, 8)}T${bucket.slice(8, 10)}:${bucket.slice(10, 12)}:00Z`
}

function add(totals: Record<string, number>, key: string, n: number) {
  totals[key] = (totals[key] ?? 0) + n
}

/** The internal API of traffic (every route behind the service token, audience `traffic`). */
export async function internalRoutes(app: PonteServer, opts: InternalRoutesOptions): Promise<void> {
  const { policies, catalogue, usage } = opts
  const now = opts.now ?? (() => new Date())
  const view = (p: Parameters<typeof policyView>[1]) => policyView(catalogue, p)

  app.get('/internal/catalogue', { schema: { response: { 200: Catalogue } } }, async () => ({ endpoints: [...opts.catalogueEntries], globalTpsFloor: GLOBAL_TPS_FLOOR }))

  app.get('/internal/policies', { schema: { querystring: PolicyListQuery, response: { 200: PolicyList } } }, async (req) => {
    const list = await policies.list(req.query)
    return { policies: list.map(view), total: list.length }
  })

  app.get('/internal/policies/:policyId', { schema: { params: PolicyIdParams, response: { 200: PolicyView } } }, async (req) => view(await policies.get(req.params.policyId)))

  app.get('/internal/policies/:policyId/history', { schema: { params: PolicyIdParams, response: { 200: PolicyHistory } } }, async (req) => ({
    changes: await policies.history(req.params.policyId),
  }))

  app.post('/internal/overrides', { schema: { headers: ActorHeaders, body: UpsertOverride, response: { 200: UpsertOverrideResult, 201: UpsertOverrideResult } } }, async (req, reply) => {
    const { policy, created } = await policies.upsertOverride(req.body, actorOf(req))
    return reply.code(created ? 201 : 200).send({ policy: view(policy), created })
  })

  app.patch('/internal/policies/:policyId', { schema: { headers: ActorHeaders, params: PolicyIdParams, body: SetPolicyEnabled, response: { 200: PolicyView } } }, async (req) =>
    view(await policies.setEnabled(req.params.policyId, req.body.enabled, actorOf(req))))

  app.delete('/internal/policies/:policyId', { schema: { headers: ActorHeaders, params: PolicyIdParams } }, async (req, reply) => {
    await policies.deleteOverride(req.params.policyId, actorOf(req))
    return reply.code(204).send()
  })

  app.patch('/internal/defaults/:kind', { schema: { headers: ActorHeaders, params: z.object({ kind: LimitKind }), body: SetDefaultsEnabled, response: { 200: SetDefaultsEnabledResult } } }, async (req) => ({
    kind: req.params.kind,
    enabled: req.body.enabled,
    changed: await policies.setDefaultsEnabled(req.params.kind, req.body.enabled, actorOf(req)),
  }))

  app.get('/internal/usage/minutes', { schema: { querystring: MinuteUsageQuery, response: { 200: MinuteUsage } } }, async (req) => {
    const toMs = req.query.to ? Date.parse(req.query.to) : now().getTime()
    const fromMs = req.query.from ? Date.parse(req.query.from) : toMs - 59 * 60_000
    if (fromMs > toMs) throw new DomainError('INVALID_PARAMETER', '`from` is after `to`')
    if ((toMs - fromMs) / 60_000 >= MAX_MINUTES) throw new DomainError('INVALID_PARAMETER', `at most ${MAX_MINUTES} minutes per report`)
    const index = indexPolicies(await policies.list({ kind: 'tpm' }))
    const { organisationId, endpoint } = req.query
    const rows = (await usage.minutes(fromMs, toMs))
      .filter((c) => (organisationId === undefined || c.origin === organisationId) && (endpoint === undefined || c.endpoint === endpoint))
      .map((c) => {
        const originType = c.origin.startsWith('ip:') ? 'client-ip' as const : 'organisation' as const
        const resolved = resolveLimit(index, { kind: 'tpm', endpoint: c.endpoint, ...(originType === 'organisation' ? { organisationId: c.origin } : {}) })
        return { minute: minuteIso(c.minute), origin: c.origin, originType, endpoint: c.endpoint, count: c.count, limit: resolved.limited ? resolved.limit : null }
      })
    const byOrganisation: Record<string, number> = {}
    const byEndpoint: Record<string, number> = {}
    for (const r of rows) {
      add(byOrganisation, r.origin, r.count)
      add(byEndpoint, r.endpoint, r.count)
    }
    return { from: ofbDateTime(new Date(Math.floor(fromMs / 60_000) * 60_000)), to: ofbDateTime(new Date(toMs)), rows, byOrganisation, byEndpoint }
  })

  app.get('/internal/usage/months', { schema: { querystring: MonthUsageQuery, response: { 200: MonthUsage } } }, async (req) => {
    const bucket = req.query.month ? req.query.month.replace('-', '') : monthBucket(now().getTime())
    const { organisationId, endpoint } = req.query
    const rows = (await usage.month(bucket))
      .filter((c) => (organisationId === undefined || c.organisationId === organisationId) && (endpoint === undefined || c.endpoint === endpoint))
      .sort((a, b) => b.count - a.count || a.organisationId.localeCompare(b.organisationId) || a.endpoint.localeCompare(b.endpoint))
    const byOrganisation: Record<string, number> = {}
    const byEndpoint: Record<string, number> = {}
    let total = 0
    for (const r of rows) {
      add(byOrganisation, r.organisationId, r.count)
      add(byEndpoint, r.endpoint, r.count)
      total += r.count
    }
    return { month: `${bucket.slice(0, 4)}-${bucket.slice(4)}`, rows, byOrganisation, byEndpoint, total }
  })
}
