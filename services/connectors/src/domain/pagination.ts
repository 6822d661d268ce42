import { createHmac, timingSafeEqual } from 'node:crypto'
import { DomainError } from '@ponte/platform'

/** Page-size rules of the customer-data APIs (docs/regulation/data-apis.md#pagination): default 25, at most 1 000, below 25 treated as 25. */
export const DEFAULT_PAGE_SIZE = 25
export const MAX_PAGE_SIZE = 1000
/** Validity of a minted `pagination-key` (docs/regulation/data-apis.md#pagination-key). */
export const PAGINATION_KEY_TTL_MS = 60 * 60_000

/** The page a request asked for, after the conventions were applied. */
export interface PageRequest {
  page: number
  pageSize: number
  offset: number
}

/**
 * Applies the paging conventions to the raw `page` / `page-size` query values (already integers when present).
 * A page size above 1 000 is refused with 422; a page below 1 is refused with 400 by the route schema.
 */
export function pageRequest(page: number | undefined, pageSize: number | undefined): PageRequest {
  const p = page ?? 1
  if (pageSize !== undefined && pageSize > MAX_PAGE_SIZE) {
    throw new DomainError('UNPROCESSABLE_ENTITY', `page-size must be at most ${MAX_PAGE_SIZE}`, { ofbCode: 'UNPROCESSABLE_ENTITY' })
  }
  const size = Math.max(pageSize ?? DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE)
  return { page: p, pageSize: size, offset: (p - 1) * size }
}

/** 422 `PAGE_NOT_FOUND` for a page past the last one (page 1 always exists, possibly empty). */
export function pageNotFound(page: number): DomainError {
  return new DomainError('UNPROCESSABLE_ENTITY', `page ${page} does not exist`, { ofbCode: 'PAGE_NOT_FOUND', title: 'Página não encontrada' })
}

/** Number of pages for `total` records (at least 1, so an empty list has one empty page). */
export function totalPages(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / pageSize))
}

/**
 * Mints and checks `pagination-key` values: `<expiry ms base36>.<HMAC-SHA256(secret, scope|expiry) base64url>`. The
 * scope binds a key to one consent and one endpoint path, so a key cannot be replayed elsewhere. Pure: the clock is
 * passed in.
 */
export interface PaginationKeys {
  mint(scope: string, now: number): string
  /** Whether `key` was minted by us for `scope` and is unexpired at `now`. */
  verify(key: string, scope: string, now: number): boolean
}

export function createPaginationKeys(secret: string): PaginationKeys {
  if (secret.length < 32) throw new Error('pagination key secret must have at least 32 characters')
  const sign = (scope: string, expiry: string) => createHmac('sha256', secret).update(`${scope}|${expiry}`).digest()
  return {
    mint(scope, now) {
      const expiry = (now + PAGINATION_KEY_TTL_MS).toString(36)
      return `${expiry}.${sign(scope, expiry).toString('base64url')}`
    },
    verify(key, scope, now) {
      const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(key)
      if (!m) return false
      const expiry = m[1]!
      const given = Buffer.from(m[2]!, 'base64url')
      const expected = sign(scope, expiry)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
      return parseInt(expiry, 36) > now
    },
  }
}

/** The `links` of a paged answer. */
export interface PageLinks {
  self: string
  first?: string
  prev?: string
  next?: string
  last?: string
}

/**
 * Builds `links` for page `page` of `pages` (or, when `pages` is undefined, an uncounted list where `hasMore` says
 * whether a next page exists; such lists have no `last`). Every link carries the applied `page-size` and the key.
 */
export function pageLinks(o: {
  base: string
  query: Record<string, string | undefined>
  page: number
  pageSize: number
  key?: string
  pages?: number
  hasMore?: boolean
}): PageLinks {
  const url = (page: number) => {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(o.query)) if (v !== undefined) params.set(k, v)
    params.set('page', String(page))
    params.set('page-size', String(o.pageSize))
    if (o.key) params.set('pagination-key', o.key)
    return `${o.base}?${params.toString()}`
  }
  const links: PageLinks = { self: url(o.page) }
  if (o.page > 1) {
    links.first = url(1)
    links.prev = url(o.page - 1)
  }
  const hasNext = o.pages === undefined ? Boolean(o.hasMore) : o.page < o.pages
  if (hasNext) {
    links.next = url(o.page + 1)
    if (o.pages !== undefined) links.last = url(o.pages)
  }
  return links
}
