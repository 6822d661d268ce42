import { z } from 'zod'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { DomainError, ofbDateTime, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { CallerContext, CoreId, type ConsentContext, type CoreConnector, type CoreOwner, type CoreResourceStatus, type Permission, type ResourceType } from '@ponte/contracts'
import { ownerOf, requireAvailable, requireConsentedResource, requirePermissions } from '../domain/access.ts'
import { pageLinks, pageNotFound, pageRequest, totalPages, type PageRequest, type PaginationKeys } from '../domain/pagination.ts'

/** What the regulated route plugins are built from. */
export interface RegulatedDeps {
  core: CoreConnector
  serviceAuth: ServiceTokenVerifier
  paginationKeys: PaginationKeys
  /** Public base URL of the regulated API (links are absolute and point at the gateway). */
  publicBaseUrl: string
  /** The institution as it presents itself in payloads. */
  brand: { brandName: string; companyCnpj: string }
  clock: () => Date
}

/** Response header telling the gateway how the call's `pagination-key` was judged (a valid key is not counted: docs/regulation/data-apis.md#pagination-key). */
export const PAGINATION_KEY_STATUS_HEADER = 'x-ponte-pagination-key-status'

/** Query parameters shared by paged endpoints. */
export const pageQuery = {
  page: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
  'page-size': z.coerce.number().int().min(1).optional(),
  'pagination-key': z.string().max(2048).optional(),
}

/** A path parameter carrying a resource id (OFB id pattern). */
export const resourceId = CoreId.max(100)

/**
 * Registers a group of regulated routes: every request must carry a valid service token and responses carry `x-v`.
 * Handlers read the verified caller with {@link callerContext} (a {@link CallerContext}, else 401) and, for customer
 * data, its consent with {@link consentOf} (403 when the context names none).
 */
export function regulatedGroup(app: PonteServer, deps: RegulatedDeps, version: string, register: (group: PonteServer) => void): void {
  app.register(async (instance) => {
    const group = instance as unknown as PonteServer
    group.addHook('onRequest', async (_req, reply) => { reply.header('x-v', version) })
    group.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    register(group)
  })
}

/** The caller context the gateway vouched for. */
export function callerContext(req: FastifyRequest): CallerContext {
  const parsed = CallerContext.safeParse(req.serviceCaller?.ctx)
  if (!parsed.success) throw new DomainError('UNAUTHORIZED', 'the service token carries no valid caller context')
  return parsed.data
}

/** The consent of the call; 403 when the caller context has none (a client_credentials token cannot read customer data). */
export function consentOf(req: FastifyRequest): ConsentContext {
  const consent = callerContext(req).consent
  if (!consent) throw new DomainError('FORBIDDEN', 'this endpoint needs a consent')
  return consent
}

/** Query parameters that are not paging parameters (kept in links). */
function filterQuery(req: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    if (k === 'page' || k === 'page-size' || k === 'pagination-key' || v === undefined) continue
    out[k] = String(v)
  }
  return out
}

/**
 * The consented, available resource the path names: the consent grants `permissions`, the id in `param` is among its
 * resources of `type`, and the core has it, available, for the consent's owner; otherwise the spec's 403/404.
 */
export async function consentedResource<T extends { status: CoreResourceStatus }>(
  req: FastifyRequest, permissions: readonly Permission[], type: ResourceType, param: string, load: (owner: CoreOwner, id: string) => Promise<T | undefined>,
): Promise<{ consent: ConsentContext; owner: CoreOwner; resource: T }> {
  const consent = consentOf(req)
  requirePermissions(consent, permissions)
  const id = (req.params as Record<string, string>)[param]!
  requireConsentedResource(consent, type, id)
  const owner = ownerOf(consent)
  return { consent, owner, resource: requireAvailable(await load(owner, id)) }
}

/** The paging state of one request: page and size applied, the public base of its links, and its pagination-key. */
export interface Paging extends PageRequest {
  base: string
  query: Record<string, string | undefined>
  key?: string
}

/**
 * Applies the paging conventions and, for customer data, judges the presented `pagination-key` (bound to the consent
 * and the path): a valid one is reused, anything else is replaced by a fresh key (the call still succeeds,
 * docs/regulation/data-apis.md#pagination-key).
 */
export function paging(req: FastifyRequest, reply: FastifyReply, deps: RegulatedDeps, scope: string | undefined): Paging {
  const q = req.query as { page?: number; 'page-size'?: number; 'pagination-key'?: string }
  const pr = pageRequest(q.page, q['page-size'])
  const path = req.url.split('?')[0]!
  const base = `${deps.publicBaseUrl}${path}`
  if (scope === undefined) return { ...pr, base, query: filterQuery(req) }
  const now = deps.clock().getTime()
  const fullScope = `${scope}|${path}`
  const presented = q['pagination-key']
  let key: string
  if (presented !== undefined && deps.paginationKeys.verify(presented, fullScope, now)) {
    key = presented
    reply.header(PAGINATION_KEY_STATUS_HEADER, 'valid')
  } else {
    key = deps.paginationKeys.mint(fullScope, now)
    reply.header(PAGINATION_KEY_STATUS_HEADER, presented === undefined ? 'absent' : 'invalid')
  }
  return { ...pr, base, query: filterQuery(req), key }
}

/** The body of a counted page (`links` with `last`, `meta` with totals); 422 `PAGE_NOT_FOUND` past the last page. */
export function countedBody<T>(p: Paging, result: { items: T[]; total: number }, data: unknown[], now: Date) {
  const pages = totalPages(result.total, p.pageSize)
  if (p.page > pages) throw pageNotFound(p.page)
  return {
    data,
    links: pageLinks({ base: p.base, query: p.query, page: p.page, pageSize: p.pageSize, key: p.key, pages }),
    meta: { totalRecords: result.total, totalPages: pages, requestDateTime: ofbDateTime(now) },
  }
}

/** The body of an uncounted window (transactions: no `last`, `meta` with the request time only). */
export function windowBody<T>(p: Paging, result: { items: T[]; hasMore: boolean }, data: unknown[], now: Date) {
  if (p.page > 1 && result.items.length === 0) throw pageNotFound(p.page)
  return {
    data,
    links: pageLinks({ base: p.base, query: p.query, page: p.page, pageSize: p.pageSize, key: p.key, hasMore: result.hasMore }),
    meta: { requestDateTime: ofbDateTime(now) },
  }
}

/** The body of a single object (`links.self` only). */
export function singleBody(req: FastifyRequest, deps: RegulatedDeps, data: unknown, meta: 'paged' | 'plain' = 'paged') {
  const now = deps.clock()
  return {
    data,
    links: { self: `${deps.publicBaseUrl}${req.url.split('?')[0]}` },
    meta: meta === 'paged' ? { totalRecords: 1, totalPages: 1, requestDateTime: ofbDateTime(now) } : { requestDateTime: ofbDateTime(now) },
  }
}

/** `{ amount, currency }`. */
export const money = (amount: string, currency: string) => ({ amount, currency })
