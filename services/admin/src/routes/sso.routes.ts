import { z } from 'zod'
import { DomainError, type PonteServer } from '@ponte/platform'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuditStore } from '../adapters/audit-store.ts'
import type { SessionStore } from '../adapters/sessions.ts'
import type { SsoAccounts, SsoClient } from '../adapters/sso.ts'
import type { StaffStore } from '../adapters/staff-store.ts'
import { PENDING_COOKIE, SESSION_COOKIE, clearCookie, readCookie, setCookie } from '../adapters/http-security.ts'
import { assertsMfa, rolesFromClaims } from '../domain/sso.ts'

/** The cookie binding a browser to its single sign-on in progress (SameSite=Lax: it returns on the provider's redirect). */
export const SSO_COOKIE = '__Host-ponte-admin-sso'

/** Options of {@link ssoRoutes}. */
export interface SsoRoutesOptions {
  /** Absent: single sign-on is off (`GET /api/session/sso` says so, the other routes answer 404). */
  sso: SsoClient | undefined
  accounts: SsoAccounts
  staff: StaffStore
  sessions: SessionStore
  audit: AuditStore
  clock: { now(): Date }
  pendingS: number
}

const Callback = z.object({ code: z.string().max(2_000).optional(), state: z.string().max(2_000).optional(), error: z.string().max(200).optional() }).loose()

/**
 * `/api/session/sso`: single sign-on with the bank's OpenID Provider (docs/decisions/admin-single-sign-on.md). `start`
 * redirects the browser to the provider (authorization code, PKCE S256, state, nonce); `callback` checks the answer,
 * takes the roles from the configured claim, links or creates the staff account, and opens a session: at once when the
 * provider asserted multi-factor authentication, after the account's TOTP code when it has one, or else a session that
 * changes nothing. Every outcome is audited; the browser lands on the console (`/?sso=totp` or `/?sso=failed` when
 * something is left to do or went wrong).
 */
export async function ssoRoutes(app: PonteServer, opts: SsoRoutesOptions): Promise<void> {
  const enabled = () => {
    if (!opts.sso) throw new DomainError('NOT_FOUND', 'single sign-on is not configured')
    return opts.sso
  }

  app.get('/api/session/sso', async () => ({ enabled: opts.sso !== undefined }))

  app.get('/api/session/sso/start', async (req, reply) => {
    const sso = enabled()
    try {
      const { url, cookie } = await sso.start(opts.clock.now().getTime())
      setCookie(reply, SSO_COOKIE, cookie, 300, 'Lax')
      return await reply.redirect(url, 303)
    } catch (err) {
      // The provider cannot be reached: the browser goes back to the login page, which says so.
      await opts.audit.append({ address: req.ip, requestId: String(req.id), action: 'login', outcome: 'failure', detail: { method: 'sso', issuer: sso.settings.issuer, step: 'start', reason: err instanceof Error ? err.message : String(err) } })
      return reply.redirect('/?sso=failed', 303)
    }
  })

  app.get('/api/session/sso/callback', { schema: { querystring: Callback } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const sso = enabled()
    const s = sso.settings
    clearCookie(reply, SSO_COOKIE)
    const base = { address: req.ip, requestId: String(req.id), action: 'login' }
    let claims: Record<string, unknown>
    try {
      const url = new URL(s.redirectUri)
      url.search = new URL(req.url, 'http://x').search
      claims = await sso.finish(url, readCookie(req, SSO_COOKIE))
    } catch (err) {
      await opts.audit.append({ ...base, outcome: 'failure', detail: { method: 'sso', issuer: s.issuer, reason: err instanceof Error ? err.message : String(err) } })
      return reply.redirect('/?sso=failed', 303)
    }
    const subject = String(claims.sub)
    const email = typeof claims.email === 'string' ? claims.email : undefined
    const roles = rolesFromClaims(claims, s.rolesClaim, s.roleMap)
    const mfa = assertsMfa(claims, s.mfaAcrValues)
    const who = { actorEmail: email?.toLowerCase(), ...base }
    const detail = { method: 'sso', issuer: s.issuer, subject, mfaAsserted: mfa, amr: claims.amr ?? null, acr: claims.acr ?? null }
    try {
      if (roles.length === 0) throw new DomainError('FORBIDDEN', `the OpenID Provider asserted no console role in ${s.rolesClaim}`)
      const link = await opts.accounts.link({
        issuer: s.issuer, subject, email, emailVerified: claims.email_verified === true, name: typeof claims.name === 'string' ? claims.name : (email ?? subject), roles,
      }, s)
      const user = (await opts.staff.get(link.userId))!
      const entry = { ...who, actorId: user.userId, actorEmail: user.email, target: `staff:${user.userId}`, before: link.rolesBefore ? { roles: link.rolesBefore } : null, after: { roles: user.roles } }
      if (!mfa && user.totpSecret) {
        // The provider did not assert a second factor: the account's own TOTP code is asked, as after a password.
        const pending = await opts.sessions.startPending(user.userId, opts.clock.now().getTime())
        setCookie(reply, PENDING_COOKIE, pending, opts.pendingS)
        await opts.audit.append({ ...entry, action: 'login.sso', outcome: 'success', detail: { ...detail, link: link.link, next: 'totp' } })
        return reply.redirect('/?sso=totp', 303)
      }
      const { token } = await opts.sessions.create(user.userId, req.ip, opts.clock.now().getTime(), mfa)
      setCookie(reply, SESSION_COOKIE, token)
      await opts.audit.append({ ...entry, outcome: 'success', detail: { ...detail, link: link.link, mfa } })
      return reply.redirect('/', 303)
    } catch (err) {
      await opts.audit.append({ ...who, outcome: 'failure', detail: { ...detail, roles, reason: err instanceof Error ? err.message : String(err) } })
      return reply.redirect('/?sso=failed', 303)
    }
  })
}
