import { createLru } from './lru.ts'
import type { UpstreamResponse } from './upstream.ts'

/** Open-data responses kept for a configurable time (they are public and change rarely). */
export interface OpenDataCache {
  get(url: string): UpstreamResponse | undefined
  /** Keeps a 200 answer. */
  set(url: string, response: UpstreamResponse): void
  readonly stats: { hits: number; misses: number }
}

/**
 * Creates the cache; `ttlMs` 0 disables it. `ttlFor` gives some paths their own lifetime (the regulator's status and
 * metrics are kept only briefly: a status page must not lag a minute behind, docs/decisions/gateway-regulator-endpoints.md).
 */
export function createOpenDataCache(ttlMs: number, maxEntries = 5_000, now: () => number = Date.now, ttlFor?: (path: string) => number | undefined): OpenDataCache {
  const entries = createLru<string, { response: UpstreamResponse; until: number }>(maxEntries)
  const stats = { hits: 0, misses: 0 }
  return {
    stats,
    get(url) {
      const e = entries.get(url)
      if (e && e.until > now()) {
        stats.hits++
        return e.response
      }
      stats.misses++
      return undefined
    },
    set(url, response) {
      const q = url.indexOf('?')
      const ttl = ttlFor?.(q < 0 ? url : url.slice(0, q)) ?? ttlMs
      if (ttl > 0 && response.status === 200) entries.set(url, { response, until: now() + ttl })
    },
  }
}
