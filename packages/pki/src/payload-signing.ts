import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DevCa } from './ca.ts'
import { issueSigningCertificate } from './issue.ts'
import { pemToDer, splitPemBundle, x5tS256 } from './pem.ts'

/** File of the development payload-signing key inside a dev PKI folder: certificate chain + encrypted PKCS#8 key. */
export const DEV_PAYLOAD_SIGNING_FILE = 'bank-payload-signing.pem'

/** Passphrase of the development payload-signing key (development only; both the gateway and the directory use it). */
export const DEV_PAYLOAD_SIGNING_PASSPHRASE = 'ponte-development-payload-signing'

/** A public payload-signing key as the bank publishes it in its `application.jwks`. */
export interface PayloadSigningJwk {
  kty: 'RSA'
  n: string
  e: string
  kid: string
  use: 'sig'
  alg: 'PS256'
  x5c: string[]
  'x5t#S256': string
}

/** A loaded payload-signing key: the certificate chain, the private key, and the public JWK. */
export interface PayloadSigningKey {
  /** The leaf certificate's SHA-256 thumbprint (`x5t#S256`): derived from the certificate, so every reader agrees. */
  kid: string
  privateKey: KeyObject
  publicJwk: PayloadSigningJwk
}

/** The public JWK (with `x5c` and `x5t#S256`, `kid` = `x5t#S256`) of a certificate chain's leaf. */
export function payloadSigningJwk(chainPem: string): PayloadSigningJwk {
  const certs = splitPemBundle(chainPem)
  if (certs.length === 0) throw new Error('no certificate in the payload-signing certificate file')
  const leaf = new X509Certificate(certs[0]!)
  const jwk = leaf.publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string }
  if (jwk.kty !== 'RSA') throw new Error('the payload-signing certificate must hold an RSA key (PS256)')
  const thumb = x5tS256(certs[0]!)
  return { kty: 'RSA', n: jwk.n, e: jwk.e, kid: thumb, use: 'sig', alg: 'PS256', x5c: certs.map((c) => pemToDer(c).toString('base64')), 'x5t#S256': thumb }
}

/**
 * Reads a payload-signing key: the certificate chain (PEM, leaf first) and the private key as an encrypted PKCS#8 PEM
 * (`ENCRYPTED PRIVATE KEY`, decrypted with `passphrase`). Both may live in one file. Refuses a key that does not match
 * the certificate.
 */
export async function readPayloadSigningKey(o: { certFile: string; keyFile: string; passphrase: string }): Promise<PayloadSigningKey> {
  const certText = await readFile(o.certFile, 'utf8')
  const keyText = await readFile(o.keyFile, 'utf8')
  const keyPem = /-----BEGIN ENCRYPTED PRIVATE KEY-----[\s\S]+?-----END ENCRYPTED PRIVATE KEY-----/.exec(keyText)?.[0]
  if (!keyPem) throw new Error(`${o.keyFile}: no ENCRYPTED PRIVATE KEY block (the payload-signing key must be encrypted at rest)`)
  const privateKey = createPrivateKey({ key: keyPem, format: 'pem', passphrase: o.passphrase })
  const publicJwk = payloadSigningJwk(certText)
  const fromKey = createPublicKey(privateKey).export({ format: 'jwk' }) as { n: string }
  if (fromKey.n !== publicJwk.n) throw new Error(`${o.keyFile}: the private key does not match the certificate ${o.certFile}`)
  return { kid: publicJwk.kid, privateKey, publicJwk }
}

/**
 * Development only: the bank's payload-signing key in the dev PKI folder, issued by its CA (a BRSEAL-shaped
 * certificate) on first use and written once (exclusive create, so concurrent starters agree on one key).
 */
export async function loadOrCreateDevPayloadSigningKey(
  dir: string,
  ca: DevCa,
  o: { orgId: string; cnpj: string; commonName: string; passphrase: string },
): Promise<{ file: string; created: boolean }> {
  const file = join(dir, DEV_PAYLOAD_SIGNING_FILE)
  try {
    await readFile(file)
    return { file, created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const pem = await issueDevPayloadSigningKey(ca, o)
  try {
    await writeFile(file, pem, { flag: 'wx', mode: 0o600 })
    return { file, created: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { file, created: false }
    throw err
  }
}

/**
 * The public keys to publish (`application.jwks`) from `entries`: certificate chain files, or folders whose `*.pem`
 * files are each a chain (the `published/` folder `pnpm ponte rotate-keys --payload-signing` keeps). Read on each call,
 * so a rotation shows without a restart; one JWK per `kid`.
 */
export async function readPublishedSigningKeys(entries: readonly string[]): Promise<PayloadSigningJwk[]> {
  const files: string[] = []
  for (const entry of entries) {
    if ((await stat(entry)).isDirectory()) files.push(...(await readdir(entry)).filter((f) => f.endsWith('.pem')).sort().map((f) => join(entry, f)))
    else files.push(entry)
  }
  const byKid = new Map<string, PayloadSigningJwk>()
  for (const f of files) {
    const jwk = payloadSigningJwk(await readFile(f, 'utf8'))
    byKid.set(jwk.kid, jwk)
  }
  return [...byKid.values()]
}

/** Development only: a new payload-signing key issued by the dev CA, as one PEM text (chain + encrypted PKCS#8 key). */
export async function issueDevPayloadSigningKey(ca: DevCa, o: { orgId: string; cnpj: string; commonName: string; passphrase: string }): Promise<string> {
  const issued = await issueSigningCertificate(ca, { orgId: o.orgId, cnpj: o.cnpj, commonName: o.commonName })
  const encrypted = createPrivateKey(issued.privateKeyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: o.passphrase }) as string
  return `${issued.chainPem.trim()}\n${encrypted}`
}
