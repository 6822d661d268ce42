import type { Redis } from 'ioredis'

/** Limits password guessing on the login page: failures are counted per CPF and per client address. */
export interface LoginThrottle {
  /** Whether a login for this CPF from this address may be attempted now. */
  allowed(cpf: string, address: string): Promise<boolean>
  /** Counts a failed attempt. */
  failed(cpf: string, address: string): Promise<void>
  /** Clears the CPF's counter after a successful login. */
  succeeded(cpf: string): Promise<void>
}

/** The Redis throttle: fixed windows of `windowS` seconds, `maxFailures` failures per key. Fails closed when Redis is down. */
export function createLoginThrottle(redis: Redis, options: { maxFailures: number; windowS: number; prefix?: string }): LoginThrottle {
  const prefix = options.prefix ?? 'auth:login-failures'
  const keys = (cpf: string, address: string) => [`${prefix}:cpf:${cpf}`, `${prefix}:ip:${address}`]
  return {
    async allowed(cpf, address) {
      const counts = await redis.mget(...keys(cpf, address))
      return counts.every((c) => Number(c ?? 0) < options.maxFailures)
    },
    async failed(cpf, address) {
      const multi = redis.multi()
      for (const key of keys(cpf, address)) multi.incr(key).expire(key, options.windowS, 'NX')
      await multi.exec()
    },
    async succeeded(cpf) {
      await redis.del(`${prefix}:cpf:${cpf}`)
    },
  }
}
