/**
 * Staff roles and what each may do. Every console API route declares one {@link Permission} in the route table
 * (`routes/permissions.ts`); the server checks it on every call, whatever the browser shows.
 */
export const ROLES = ['viewer', 'operator', 'consent_officer', 'security_admin', 'auditor'] as const
export type Role = (typeof ROLES)[number]

export const PERMISSIONS = [
  'consents:read', 'consents:revoke',
  'traffic:read', 'traffic:write',
  'participants:read',
  'payments:read', 'payments:cancel',
  'catalog:read', 'catalog:write',
  'clients:suspend',
  'staff:read', 'staff:write',
  'audit:read',
] as const
export type Permission = (typeof PERMISSIONS)[number]

/** Permissions that change something: a role holding one must use a second factor (TOTP). */
export const WRITE_PERMISSIONS: ReadonlySet<Permission> = new Set(['consents:revoke', 'traffic:write', 'staff:write', 'payments:cancel', 'catalog:write', 'clients:suspend'])

/** What each role grants. A staff member's permissions are the union over their roles. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  // Read-only operations view: consents (CPF masked), traffic limits, participants.
  viewer: ['consents:read', 'traffic:read', 'participants:read', 'payments:read', 'catalog:read'],
  // Runs the platform: traffic limits (read and change), participants.
  // Also the API catalog (versions on or off) and the scheduled outages discovery announces.
  operator: ['traffic:read', 'traffic:write', 'participants:read', 'catalog:read', 'catalog:write'],
  // Customer service: finds consents and revokes them on the customer's request or for security.
  // Also finds payments and payment consents, and cancels a pending or scheduled payment on the customer's request.
  consent_officer: ['consents:read', 'consents:revoke', 'payments:read', 'payments:cancel'],
  // Staff users and roles, participants and their clients.
  // Also suspends and reinstates a TPP's registered client.
  security_admin: ['staff:read', 'staff:write', 'participants:read', 'clients:suspend'],
  // Reads the audit trail, changes nothing.
  auditor: ['audit:read'],
}

/** The permissions a set of roles grants. */
export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  const out = new Set<Permission>()
  for (const r of roles) for (const p of ROLE_PERMISSIONS[r]) out.add(p)
  return out
}

/** Whether someone with these roles can change something, and so must enrol and use TOTP. */
export function requiresSecondFactor(roles: readonly Role[]): boolean {
  for (const p of permissionsOf(roles)) if (WRITE_PERMISSIONS.has(p)) return true
  return false
}
