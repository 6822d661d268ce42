import type { Redis } from '@ponte/platform'
import { failClosed } from './redis-unavailable.ts'

/**
 * Limits password and code guessing on the console's login: failures are counted per account (e-mail) and per client
 * address in fixed windows, the mechanism of the auth-server's journey throttle.
 */
export interface LoginThrottle {
  /** Whether a login for this e-mail from this address may be attempted now. */
  allowed(email: string, address: string): Promise<boolean>
  /** Counts a failed attempt (wrong password or wrong code). */
  failed(email: string, address: string): Promise<void>
  /** Clears the account's counter after a complete login. */
  succeeded(email: string): Promise<void>
}

/**
 * The Redis throttle: windows of `windowS` seconds, at most `perAccount` failures per e-mail and `perAddress` per client
 * address (an office behind one address has many staff). Fails closed when Redis is down.
 */
export function createLoginThrottle(redis: Redis, options: { perAccount: number; perAddress: number; windowS: number; prefix?: string }): LoginThrottle {
  const prefix = options.prefix ?? 'admin:login-failures'
  const keys = (email: string, address: string) => [`${prefix}:account:${email.trim().toLowerCase()}`, `${prefix}:ip:${address}`]
  return failClosed({
    async allowed(email, address) {
      const counts = await redis.mget(...keys(email, address))
      return Number(counts[0] ?? 0) < options.perAccount && Number(counts[1] ?? 0) < options.perAddress
    },
    async failed(email, address) {
      const multi = redis.multi()
      for (const key of keys(email, address)) multi.incr(key).expire(key, options.windowS, 'NX')
      await multi.exec()
    },
    async succeeded(email) {
      await redis.del(`${prefix}:account:${email.trim().toLowerCase()}`)
    },
  }, 'the login throttle')
}
