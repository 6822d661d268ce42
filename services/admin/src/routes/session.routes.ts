import { z } from 'zod'
import { DomainError, type PonteServer } from '@ponte/platform'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuditStore } from '../adapters/audit-store.ts'
import type { LoginThrottle } from '../adapters/login-throttle.ts'
import type { SessionStore } from '../adapters/sessions.ts'
import type { StaffStore, StaffUser } from '../adapters/staff-store.ts'
import { permissionsOf, requiresSecondFactor } from '../domain/roles.ts'
import { matchTotp } from '../domain/totp.ts'
import { PENDING_COOKIE, SESSION_COOKIE, auditContext, clearCookie, readCookie, setCookie } from '../adapters/http-security.ts'

/** Options of {@link sessionRoutes}. */
export interface SessionRoutesOptions {
  staff: StaffStore
  sessions: SessionStore
  throttle: LoginThrottle
  audit: AuditStore
  clock: { now(): Date }
  pendingS: number
}

const Login = z.object({ email: z.string().trim().min(3).max(254), password: z.string().min(1).max(256) })
const Totp = z.object({ code: z.string().trim().max(12) })

/** What the browser learns about the signed-in member: never the TOTP secret. */
export function me(user: StaffUser) {
  return { userId: user.userId, email: user.email, name: user.name, roles: user.roles, permissions: [...permissionsOf(user.roles)].sort() }
}

const WRONG = 'e-mail, password or code is wrong'

/**
 * `/api/session`: the two-step login (password, then TOTP for every account that can change something), the current
 * session, logout and logout everywhere. Every attempt, accepted or refused, is audited; failures count against the
 * account and the client address.
 */
export async function sessionRoutes(app: PonteServer, opts: SessionRoutesOptions): Promise<void> {
  const tooMany = () => new DomainError('TOO_MANY_REQUESTS', 'too many failed attempts; try again later', { headers: { 'retry-after': '60' } })

  async function signIn(req: FastifyRequest, reply: FastifyReply, user: StaffUser, mfa: boolean) {
    const { token, session } = await opts.sessions.create(user.userId, req.ip, opts.clock.now().getTime(), mfa)
    setCookie(reply, SESSION_COOKIE, token)
    await opts.throttle.succeeded(user.email)
    await opts.audit.append({ actorId: user.userId, actorEmail: user.email, address: req.ip, requestId: String(req.id), action: 'login', outcome: 'success', detail: { mfa } })
    return { status: 'signed_in' as const, csrfToken: session.csrf, user: me(user) }
  }

  app.post('/api/session/login', { schema: { body: Login } }, async (req, reply) => {
    const { email, password } = req.body
    if (!(await opts.throttle.allowed(email, req.ip))) {
      await opts.audit.append({ actorEmail: email.toLowerCase(), address: req.ip, requestId: String(req.id), action: 'login', outcome: 'denied', detail: { step: 'password', reason: 'throttled' } })
      throw tooMany()
    }
    const user = await opts.staff.checkPassword(email, password)
    if (!user) {
      await opts.throttle.failed(email, req.ip)
      await opts.audit.append({ actorEmail: email.toLowerCase(), address: req.ip, requestId: String(req.id), action: 'login', outcome: 'failure', detail: { step: 'password' } })
      throw new DomainError('UNAUTHORIZED', WRONG)
    }
    if (!user.totpSecret) {
      // Only accounts that change nothing may have no second factor (the store enrols the others).
      if (requiresSecondFactor(user.roles)) throw new DomainError('FORBIDDEN', 'this account needs a second factor and has none enrolled')
      return signIn(req, reply, user, false)
    }
    const pending = await opts.sessions.startPending(user.userId, opts.clock.now().getTime())
    setCookie(reply, PENDING_COOKIE, pending, opts.pendingS)
    return { status: 'totp_required' as const }
  })

  app.post('/api/session/totp', { schema: { body: Totp } }, async (req, reply) => {
    const token = readCookie(req, PENDING_COOKIE)
    const pending = token ? await opts.sessions.pending(token) : undefined
    const user = pending ? await opts.staff.get(pending.userId) : undefined
    if (!token || !pending || !user || user.disabled || !user.totpSecret) throw new DomainError('UNAUTHORIZED', 'sign in with your password first')
    if (!(await opts.throttle.allowed(user.email, req.ip))) {
      await opts.sessions.endPending(token)
      await opts.audit.append({ actorId: user.userId, actorEmail: user.email, address: req.ip, requestId: String(req.id), action: 'login', outcome: 'denied', detail: { step: 'totp', reason: 'throttled' } })
      throw tooMany()
    }
    const step = matchTotp(user.totpSecret, req.body.code, opts.clock.now())
    if (step === undefined || !(await opts.sessions.useTotpStep(user.userId, step))) {
      await opts.throttle.failed(user.email, req.ip)
      await opts.audit.append({
        actorId: user.userId, actorEmail: user.email, address: req.ip, requestId: String(req.id), action: 'login', outcome: 'failure',
        detail: { step: 'totp', reason: step === undefined ? 'wrong code' : 'code already used' },
      })
      throw new DomainError('UNAUTHORIZED', WRONG)
    }
    await opts.sessions.endPending(token)
    clearCookie(reply, PENDING_COOKIE)
    return signIn(req, reply, user, true)
  })

  app.get('/api/session', async (req) => ({ csrfToken: req.staff!.session.csrf, user: me(req.staff!.user) }))

  app.post('/api/session/logout', async (req, reply) => {
    await opts.sessions.destroy(req.staff!.token)
    clearCookie(reply, SESSION_COOKIE)
    await opts.audit.append({ ...auditContext(req), action: 'logout', outcome: 'success' })
    return reply.code(204).send()
  })

  app.post('/api/session/logout-all', async (req, reply) => {
    const ended = await opts.sessions.destroyAll(req.staff!.user.userId)
    clearCookie(reply, SESSION_COOKIE)
    await opts.audit.append({ ...auditContext(req), action: 'logout-all', outcome: 'success', detail: { sessionsEnded: ended } })
    return reply.code(204).send()
  })
}
