import { randomUUID } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'
import { DomainError, type Pool } from '@ponte/platform'
import { ROLES, requiresSecondFactor, type Role } from '../domain/roles.ts'
import { newTotpSecret } from '../domain/totp.ts'

/** A staff account as the console uses it (never the password hash). */
export interface StaffUser {
  userId: string
  email: string
  name: string
  roles: Role[]
  /** Base32 TOTP secret; absent only for accounts whose roles change nothing. */
  totpSecret: string | undefined
  disabled: boolean
  createdAt: Date
}

/** Input of {@link StaffStore.create}. */
export interface NewStaffUser {
  email: string
  name: string
  password: string
  roles: Role[]
  /** Given (development seed) or generated when the roles require a second factor. */
  totpSecret?: string
}

/** Staff accounts in PostgreSQL with argon2id password hashes. */
export interface StaffStore {
  /** Creates an account; 409 `CONFLICT` when the e-mail exists. The TOTP secret is generated when the roles need one. */
  create(input: NewStaffUser): Promise<StaffUser>
  /** Creates the account unless its e-mail exists (development seed); answers whether it was created. */
  ensure(input: NewStaffUser): Promise<boolean>
  get(userId: string): Promise<StaffUser | undefined>
  list(): Promise<StaffUser[]>
  /**
   * The account whose password matches, or `undefined` (unknown e-mail, wrong password, disabled). An unknown e-mail
   * costs the same argon2 verification as a known one, so timing does not reveal which accounts exist.
   */
  checkPassword(email: string, password: string): Promise<StaffUser | undefined>
  /** Replaces roles and/or the disabled flag; a role set that changes things gets a TOTP secret if it had none. */
  update(userId: string, change: { roles?: Role[]; disabled?: boolean }): Promise<{ before: StaffUser; after: StaffUser }>
}

/** argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), the library's defaults. */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

interface Row { user_id: string; email: string; name: string; totp_secret: string | null; roles: string[]; disabled: boolean; created_at: Date; password_hash?: string }
const COLUMNS = 'user_id, email, name, totp_secret, roles, disabled, created_at'
const toUser = (r: Row): StaffUser => ({
  userId: r.user_id, email: r.email, name: r.name, roles: r.roles as Role[], totpSecret: r.totp_secret ?? undefined, disabled: r.disabled, createdAt: r.created_at,
})

/** Checks a password against the console's minimum policy (12 characters, letters and something else). */
export function checkPasswordPolicy(password: string): void {
  if (password.length < 12 || password.length > 256 || !/[A-Za-z]/.test(password) || !/[^A-Za-z]/.test(password)) {
    throw new DomainError('INVALID_PARAMETER', 'password must have 12 to 256 characters, with letters and at least one digit or symbol')
  }
}

export function createStaffStore(pool: Pool): StaffStore {
  // Verified against when the e-mail is unknown, so both paths cost one argon2 verification.
  const decoy = hash('decoy-password-never-used', ARGON2)

  async function insert(input: NewStaffUser, onConflict: 'error' | 'skip'): Promise<StaffUser | undefined> {
    const roles = [...new Set(input.roles)].filter((r) => (ROLES as readonly string[]).includes(r))
    if (roles.length === 0) throw new DomainError('INVALID_PARAMETER', 'at least one role is required')
    checkPasswordPolicy(input.password)
    const secret = input.totpSecret ?? (requiresSecondFactor(roles) ? newTotpSecret() : undefined)
    const passwordHash = await hash(input.password, ARGON2)
    const { rows } = await pool.query<Row>(
      `insert into staff_users (user_id, email, name, password_hash, totp_secret, roles) values ($1, $2, $3, $4, $5, $6)
       on conflict (email) do nothing returning ${COLUMNS}`,
      [randomUUID(), input.email.trim().toLowerCase(), input.name, passwordHash, secret ?? null, roles],
    )
    if (!rows[0]) {
      if (onConflict === 'skip') return undefined
      throw new DomainError('CONFLICT', 'a staff user with this e-mail exists')
    }
    return toUser(rows[0])
  }

  return {
    async create(input) {
      return (await insert(input, 'error'))!
    },
    async ensure(input) {
      return (await insert(input, 'skip')) !== undefined
    },
    async get(userId) {
      const { rows } = await pool.query<Row>(`select ${COLUMNS} from staff_users where user_id = $1`, [userId])
      return rows[0] ? toUser(rows[0]) : undefined
    },
    async list() {
      const { rows } = await pool.query<Row>(`select ${COLUMNS} from staff_users order by email`)
      return rows.map(toUser)
    },
    async checkPassword(email, password) {
      const { rows } = await pool.query<Row>(`select ${COLUMNS}, password_hash from staff_users where email = $1`, [email.trim().toLowerCase()])
      const row = rows[0]
      const ok = await verify(row?.password_hash ?? (await decoy), password).catch(() => false)
      if (!row || !ok || row.disabled) return undefined
      return toUser(row)
    },
    async update(userId, change) {
      const client = await pool.connect()
      try {
        await client.query('begin')
        const { rows } = await client.query<Row>(`select ${COLUMNS} from staff_users where user_id = $1 for update`, [userId])
        if (!rows[0]) throw new DomainError('NOT_FOUND', 'staff user not found')
        const before = toUser(rows[0])
        const roles = change.roles ? [...new Set(change.roles)] : before.roles
        if (roles.length === 0) throw new DomainError('INVALID_PARAMETER', 'at least one role is required')
        const secret = before.totpSecret ?? (requiresSecondFactor(roles) ? newTotpSecret() : null)
        const updated = await client.query<Row>(
          `update staff_users set roles = $2, disabled = $3, totp_secret = $4, updated_at = now() where user_id = $1 returning ${COLUMNS}`,
          [userId, roles, change.disabled ?? before.disabled, secret],
        )
        await client.query('commit')
        return { before, after: toUser(updated.rows[0]!) }
      } catch (err) {
        await client.query('rollback')
        throw err
      } finally {
        client.release()
      }
    },
  }
}
