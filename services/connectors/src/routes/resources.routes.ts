import { z } from 'zod'
import type { PonteServer } from '@ponte/platform'
import { requirePermissions } from '../domain/access.ts'
import { consentOf, countedBody, pageQuery, paging, regulatedGroup, type RegulatedDeps } from './common.ts'
import { ownerOf } from '../domain/access.ts'

/** Resources API v3.1.0 (`/open-banking/resources/v3`). */
export const RESOURCES_VERSION = '3.1.0'

/**
 * `GET /resources`: exactly the consent's resources, in consent order, each with its current status in the core. A
 * resource the core no longer holds for the customer reads `UNAVAILABLE`.
 */
export async function resourcesRoutes(app: PonteServer, deps: RegulatedDeps): Promise<void> {
  regulatedGroup(app, deps, RESOURCES_VERSION, (r) => {
    r.get('/open-banking/resources/v3/resources', { schema: { querystring: z.object(pageQuery) } }, async (req, reply) => {
      const consent = consentOf(req)
      requirePermissions(consent, ['RESOURCES_READ'])
      const p = paging(req, reply, deps, consent.consentId)
      const all = consent.resources
      const slice = all.slice(p.offset, p.offset + p.pageSize)
      const states = await deps.core.resourceStates(ownerOf(consent), slice)
      const status = new Map(states.map((s) => [`${s.type}:${s.resourceId}`, s.status]))
      const data = slice.map((res) => ({ resourceId: res.resourceId, type: res.type, status: status.get(`${res.type}:${res.resourceId}`) ?? 'UNAVAILABLE' }))
      return countedBody(p, { items: slice, total: all.length }, data, deps.clock())
    })
  })
}
