import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from '@ponte/platform'
import { failClosed } from './redis-unavailable.ts'

/** A signed-in staff member's session, kept in Redis under the SHA-256 of its cookie value. */
export interface Session {
  userId: string
  /** The synchroniser token every state-changing request must echo in `x-csrf-token`. */
  csrf: string
  /** Epoch ms. */
  createdAt: number
  address: string
  /** Whether the login passed the second factor (changes need it). */
  mfa: boolean
}

/** A password-checked login waiting for its TOTP code. */
export interface PendingLogin { userId: string; createdAt: number }

/** Options of {@link createSessionStore}. */
export interface SessionTimeouts {
  /** A session unused this long ends. */
  idleS: number
  /** A session ends this long after login, used or not. */
  absoluteS: number
  /** Time to enter the TOTP code after the password. */
  pendingS: number
}

/**
 * Sessions in Redis: the cookie carries 256 random bits; Redis keeps only their hash (a Redis dump does not hold
 * usable cookies). Each key's TTL is the idle timeout, renewed on use but never past the absolute timeout. Every
 * user's session hashes are indexed so "log out everywhere" (and disabling an account) ends them all.
 */
export interface SessionStore {
  /** Starts a session; answers the cookie value. */
  create(userId: string, address: string, now: number, mfa: boolean): Promise<{ token: string; session: Session }>
  /** The live session of a cookie value, its idle timer renewed; `undefined` when unknown or timed out. */
  touch(token: string, now: number): Promise<Session | undefined>
  destroy(token: string): Promise<void>
  /** Ends every session of the user; answers how many. */
  destroyAll(userId: string): Promise<number>
  /** A password step passed: the token of the pending login (its own cookie). */
  startPending(userId: string, now: number): Promise<string>
  /** Reads the pending login (it stays until {@link endPending} or its timeout). */
  pending(token: string): Promise<PendingLogin | undefined>
  endPending(token: string): Promise<void>
  /** Marks a TOTP step as used by the user; `false` when it was already used (a replayed code). */
  useTotpStep(userId: string, step: number): Promise<boolean>
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url')

export function createSessionStore(redis: Redis, timeouts: SessionTimeouts, prefix = 'admin'): SessionStore {
  const sessionKey = (token: string) => `${prefix}:session:${digest(token)}`
  const userKey = (userId: string) => `${prefix}:user-sessions:${userId}`
  const pendingKey = (token: string) => `${prefix}:pending:${digest(token)}`

  return failClosed({
    async create(userId, address, now, mfa) {
      const token = randomBytes(32).toString('base64url')
      const session: Session = { userId, csrf: randomBytes(32).toString('base64url'), createdAt: now, address, mfa }
      await redis.multi()
        .set(sessionKey(token), JSON.stringify(session), 'EX', Math.min(timeouts.idleS, timeouts.absoluteS))
        .sadd(userKey(userId), digest(token))
        .expire(userKey(userId), timeouts.absoluteS)
        .exec()
      return { token, session }
    },
    async touch(token, now) {
      if (!token || token.length > 100) return undefined
      const key = sessionKey(token)
      const raw = await redis.get(key)
      if (!raw) return undefined
      const session = JSON.parse(raw) as Session
      const left = Math.floor((session.createdAt + timeouts.absoluteS * 1000 - now) / 1000)
      if (left <= 0) {
        await redis.del(key)
        return undefined
      }
      await redis.expire(key, Math.min(timeouts.idleS, left))
      return session
    },
    async destroy(token) {
      await redis.del(sessionKey(token))
    },
    async destroyAll(userId) {
      const hashes = await redis.smembers(userKey(userId))
      if (hashes.length === 0) return 0
      const removed = await redis.del(...hashes.map((h) => `${prefix}:session:${h}`))
      await redis.del(userKey(userId))
      return removed
    },
    async startPending(userId, now) {
      const token = randomBytes(32).toString('base64url')
      await redis.set(pendingKey(token), JSON.stringify({ userId, createdAt: now } satisfies PendingLogin), 'EX', timeouts.pendingS)
      return token
    },
    async pending(token) {
      if (!token || token.length > 100) return undefined
      const raw = await redis.get(pendingKey(token))
      return raw ? (JSON.parse(raw) as PendingLogin) : undefined
    },
    async endPending(token) {
      await redis.del(pendingKey(token))
    },
    async useTotpStep(userId, step) {
      // Kept a little longer than the steps a code can match (±1 step of 30 s).
      return (await redis.set(`${prefix}:totp-used:${userId}:${step}`, '1', 'EX', 120, 'NX')) === 'OK'
    },
  }, 'the session store')
}
