import { z } from 'zod'
import { DomainError, type PonteServer } from '@ponte/platform'
import type { CatalogStore } from '../adapters/catalog-store.ts'
import { auditContext } from '../adapters/http-security.ts'
import type { CatalogVersion } from '../domain/api-catalog.ts'

/** Options of {@link catalogRoutes}. */
export interface CatalogRoutesOptions {
  /** The gateway's route table grouped by API version (`domain/api-catalog.ts`). */
  versions: readonly CatalogVersion[]
  store: CatalogStore
}

const Params = z.object({ api: z.string().regex(/^[a-z0-9-]+$/), version: z.string().regex(/^v\d+$/) })
const Body = z.object({ enabled: z.boolean(), note: z.string().trim().min(3, 'a note of at least 3 characters is required').max(140) })

/**
 * `/api/catalog`: every regulated API version Ponte serves, on or off. Turning one off is published to the gateway,
 * which then answers its routes 404 as an endpoint not offered (docs/decisions/admin-operations-pages.md).
 */
export async function catalogRoutes(app: PonteServer, opts: CatalogRoutesOptions): Promise<void> {
  app.get('/api/catalog', async () => {
    const states = await opts.store.states()
    return {
      versions: opts.versions.map((v) => {
        const s = states.get(v.key)
        return { ...v, enabled: s?.enabled ?? true, ...(s ? { changedBy: s.changedBy, changedAt: s.changedAt, note: s.note } : {}) }
      }),
    }
  })

  app.put('/api/catalog/:api/:version', { schema: { params: Params, body: Body } }, async (req) => {
    const key = `${req.params.api}/${req.params.version}`
    const v = opts.versions.find((x) => x.key === key)
    if (!v) throw new DomainError('NOT_FOUND', `Ponte serves no API ${key}`)
    if (v.mandatory && !req.body.enabled) throw new DomainError('UNPROCESSABLE_ENTITY', `${key} is a regulator endpoint every participant must serve; it cannot be turned off`)
    const staff = req.staff!.user
    await opts.store.set({ key, enabled: req.body.enabled, changedBy: staff.email, note: req.body.note }, (before) => ({
      ...auditContext(req), action: 'catalog.change', outcome: 'success', target: `api:${key}`,
      before: { enabled: before?.enabled ?? true }, after: { enabled: req.body.enabled }, detail: { note: req.body.note },
    }))
    return { key, enabled: req.body.enabled }
  })
}
