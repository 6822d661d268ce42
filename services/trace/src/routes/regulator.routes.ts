import { z } from 'zod'
import { errorTitle, ofbError, type PonteServer } from '@ponte/platform'
import type { AvailabilityStore } from '../adapters/pg-availability.ts'
import { computeStatus, outageList } from '../domain/discovery.ts'
import { computeMetrics } from '../domain/metrics.ts'

/** Options of {@link regulatorRoutes}. */
export interface RegulatorRoutesOptions {
  availability: AvailabilityStore
  clock: () => Date
  /** The gateway's public base URL (endpoints and links are reported under it). */
  baseUrl: string
  resolutionEstimateMs: number
}

const Page = z.object({
  page: z.coerce.number().int().min(1).max(2_147_483_647).default(1),
  'page-size': z.coerce.number().int().min(1).max(1_000).default(25),
})
const MetricsQuery = Page.extend({ period: z.enum(['CURRENT', 'ALL']).default('CURRENT') })

/** A 400 in the spec's `ResponseError` (admin and common want `meta.totalRecords`/`totalPages`, common also the time). */
function badRequest(reply: { code(n: number): { send(b: unknown): unknown } }, error: z.ZodError, now: Date) {
  const detail = error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ')
  const body = ofbError({ code: 'INVALID_PARAMETER', title: errorTitle('INVALID_PARAMETER'), detail }, now)
  return reply.code(400).send({ ...body, meta: { totalRecords: 0, totalPages: 0, requestDateTime: body.meta.requestDateTime } })
}

/** `data` sliced to a page, with the spec's `links` and `meta`. */
function paged<T>(baseUrl: string, path: string, items: readonly T[], page: number, size: number, extra: Record<string, string> = {}) {
  const totalPages = Math.max(1, Math.ceil(items.length / size))
  const link = (p: number) => {
    const q = new URLSearchParams({ ...extra, page: String(p), 'page-size': String(size) })
    return `${baseUrl.replace(/\/$/, '')}${path}?${q}`
  }
  return {
    data: items.slice((page - 1) * size, page * size),
    links: {
      self: link(page),
      first: link(1),
      ...(page > 1 ? { prev: link(Math.min(page - 1, totalPages)) } : {}),
      ...(page < totalPages ? { next: link(page + 1) } : {}),
      last: link(totalPages),
    },
    meta: { totalRecords: items.length, totalPages },
  }
}

/**
 * The regulator's endpoints, public (no certificate, no token) and routed by the gateway like open data
 * (docs/regulation/regulator-endpoints.md): admin metrics v2 and discovery v2 (status, outages).
 */
export async function regulatorRoutes(app: PonteServer, opts: RegulatorRoutesOptions): Promise<void> {
  app.get('/open-banking/admin/v2/metrics', async (req, reply) => {
    const now = opts.clock()
    const q = MetricsQuery.safeParse(req.query)
    if (!q.success) return badRequest(reply, q.error, now)
    const input = await opts.availability.metricsInput(now, q.data.period)
    const records = computeMetrics({ ...input, baseUrl: opts.baseUrl })
    return paged(opts.baseUrl, '/open-banking/admin/v2/metrics', records, q.data.page, q.data['page-size'], { period: q.data.period })
  })

  app.get('/open-banking/discovery/v2/status', async (req, reply) => {
    const now = opts.clock()
    const q = Page.safeParse(req.query)
    if (!q.success) return badRequest(reply, q.error, now)
    const [states, outages] = await Promise.all([opts.availability.states(), opts.availability.outages(now)])
    const status = computeStatus({ now, states, outages, baseUrl: opts.baseUrl, resolutionEstimateMs: opts.resolutionEstimateMs })
    const page = paged(opts.baseUrl, '/open-banking/discovery/v2/status', status, q.data.page, q.data['page-size'])
    return { ...page, data: { status: page.data } }
  })

  app.get('/open-banking/discovery/v2/outages', async (req, reply) => {
    const now = opts.clock()
    const q = Page.safeParse(req.query)
    if (!q.success) return badRequest(reply, q.error, now)
    const list = outageList(await opts.availability.outages(now), now)
    return paged(opts.baseUrl, '/open-banking/discovery/v2/outages', list, q.data.page, q.data['page-size'])
  })
}
