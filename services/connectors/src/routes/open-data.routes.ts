import { z } from 'zod'
import { ofbDateTime, type PonteServer } from '@ponte/platform'
import { CoreChannelKind, type CoreOfferSegment } from '@ponte/contracts'
import { pageLinks, pageNotFound, totalPages } from '../domain/pagination.ts'
import { pageQuery, paging, regulatedGroup, type RegulatedDeps } from './common.ts'

/** Channels API v2.1.0 and Open Data Accounts API v1.1.0: public data, no consent (a service token is still required). */
export const CHANNELS_VERSION = '2.1.0'
export const OPENDATA_ACCOUNTS_VERSION = '1.1.0'

const query = z.object({ page: pageQuery.page, 'page-size': pageQuery['page-size'] })

/** Registers the open data routes. Their `meta` carries totals only (the open data `Meta` schema). */
export async function openDataRoutes(app: PonteServer, deps: RegulatedDeps): Promise<void> {
  type Loader = (slice: { offset: number; limit: number }) => ReturnType<RegulatedDeps['core']['channels']>
  const route = (r: PonteServer, path: string, load: Loader) => {
    r.get(path, { schema: { querystring: query } }, async (req, reply) => {
      const p = paging(req, reply, deps, undefined)
      const result = await load({ offset: p.offset, limit: p.pageSize })
      const pages = totalPages(result.total, p.pageSize)
      if (p.page > pages) throw pageNotFound(p.page)
      return {
        data: result.items,
        links: pageLinks({ base: p.base, query: p.query, page: p.page, pageSize: p.pageSize, pages }),
        meta: { totalRecords: result.total, totalPages: pages, requestDateTime: ofbDateTime(deps.clock()) },
      }
    })
  }
  regulatedGroup(app, deps, CHANNELS_VERSION, (r) => {
    for (const kind of CoreChannelKind.options) route(r, `/open-banking/channels/v2/${kind}`, (s) => deps.core.channels(kind, s))
  })
  regulatedGroup(app, deps, OPENDATA_ACCOUNTS_VERSION, (r) => {
    for (const segment of ['personal', 'business'] as CoreOfferSegment[]) {
      route(r, `/open-banking/opendata-accounts/v1/${segment}-accounts`, (s) => deps.core.accountOffers(segment, s))
    }
  })
}
