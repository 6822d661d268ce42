import type { Redis } from '@ponte/platform'

/** Remembers the `jti` of each signed request for 24 h, shared by every gateway replica (Redis). */
export interface ReplayGuard {
  /** True when `jti` was not used by `clientId` in the window (and records it); false on reuse. Rejects when Redis fails. */
  claim(clientId: string, jti: string): Promise<boolean>
}

/** docs/regulation/security-profile.md#replay-protection-jti: a `jti` is single-use for 24 hours. */
export const JTI_WINDOW_MS = 86_400_000

/**
 * One `SET key 1 NX PX` per request: atomic, and a single-key command, so it works unchanged on Redis Cluster (the
 * client id is the hash tag, keeping one client's keys together).
 */
export function createReplayGuard(redis: Redis, windowMs = JTI_WINDOW_MS): ReplayGuard {
  return {
    async claim(clientId, jti) {
      const set = await redis.set(`ponte:jti:{${clientId}}:${jti}`, '1', 'PX', windowMs, 'NX')
      return set === 'OK'
    },
  }
}
