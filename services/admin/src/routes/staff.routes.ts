import { z } from 'zod'
import { DomainError, type PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import type { SessionStore } from '../adapters/sessions.ts'
import type { StaffStore, StaffUser } from '../adapters/staff-store.ts'
import { ROLES } from '../domain/roles.ts'
import { totpUri } from '../domain/totp.ts'
import { auditContext } from '../adapters/http-security.ts'

/** Options of {@link staffRoutes}. */
export interface StaffRoutesOptions {
  staff: StaffStore
  sessions: SessionStore
  audit: AuditStore
}

const Roles = z.array(z.enum(ROLES)).min(1).max(ROLES.length)
const NewUser = z.object({ email: z.email().max(254), name: z.string().trim().min(1).max(200), password: z.string().min(12).max(256), roles: Roles })
const Change = z.object({ roles: Roles.optional(), disabled: z.boolean().optional() }).refine((c) => c.roles !== undefined || c.disabled !== undefined, 'change roles or disabled')
const UserParams = z.object({ userId: z.uuid() })

const view = (u: StaffUser) => ({ userId: u.userId, email: u.email, name: u.name, roles: u.roles, disabled: u.disabled, totpEnrolled: u.totpSecret !== undefined, createdAt: u.createdAt.toISOString() })
const audited = (u: StaffUser) => ({ roles: u.roles, disabled: u.disabled })

/** `/api/staff`: staff accounts and their roles (security administrators). */
export async function staffRoutes(app: PonteServer, opts: StaffRoutesOptions): Promise<void> {
  app.get('/api/staff', async () => ({ users: (await opts.staff.list()).map(view) }))

  // The TOTP secret is shown once, at creation, for the new member's authenticator app; it is never shown again.
  app.post('/api/staff', { schema: { body: NewUser } }, async (req, reply) => {
    const user = await opts.staff.create(req.body)
    await opts.audit.append({ ...auditContext(req), action: 'staff.create', outcome: 'success', target: `staff:${user.email}`, before: null, after: audited(user) })
    return reply.code(201).send({ user: view(user), ...(user.totpSecret ? { totp: { secret: user.totpSecret, uri: totpUri(user.totpSecret, user.email) } } : {}) })
  })

  app.patch('/api/staff/:userId', { schema: { params: UserParams, body: Change } }, async (req) => {
    // Nobody changes their own roles or locks themselves out; another administrator does it.
    if (req.params.userId === req.staff!.user.userId) throw new DomainError('FORBIDDEN', 'you cannot change your own account')
    const { before, after } = await opts.staff.update(req.params.userId, req.body)
    // A disabled account, or one that lost roles, signs in again: its sessions end now.
    const lostRoles = before.roles.some((r) => !after.roles.includes(r))
    const ended = after.disabled || lostRoles ? await opts.sessions.destroyAll(after.userId) : 0
    await opts.audit.append({ ...auditContext(req), action: 'staff.update', outcome: 'success', target: `staff:${after.email}`, before: audited(before), after: audited(after), detail: { sessionsEnded: ended } })
    return { user: view(after) }
  })
}
