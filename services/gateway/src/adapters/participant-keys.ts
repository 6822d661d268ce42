import { createPublicKey, type KeyObject } from 'node:crypto'
import type { Logger } from '@ponte/platform'

/** A participant's published keys, as the directory connector answers them (`GET /internal/organisations/{id}/jwks`). */
export interface JwksLike { keys: Array<Record<string, unknown>> }

/** Options of {@link createParticipantKeys}. */
export interface ParticipantKeysOptions {
  /** Fetches an organisation's application JWKS through the directory connector; `kid` asks it to refresh for that kid. */
  source: (organisationId: string, kid: string | undefined) => Promise<JwksLike | undefined>
  /** How long a fetched set is used before it is fetched again. */
  maxAgeMs: number
  /** Least time between two fetches of one organisation's set caused by an unknown kid. */
  cooldownMs: number
  logger: Logger
  now?: () => number
  /** Most organisations kept (oldest evicted). */
  maxEntries?: number
}

interface Entry { keys: Map<string, KeyObject>; fetchedAt: number; quietUntil: number; inflight: Promise<void> | undefined }

/** The TPPs' payload-signing keys, cached per organisation so a verified request does not call the directory. */
export interface ParticipantKeys {
  /** The key at once when cached and fresh; `undefined` when it must be fetched (then call {@link find}). */
  peek(organisationId: string, kid: string): KeyObject | undefined
  /** The key, fetching the organisation's set when missing or stale (an unknown kid refetches at most once per cooldown). */
  find(organisationId: string, kid: string): Promise<KeyObject | undefined>
  readonly stats: { fetches: number; failures: number; hits: number }
}

/** Only RSA signing keys can verify PS256. */
function toKeys(jwks: JwksLike | undefined): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>()
  for (const jwk of jwks?.keys ?? []) {
    if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue
    try {
      keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, format: 'jwk' }))
    } catch { /* a malformed key is skipped */ }
  }
  return keys
}

/**
 * Creates the cache. The directory connector keeps its own rate-limited keystore cache (one central fetch per
 * interval at most); this one keeps verification on the gateway's hot path free of network calls.
 */
export function createParticipantKeys(o: ParticipantKeysOptions): ParticipantKeys {
  const now = o.now ?? Date.now
  const maxEntries = o.maxEntries ?? 10_000
  const entries = new Map<string, Entry>()
  const stats = { fetches: 0, failures: 0, hits: 0 }
  const log = o.logger.child({ component: 'participant-keys' })

  function load(organisationId: string, entry: Entry, kid: string | undefined): Promise<void> {
    entry.inflight ??= (async () => {
      stats.fetches++
      try {
        entry.keys = toKeys(await o.source(organisationId, kid))
        entry.fetchedAt = now()
      } catch (err) {
        stats.failures++
        log.warn({ organisationId, err: (err as Error).message }, 'participant keys not fetched; keeping the last set')
      } finally {
        entry.quietUntil = now() + o.cooldownMs
        entry.inflight = undefined
      }
    })()
    return entry.inflight
  }

  function entryOf(organisationId: string): Entry {
    let entry = entries.get(organisationId)
    if (!entry) {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
      entry = { keys: new Map(), fetchedAt: 0, quietUntil: 0, inflight: undefined }
      entries.set(organisationId, entry)
    }
    return entry
  }

  return {
    stats,
    peek(organisationId, kid) {
      const entry = entries.get(organisationId)
      if (!entry || now() - entry.fetchedAt > o.maxAgeMs) return undefined
      const key = entry.keys.get(kid)
      if (key) stats.hits++
      return key
    },
    async find(organisationId, kid) {
      const entry = entryOf(organisationId)
      if (entry.fetchedAt === 0 || now() - entry.fetchedAt > o.maxAgeMs) await load(organisationId, entry, undefined)
      if (!entry.keys.has(kid) && now() >= entry.quietUntil) await load(organisationId, entry, kid)
      return entry.keys.get(kid)
    },
  }
}
