import type { Redis } from 'ioredis'

/**
 * Remembers the one-time identifiers (`jti`) of client assertions, DPoP proofs and attestations until they expire,
 * shared by every auth-server replica. `claim` is one atomic write: of two requests carrying the same identifier, on
 * one replica or two, exactly one wins, whatever their timing.
 */
export interface ReplayStore {
  /**
   * Records `id` until `expiresAt` (epoch seconds) and returns true, or returns false when it is already recorded and
   * not yet expired (a replay). Throws when the store cannot answer: the caller refuses the request.
   */
  claim(id: string, expiresAt: number): Promise<boolean>
}

/** The Redis store: `SET key 1 NX PXAT expiry` (the key disappears with the assertion's lifetime). */
export function createRedisReplayStore(redis: Redis, options: { prefix?: string; now?: () => number } = {}): ReplayStore {
  const prefix = options.prefix ?? 'auth:assertion-jti'
  const now = options.now ?? Date.now
  return {
    async claim(id, expiresAt) {
      // An identifier whose expiry has passed cannot be replayed (the JWT is refused as expired); a second kept
      // anyway covers clock differences between replicas.
      const at = Math.max(expiresAt * 1000, now() + 1000)
      const set = await redis.set(`${prefix}:${id}`, '1', 'PXAT', at, 'NX')
      return set === 'OK'
    },
  }
}
