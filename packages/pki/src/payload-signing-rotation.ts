import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { payloadSigningJwk, readPayloadSigningKey } from './payload-signing.ts'

/**
 * The bank's payload-signing keys in one folder, rotated with overlap (docs/decisions/gateway-signed-messages.md):
 *   current.pem              the signing key: certificate chain + encrypted PKCS#8 key (the gateway's
 *                            PAYLOAD_SIGNING_CERT_FILE and PAYLOAD_SIGNING_KEY_FILE)
 *   published/<kid>.pem      the certificate chains the directory publishes in `application.jwks` (its
 *                            PAYLOAD_SIGNING_CERT_FILES names the folder): the current key and the retiring ones
 *   rotation.json            when each retiring key stops being published
 * A rotation publishes the new certificate first, then replaces current.pem in one rename; the previous key stays
 * published until its retirement time, so answers it signed still verify; a later run (or prune) removes it.
 */
export interface PayloadSigningKeyInfo { kid: string; status: 'active' | 'retiring'; retireAt?: Date }

interface Manifest { retiring: Record<string, string> }

/** A PEM text without its private key: what is published. */
const chainOnly = (pem: string) => pem.replace(/-----BEGIN ENCRYPTED PRIVATE KEY-----[\s\S]+?-----END ENCRYPTED PRIVATE KEY-----\s*/, '')

const CURRENT = 'current.pem'
const PUBLISHED = 'published'
const MANIFEST = 'rotation.json'

async function manifest(dir: string): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { retiring: {} }
    throw err
  }
}

/** Writes a file whole or not at all (temporary file, then rename in the same folder). */
async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode })
  await rename(tmp, file)
}

async function currentKid(dir: string): Promise<string | undefined> {
  try {
    return payloadSigningJwk(await readFile(join(dir, CURRENT), 'utf8')).kid
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The keys of the folder: the active one and those still published until their retirement time. */
export async function listPayloadSigningKeys(dir: string): Promise<PayloadSigningKeyInfo[]> {
  const active = await currentKid(dir)
  const m = await manifest(dir)
  const out: PayloadSigningKeyInfo[] = active ? [{ kid: active, status: 'active' }] : []
  for (const [kid, at] of Object.entries(m.retiring)) out.push({ kid, status: 'retiring', retireAt: new Date(at) })
  return out
}

/** Stops publishing the retiring keys whose time has come; answers their kids. */
export async function prunePayloadSigningKeys(dir: string, now = new Date()): Promise<string[]> {
  const m = await manifest(dir)
  const active = await currentKid(dir)
  const gone = Object.entries(m.retiring).filter(([kid, at]) => kid !== active && new Date(at).getTime() <= now.getTime()).map(([kid]) => kid)
  if (!gone.length) return []
  for (const kid of gone) {
    await rm(join(dir, PUBLISHED, `${kid}.pem`), { force: true })
    delete m.retiring[kid]
  }
  await writeAtomically(join(dir, MANIFEST), JSON.stringify(m, null, 2), 0o644)
  return gone
}

/**
 * Makes `pem` (certificate chain + encrypted PKCS#8 key, checked with `passphrase`) the signing key: published first,
 * then current; the previous key is published for `graceSeconds` more. Answers the new kid and the retiring one.
 */
export async function rotatePayloadSigningKey(dir: string, pem: string, o: { passphrase: string; graceSeconds: number; now?: Date }): Promise<{ added: string; retiring?: string; retireAt?: Date }> {
  await mkdir(join(dir, PUBLISHED), { recursive: true })
  // Refuse a key that does not open with the passphrase or does not match its certificate, before touching anything.
  const staged = join(dir, `${CURRENT}.new`)
  await writeFile(staged, pem, { mode: 0o600 })
  let kid: string
  try {
    kid = (await readPayloadSigningKey({ certFile: staged, keyFile: staged, passphrase: o.passphrase })).kid
  } catch (err) {
    await rm(staged, { force: true })
    throw err
  }
  const previous = await currentKid(dir)
  if (previous === kid) {
    await rm(staged, { force: true })
    throw new Error(`the key ${kid} is already the current one`)
  }
  await writeAtomically(join(dir, PUBLISHED, `${kid}.pem`), chainOnly(pem), 0o644)
  const m = await manifest(dir)
  const retireAt = new Date((o.now ?? new Date()).getTime() + o.graceSeconds * 1000)
  if (previous) {
    // Published under its kid (a first key installed by hand may not be there yet), until the grace period ends.
    await writeAtomically(join(dir, PUBLISHED, `${previous}.pem`), chainOnly(await readFile(join(dir, CURRENT), 'utf8')), 0o644)
    m.retiring[previous] = retireAt.toISOString()
  }
  delete m.retiring[kid]
  await writeAtomically(join(dir, MANIFEST), JSON.stringify(m, null, 2), 0o644)
  await rename(staged, join(dir, CURRENT))
  return { added: kid, ...(previous ? { retiring: previous, retireAt } : {}) }
}
