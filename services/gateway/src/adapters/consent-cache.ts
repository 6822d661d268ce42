import type { ConsentLookup } from '@ponte/contracts'
import { createSingleFlight } from './single-flight.ts'
import { createLru } from './lru.ts'

/** Reads a consent from the consent service (`undefined` when it does not exist). */
export type ConsentSource = (consentId: string) => Promise<ConsentLookup | undefined>

/** Options of {@link createConsentCache}. */
export interface ConsentCacheOptions {
  source: ConsentSource
  maxEntries: number
  /**
   * Safety net: an entry older than this is read again even without an event (bounds the damage of a lost event or a
   * consumer outage). Events remain the normal invalidation path.
   */
  maxAgeMs: number
  now?: () => number
}

/** Consent state cached until a `ponte.consent.v1` event names it. */
export interface ConsentCache {
  get(consentId: string): Promise<ConsentLookup | undefined>
  /** The cached entry when fresh (a hit, counted as one), without waiting; `null` when {@link get} must read it. */
  peek(consentId: string): ConsentLookup | undefined | null
  /** Drops the entry (an event arrived); an in-flight read started before this call is not stored. */
  invalidate(consentId: string): void
  /** Drops everything (the event stream was interrupted). */
  clear(): void
  readonly stats: { hits: number; misses: number; invalidations: number; size: number }
}

interface Entry { value: ConsentLookup | undefined; at: number; generation: number }

/** Creates the cache. */
export function createConsentCache(options: ConsentCacheOptions): ConsentCache {
  const now = options.now ?? Date.now
  const entries = createLru<string, Entry>(options.maxEntries)
  // Bumped by every invalidation; a read stores its result only if no invalidation happened since it started.
  let generation = 0
  let clearedAt = -1
  const invalidatedAt = createLru<string, number>(options.maxEntries)
  const stats = { hits: 0, misses: 0, invalidations: 0, get size() { return entries.size } }

  async function load(consentId: string): Promise<ConsentLookup | undefined> {
    const started = generation
    const value = await options.source(consentId)
    const lastInvalidation = invalidatedAt.get(consentId) ?? -1
    if (lastInvalidation <= started && clearedAt <= started) entries.set(consentId, { value, at: now(), generation: started })
    return value
  }
  const loads = createSingleFlight(load)

  return {
    stats,
    peek(consentId) {
      const e = entries.get(consentId)
      if (!e || now() - e.at >= options.maxAgeMs) return null
      stats.hits++
      return e.value
    },
    async get(consentId) {
      const e = entries.get(consentId)
      if (e && now() - e.at < options.maxAgeMs) {
        stats.hits++
        return e.value
      }
      stats.misses++
      return loads.run(consentId)
    },
    invalidate(consentId) {
      stats.invalidations++
      generation++
      invalidatedAt.set(consentId, generation)
      entries.delete(consentId)
      // A read in flight now would store pre-event state: forget it so the next request reads again.
      loads.forget(consentId)
    },
    clear() {
      generation++
      clearedAt = generation
      entries.clear()
      loads.clear()
    },
  }
}
