import { randomUUID, sign as rsaSign, constants, type KeyObject } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Logger } from '@ponte/platform'
import { loadOrCreateDevPayloadSigningKey, loadOrCreateDevPki, readPayloadSigningKey, type PayloadSigningKey } from '@ponte/pki'
import type { Config } from '../config.ts'

/** Signs the bank's answers (docs/regulation/security-profile.md#signed-messages-jws). */
export interface BankSigner {
  /** The bank's directory organisation id: the `iss` of every signed answer. */
  readonly organisationId: string
  /** Compact JWS (PS256, `typ` JWT, `kid` of the current key) of `claims` plus `iss`, `jti` and `iat`. */
  sign(claims: Record<string, unknown>, nowMs: number): string
  /** The `kid` answers are signed with now. */
  readonly kid: string
  /** Signs with this key from now on (a rotation, docs/decisions/gateway-signed-messages.md#rotation). */
  use(key: { kid: string; privateKey: KeyObject }): void
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }

/** A signer over the current payload-signing key (older keys are only published, never used). */
export function createBankSigner(o: { organisationId: string; kid: string; privateKey: KeyObject }): BankSigner {
  const headerOf = (kid: string) => Buffer.from(JSON.stringify({ alg: 'PS256', typ: 'JWT', kid })).toString('base64url')
  let current = { kid: o.kid, privateKey: o.privateKey, header: headerOf(o.kid) }
  return {
    organisationId: o.organisationId,
    get kid() { return current.kid },
    use(key) { current = { ...key, header: headerOf(key.kid) } },
    sign(claims, nowMs) {
      const { header, privateKey } = current
      const body = { ...claims, iss: o.organisationId, jti: randomUUID(), iat: Math.floor(nowMs / 1000) }
      const input = `${header}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`
      return `${input}.${rsaSign('sha256', Buffer.from(input), { key: privateKey, ...PSS }).toString('base64url')}`
    },
  }
}

/**
 * Follows a rotation of the configured key files (`pnpm ponte rotate-keys --payload-signing`): every `intervalMs` the
 * key file is read again when its modification time or size changed, and the signer switches to it once it opens and
 * matches its certificate (a half-written or wrong file is logged and the current key kept). Answers a stop function.
 */
export function watchPayloadSigningKey(signer: BankSigner, files: { certFile: string; keyFile: string; passphrase: string }, intervalMs: number, log: Logger): () => void {
  const stamp = async () => (await Promise.all([files.certFile, files.keyFile].map(async (f) => { const s = await stat(f); return `${s.mtimeMs}:${s.size}` }))).join('|')
  let last: Promise<string | undefined> = stamp().catch(() => undefined)
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void (async () => {
      const now = await stamp()
      if (now === (await last)) return
      const key = await readPayloadSigningKey(files)
      last = Promise.resolve(now)
      if (key.kid === signer.kid) return
      const previous = signer.kid
      signer.use(key)
      log.info({ kid: key.kid, previous }, 'payload-signing key rotated: signing with the new key')
    })().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'payload-signing key files changed but cannot be loaded; still signing with the current key'))
      .finally(() => { busy = false })
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** Loads the bank's current payload-signing key from its files, or (ALLOW_DEV_DEFAULTS) the dev PKI's, created once. */
export async function loadPayloadSigningKey(c: Config['signed'], allowDevDefaults: boolean, log: Logger): Promise<PayloadSigningKey> {
  if (c.certFile && c.keyFile && c.passphrase) return readPayloadSigningKey({ certFile: c.certFile, keyFile: c.keyFile, passphrase: c.passphrase })
  if (!allowDevDefaults || !c.passphrase) throw new Error('the payload-signing key is not configured (PAYLOAD_SIGNING_CERT_FILE, PAYLOAD_SIGNING_KEY_FILE, PAYLOAD_SIGNING_KEY_PASSPHRASE)')
  const pki = await loadOrCreateDevPki(c.devPkiDir ?? fileURLToPath(new URL('../../../../.pki', import.meta.url)))
  const { file } = await loadOrCreateDevPayloadSigningKey(pki.dir, pki.ca, { orgId: c.bank.organisationId, cnpj: c.bank.cnpj, commonName: c.bank.name, passphrase: c.passphrase })
  log.warn({ file }, 'WARNING: ALLOW_DEV_DEFAULTS: signing payment answers with the DEV payload-signing key; set PAYLOAD_SIGNING_CERT_FILE/KEY_FILE/KEY_PASSPHRASE in production')
  return readPayloadSigningKey({ certFile: file, keyFile: file, passphrase: c.passphrase })
}
