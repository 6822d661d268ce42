import { timingSafeEqual } from 'node:crypto'
import { DomainError, type PonteServer } from '@ponte/platform'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuditInput, AuditStore } from './audit-store.ts'
import type { Session, SessionStore } from './sessions.ts'
import type { StaffStore, StaffUser } from './staff-store.ts'
import { WRITE_PERMISSIONS, permissionsOf, type Permission } from '../domain/roles.ts'
import { routeNeeds } from '../routes/permissions.ts'

/** The session cookie. `__Host-` makes browsers require Secure, Path=/ and no Domain. */
export const SESSION_COOKIE = '__Host-ponte-admin'
/** The cookie of a login between its password and TOTP steps. */
export const PENDING_COOKIE = '__Host-ponte-admin-login'
/** The header carrying the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token'

/** The signed-in staff member of a request. */
export interface StaffContext {
  user: StaffUser
  session: Session
  token: string
  permissions: Set<Permission>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on `/api` routes that need a session, after the session and permission checks. */
    staff: StaffContext | null
  }
}

/**
 * Content Security Policy of every answer: only this origin's scripts and styles (no inline script), no framing, no
 * plugins, forms posting only here.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
}

/** Reads one cookie from the request's `Cookie` header. */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * `Set-Cookie` for a console cookie: HttpOnly, Secure, SameSite=Strict, host-only, browser-session lifetime. Only the
 * single sign-on binding cookie is `Lax`: it must come back on the provider's redirect, a cross-site navigation.
 */
export function setCookie(reply: FastifyReply, name: string, value: string, maxAgeS?: number, sameSite: 'Strict' | 'Lax' = 'Strict'): void {
  const attrs = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'Secure', `SameSite=${sameSite}`]
  if (maxAgeS !== undefined) attrs.push(`Max-Age=${maxAgeS}`)
  const prev = reply.getHeader('set-cookie')
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)]
  reply.header('set-cookie', [...list, attrs.join('; ')])
}

/** Expires a console cookie. */
export function clearCookie(reply: FastifyReply, name: string): void {
  setCookie(reply, name, '', 0)
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Who and where a request comes from, for an audit entry. */
export function auditContext(req: FastifyRequest): Pick<AuditInput, 'actorId' | 'actorEmail' | 'address' | 'requestId'> {
  return { actorId: req.staff?.user.userId, actorEmail: req.staff?.user.email, address: req.ip, requestId: String(req.id) }
}

/** Options of {@link registerSecurity}. */
export interface SecurityOptions {
  sessions: SessionStore
  staff: StaffStore
  audit: AuditStore
  clock: { now(): Date }
}

/**
 * The console's request guard, on every route: security headers on every answer; on `/api` routes, refusal of any
 * route missing from the permission table (at start-up), the session (cookie → Redis, idle and absolute timeouts,
 * account still enabled, roles read afresh), the CSRF token on state-changing methods, and the route's permission.
 * Denials of a permission are audited.
 */
export function registerSecurity(app: PonteServer, opts: SecurityOptions): void {
  app.decorateRequest('staff', null)

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api')) return
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      if (routeNeeds(method, route.url) === undefined) throw new Error(`${method} ${route.url} is not in the permission table (routes/permissions.ts)`)
    }
  })

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v)
    const url = req.routeOptions.url
    if (!url?.startsWith('/api')) return
    reply.header('cache-control', 'no-store')
    // A browser says where a request comes from; a state change started by another site is refused outright.
    if (!SAFE_METHODS.has(req.method) && req.headers['sec-fetch-site'] === 'cross-site') {
      throw new DomainError('FORBIDDEN', 'cross-site request refused')
    }
    const needs = routeNeeds(req.method === 'HEAD' ? 'GET' : req.method, url)
    if (needs === undefined) throw new DomainError('NOT_FOUND', 'no such route')
    if (needs === 'public') return

    const token = readCookie(req, SESSION_COOKIE)
    const session = token ? await opts.sessions.touch(token, opts.clock.now().getTime()) : undefined
    if (!token || !session) throw new DomainError('UNAUTHORIZED', 'sign in first')
    const user = await opts.staff.get(session.userId)
    if (!user || user.disabled) {
      await opts.sessions.destroy(token)
      throw new DomainError('UNAUTHORIZED', 'sign in first')
    }
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER]
      if (typeof sent !== 'string' || !sameToken(sent, session.csrf)) throw new DomainError('FORBIDDEN', 'missing or wrong CSRF token')
    }
    const permissions = permissionsOf(user.roles)
    req.staff = { user, session, token, permissions }
    if (needs === 'session') return
    // A change needs the permission and a session opened with the second factor.
    const allowed = permissions.has(needs) && (!WRITE_PERMISSIONS.has(needs) || session.mfa)
    if (!allowed) {
      await opts.audit.append({ ...auditContext(req), action: `${req.method} ${url}`, outcome: 'denied', target: req.url.split('?')[0], detail: { needs } })
      throw new DomainError('FORBIDDEN', `this needs the permission ${needs}`)
    }
  })
}
