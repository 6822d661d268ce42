/**
 * `pnpm ponte admin <create-user|verify-audit>`: the admin console's operator commands. Reads the admin service's
 * environment (DATABASE_URL, DB_SCHEMA) and migrates its schema first, so it works before the service ever started.
 *
 * - `create-user --email <e-mail> --name <name> [--roles r1,r2]`: creates a staff account (by default with every
 *   role: the first administrator). The password comes from `PONTE_ADMIN_PASSWORD` or the first line of standard
 *   input; the TOTP secret for the authenticator app is printed once. Production has no default account.
 * - `verify-audit`: walks the audit trail's hash chain; exits 1 naming the first entry that breaks it.
 */
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createPool, migrate } from '@ponte/platform'
import { loadConfig } from '../../services/admin/src/config.ts'
import { createAuditStore } from '../../services/admin/src/adapters/audit-store.ts'
import { createStaffStore } from '../../services/admin/src/adapters/staff-store.ts'
import { ROLES, type Role } from '../../services/admin/src/domain/roles.ts'
import { totpUri } from '../../services/admin/src/domain/totp.ts'

export const summary = 'admin console: create-user (the first administrator), verify-audit (check the audit hash chain)'

const USAGE = 'usage: pnpm ponte admin create-user --email <e-mail> --name <name> [--roles ' + ROLES.join(',') + ']\n       pnpm ponte admin verify-audit'

async function readPassword(): Promise<string> {
  if (process.env.PONTE_ADMIN_PASSWORD) return process.env.PONTE_ADMIN_PASSWORD
  if (process.stdin.isTTY) process.stderr.write('password (12+ characters): ')
  const rl = createInterface({ input: process.stdin })
  for await (const line of rl) {
    rl.close()
    return line
  }
  throw new Error('no password given (set PONTE_ADMIN_PASSWORD or pass it on standard input)')
}

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  if (sub !== 'create-user' && sub !== 'verify-audit') {
    console.log(USAGE)
    if (sub !== undefined && sub !== '--help') throw new Error(`unknown subcommand "${sub}"`)
    return
  }
  const config = loadConfig(process.env)
  await migrate({ url: config.db.directUrl, schema: config.db.schema, dir: fileURLToPath(new URL('../../services/admin/migrations', import.meta.url)) })
  const pool = createPool({ url: config.db.directUrl, schema: config.db.schema, max: 2 })
  try {
    if (sub === 'verify-audit') {
      const verdict = await createAuditStore(pool).verify()
      if (!verdict.ok) throw new Error(`audit chain BROKEN at entry ${verdict.seq} (${verdict.problem}); ${verdict.entries - 1} entries before it verified`)
      console.log(`audit chain intact: ${verdict.entries} entries, last hash ${verdict.lastHash}`)
      return
    }
    const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, name: { type: 'string' }, roles: { type: 'string', default: ROLES.join(',') } } })
    if (!values.email || !values.name) throw new Error(`--email and --name are required\n${USAGE}`)
    const roles = values.roles.split(',').map((r) => r.trim()).filter(Boolean)
    const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r))
    if (unknown.length) throw new Error(`unknown role(s): ${unknown.join(', ')} (roles: ${ROLES.join(', ')})`)
    const user = await createStaffStore(pool).create({ email: values.email, name: values.name, password: await readPassword(), roles: roles as Role[] })
    await createAuditStore(pool).append({ action: 'staff.create', outcome: 'success', target: `staff:${user.email}`, actorEmail: 'cli', before: null, after: { roles: user.roles, disabled: false } })
    console.log(`created ${user.email} (${user.roles.join(', ')})`)
    if (user.totpSecret) {
      console.log(`TOTP secret (shown once; add it to an authenticator app): ${user.totpSecret}`)
      console.log(`otpauth URI: ${totpUri(user.totpSecret, user.email)}`)
    }
  } finally {
    await pool.end()
  }
}
