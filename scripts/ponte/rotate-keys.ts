/**
 * `pnpm ponte rotate-keys [--grace <seconds>] [--prune] [--list]`: rotates the auth-server's signing (PS256) and
 * encryption (RSA-OAEP) keys. A new pair becomes active at once and is published in the JWKS; the previous keys stay
 * published (so tokens they signed still verify and request objects encrypted to them still open) until the grace
 * period ends, then a later run (or `--prune`) deletes them. Running replicas pick the new set up within
 * KEY_RELOAD_INTERVAL_MS. Reads the auth-server's environment (DATABASE_URL, DB_SCHEMA, KEYS_MASTER_KEY).
 *
 * `pnpm ponte rotate-keys --payload-signing <dir> [--cert <chain.pem> --key <key.pem>] [--grace <seconds>] [--prune]
 * [--list]`: rotates the bank's payload-signing key (the signed answers of the payments APIs) kept in `<dir>`
 * (packages/pki/src/payload-signing-rotation.ts): the new certificate is published at once (`<dir>/published`, which
 * the directory's PAYLOAD_SIGNING_CERT_FILES names), `<dir>/current.pem` (the gateway's PAYLOAD_SIGNING_CERT_FILE and
 * KEY_FILE; replicas reload it within PAYLOAD_SIGNING_RELOAD_MS) becomes the new key, and the previous key stays
 * published for the grace period, so answers it signed still verify. The new key is `--cert` + `--key` (a BRSEAL
 * certificate from the bank's CA, the key as encrypted PKCS#8), or, with ALLOW_DEV_DEFAULTS=true only, one the dev CA
 * issues. The key's passphrase is PAYLOAD_SIGNING_KEY_PASSPHRASE (the dev one with ALLOW_DEV_DEFAULTS).
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createPool } from '@ponte/platform'
import {
  DEV_PAYLOAD_SIGNING_PASSPHRASE, issueDevPayloadSigningKey, listPayloadSigningKeys, loadOrCreateDevPki, prunePayloadSigningKeys, rotatePayloadSigningKey,
} from '@ponte/pki'
import { loadConfig } from '../../services/auth-server/src/config.ts'
import { createKeyStore } from '../../services/auth-server/src/adapters/key-store.ts'
import { createProgress } from '../progress.ts'

export const summary = 'rotate the auth-server signing/encryption keys, or (--payload-signing) the bank\'s payload-signing key; old ones stay published for a grace period'

/** `--payload-signing <dir>`: the bank's payload-signing key folder. */
async function payloadSigning(dir: string, o: { grace: number; prune: boolean; list: boolean; cert?: string | undefined; key?: string | undefined }, env: NodeJS.ProcessEnv): Promise<void> {
  const list = async () => {
    for (const k of await listPayloadSigningKeys(dir)) console.log(`${k.kid}  ${k.status}${k.retireAt ? `  published until ${k.retireAt.toISOString()}` : ''}`)
  }
  if (o.list) return list()
  const pruned = await prunePayloadSigningKeys(dir)
  if (pruned.length) console.log(`no longer published (grace period over): ${pruned.join(', ')}`)
  if (o.prune) return
  const dev = env.ALLOW_DEV_DEFAULTS === 'true'
  const passphrase = env.PAYLOAD_SIGNING_KEY_PASSPHRASE ?? (dev ? DEV_PAYLOAD_SIGNING_PASSPHRASE : undefined)
  if (!passphrase) throw new Error('PAYLOAD_SIGNING_KEY_PASSPHRASE is required (the passphrase of the encrypted key)')
  let pem: string
  if (o.cert || o.key) {
    if (!o.cert || !o.key) throw new Error('--cert and --key go together')
    pem = `${(await readFile(o.cert, 'utf8')).trim()}\n${await readFile(o.key, 'utf8')}`
  } else {
    if (!dev) throw new Error('give the new key with --cert <chain.pem> --key <encrypted key.pem> (issuing one from the dev CA needs ALLOW_DEV_DEFAULTS=true)')
    console.warn('WARNING: ALLOW_DEV_DEFAULTS: the new payload-signing key is issued by the DEV CA')
    const pki = await loadOrCreateDevPki(env.PONTE_DEV_PKI_DIR ?? fileURLToPath(new URL('../../.pki', import.meta.url)))
    pem = await issueDevPayloadSigningKey(pki.ca, {
      orgId: env.BANK_ORGANISATION_ID ?? '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b', cnpj: env.BANK_CNPJ ?? '12345678000195', commonName: env.BANK_NAME ?? 'Banco Ponte Demo S.A.', passphrase,
    })
  }
  const { added, retiring, retireAt } = await rotatePayloadSigningKey(dir, pem, { passphrase, graceSeconds: o.grace })
  console.log(`signing with: ${added}`)
  if (retiring) console.log(`published until ${retireAt!.toISOString()}: ${retiring}`)
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      grace: { type: 'string', default: '86400' }, prune: { type: 'boolean', default: false }, list: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      'payload-signing': { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
    },
  })
  if (values.help) {
    console.log('usage: pnpm ponte rotate-keys [--grace <seconds, default 86400>] [--prune] [--list]')
    console.log('       pnpm ponte rotate-keys --payload-signing <dir> [--cert <chain.pem> --key <encrypted key.pem>] [--grace <seconds>] [--prune] [--list]')
    return
  }
  const grace = Number(values.grace)
  if (!Number.isInteger(grace) || grace < 0) throw new Error('--grace must be a whole number of seconds')
  if (values['payload-signing']) return payloadSigning(values['payload-signing'], { grace, prune: values.prune, list: values.list, cert: values.cert, key: values.key }, process.env)
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
    const progress = createProgress({ label: 'rotate-keys', unit: 'keys' })
    progress.phase('generating and storing the new signing and encryption keys')
    const { added, retiring } = await keys.rotate(grace).finally(() => progress.stop())
    console.log(`active now: ${added.join(', ')}`)
    if (retiring.length) console.log(`published until ${new Date(Date.now() + grace * 1000).toISOString()}: ${retiring.join(', ')}`)
  } finally {
    await pool.end()
  }
}
