import { DomainError } from '@ponte/platform'

/**
 * Wraps a store kept in Redis so that a failure of Redis (down, failing over) reaches the API as 503
 * UPSTREAM_UNAVAILABLE in the OFB envelope, never as a 500: sessions and the login throttle fail closed and say so.
 */
export function failClosed<T extends object>(store: T, what: string): T {
  const wrapped = {} as Record<string, unknown>
  for (const [name, fn] of Object.entries(store)) {
    wrapped[name] = typeof fn !== 'function' ? fn : async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>).apply(store, args)
      } catch (err) {
        if (err instanceof DomainError) throw err
        throw new DomainError('UPSTREAM_UNAVAILABLE', `${what} is unavailable; retry shortly`, { cause: err })
      }
    }
  }
  return wrapped as T
}
