/**
 * `pnpm ponte rotate-keys [--grace <seconds>] [--prune] [--list]`: rotates the auth-server's signing (PS256) and
 * encryption (RSA-OAEP) keys. A new pair becomes active at once and is published in the JWKS; the previous keys stay
 * published (so tokens they signed still verify and request objects encrypted to them still open) until the grace
 * period ends, then a later run (or `--prune`) deletes them. Running replicas pick the new set up within
 * KEY_RELOAD_INTERVAL_MS. Reads the auth-server's environment (DATABASE_URL, DB_SCHEMA, KEYS_MASTER_KEY).
 */
import { parseArgs } from 'node:util'
import { createPool } from '@ponte/platform'
import { loadConfig } from '../../services/auth-server/src/config.ts'
import { createKeyStore } from '../../services/auth-server/src/adapters/key-store.ts'

export const summary = 'rotate the auth-server signing/encryption keys (old ones stay published for a grace period)'

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { grace: { type: 'string', default: '86400' }, prune: { type: 'boolean', default: false }, list: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  })
  if (values.help) {
    console.log('usage: pnpm ponte rotate-keys [--grace <seconds, default 86400>] [--prune] [--list]')
    return
  }
  const grace = Number(values.grace)
  if (!Number.isInteger(grace) || grace < 0) throw new Error('--grace must be a whole number of seconds')
  const config = loadConfig(process.env)
  for (const w of config.warnings) console.warn(`WARNING: ${w}`)
  const pool = createPool({ url: config.db.directUrl, schema: config.db.schema, max: 2 })
  try {
    const keys = createKeyStore(pool, config.masterKey)
    if (values.list) {
      for (const k of await keys.list()) console.log(`${k.kid}  ${k.use}  ${k.alg}  ${k.status}${k.retireAt ? `  until ${k.retireAt.toISOString()}` : ''}`)
      return
    }
    const pruned = await keys.prune()
    if (pruned.length) console.log(`retired (grace period over): ${pruned.join(', ')}`)
    if (values.prune) return
    const { added, retiring } = await keys.rotate(grace)
    console.log(`active now: ${added.join(', ')}`)
    if (retiring.length) console.log(`published until ${new Date(Date.now() + grace * 1000).toISOString()}: ${retiring.join(', ')}`)
  } finally {
    await pool.end()
  }
}
