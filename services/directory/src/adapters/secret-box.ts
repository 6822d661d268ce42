import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const VERSION = 'v1'

/** Seals secrets at rest with AES-256-GCM under a 32-byte master key. */
export interface SecretBox {
  /** `v1.<iv>.<tag>.<ciphertext>` (base64url), bound to `context` (additional authenticated data). */
  seal(plaintext: string, context: string): string
  /** Opens a sealed value; throws when the key, the context or the value is wrong. */
  open(sealed: string, context: string): string
}

/** Creates a {@link SecretBox}; the key must be 32 bytes. */
export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) throw new Error('master key must be 32 bytes')
  const key = Buffer.from(masterKey)
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.')
    },
    open(sealed, context) {
      const [version, iv, tag, ct] = sealed.split('.')
      if (version !== VERSION || !iv || !tag || ct === undefined) throw new Error('not a sealed value')
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8')
    },
  }
}
