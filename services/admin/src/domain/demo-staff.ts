import type { Role } from './roles.ts'

/**
 * The development staff accounts (`SEED_DEMO_STAFF=true`, which needs `ALLOW_DEV_DEFAULTS=true`; `make up` only).
 * Their password and TOTP secret are public (README): production has no default account.
 */
export const DEMO_STAFF_PASSWORD = 'P@ssw0rd-staff'
export const DEMO_STAFF_TOTP_SECRET = 'PONTEDEMOTOTP234'
export const DEMO_STAFF: ReadonlyArray<{ email: string; name: string; roles: Role[] }> = [
  { email: 'admin@ponte.demo', name: 'Administração (demo)', roles: ['viewer', 'operator', 'consent_officer', 'security_admin', 'auditor'] },
  { email: 'operador@ponte.demo', name: 'Operação (demo)', roles: ['operator'] },
  { email: 'atendimento@ponte.demo', name: 'Atendimento (demo)', roles: ['consent_officer'] },
  { email: 'auditor@ponte.demo', name: 'Auditoria (demo)', roles: ['auditor'] },
]
