import type { JWK } from 'jose'
import type { Logger } from '@ponte/platform'
import type { DirectoryHttp, Jwks, Keystore } from '../domain/ports.ts'

/** Options of {@link createKeystore}. */
export interface KeystoreOptions {
  http: DirectoryHttp
  /** How long a fetched JWKS is used before it is fetched again. */
  ttlMs: number
  /** Least time between two fetches of one URL caused by unknown kids (or a failed fetch). */
  minRefreshIntervalMs: number
  logger: Logger
  /** Milliseconds since the epoch. */
  now?: () => number
  /** Most URLs kept (oldest evicted). Default 10 000. */
  maxEntries?: number
}

interface Entry {
  jwks?: Jwks
  fetchedAt: number
  /** No new fetch before this time (rate limit after a refresh or a failure). */
  quietUntil: number
  inflight?: Promise<Jwks>
}

function asJwks(body: unknown): Jwks {
  const keys = (body as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw new Error('not a JWKS (no keys array)')
  return { keys: keys.filter((k): k is JWK => typeof k === 'object' && k !== null && typeof (k as JWK).kty === 'string') }
}

/**
 * Creates the keystore cache. Entries live in memory per process; a failed refresh keeps serving the last good set
 * (the directory being down must not break DCR or JWS checks) and is retried after `minRefreshIntervalMs`.
 */
export function createKeystore(options: KeystoreOptions): Keystore {
  const now = options.now ?? Date.now
  const maxEntries = options.maxEntries ?? 10_000
  const entries = new Map<string, Entry>()
  const stats = { fetches: 0, failures: 0 }
  const log = options.logger.child({ component: 'keystore' })

  function fetchInto(url: string, entry: Entry): Promise<Jwks> {
    entry.inflight ??= (async () => {
      stats.fetches++
      try {
        const { body } = await options.http.getJson(url)
        const jwks = asJwks(body)
        entry.jwks = jwks
        entry.fetchedAt = now()
        entry.quietUntil = entry.fetchedAt + options.minRefreshIntervalMs
        return jwks
      } catch (err) {
        if ((err as { code?: string }).code === 'HOST_NOT_ALLOWED') {
          if (!entry.jwks) entries.delete(url)
          throw err
        }
        stats.failures++
        entry.quietUntil = now() + options.minRefreshIntervalMs
        if (entry.jwks) {
          log.warn({ url, err: (err as Error).message }, 'keystore refresh failed; serving the last good key set')
          return entry.jwks
        }
        throw err
      } finally {
        entry.inflight = undefined
      }
    })()
    return entry.inflight
  }

  function entryFor(url: string): Entry {
    let entry = entries.get(url)
    if (!entry) {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
      entry = { fetchedAt: 0, quietUntil: 0 }
      entries.set(url, entry)
    }
    return entry
  }

  async function get(url: string): Promise<Jwks> {
    const entry = entryFor(url)
    const t = now()
    if (entry.jwks && (t - entry.fetchedAt < options.ttlMs || t < entry.quietUntil)) return entry.jwks
    return fetchInto(url, entry)
  }

  return {
    get,
    async findKey(url, kid) {
      const first = await get(url)
      const found = first.keys.find((k) => k.kid === kid)
      if (found) return found
      const entry = entryFor(url)
      if (now() < entry.quietUntil) return undefined
      const again = await fetchInto(url, entry)
      return again.keys.find((k) => k.kid === kid)
    },
    refresh: (url) => fetchInto(url, entryFor(url)),
    stats,
  }
}
