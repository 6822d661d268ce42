import { randomUUID, sign as rsaSign, constants, type KeyObject } from 'node:crypto'
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
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }

/** A signer over the current payload-signing key (older keys are only published, never used). */
export function createBankSigner(o: { organisationId: string; kid: string; privateKey: KeyObject }): BankSigner {
  const header = Buffer.from(JSON.stringify({ alg: 'PS256', typ: 'JWT', kid: o.kid })).toString('base64url')
  return {
    organisationId: o.organisationId,
    sign(claims, nowMs) {
      const body = { ...claims, iss: o.organisationId, jti: randomUUID(), iat: Math.floor(nowMs / 1000) }
      const input = `${header}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`
      return `${input}.${rsaSign('sha256', Buffer.from(input), { key: o.privateKey, ...PSS }).toString('base64url')}`
    },
  }
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
