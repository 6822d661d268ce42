import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/**
 * Authenticated encryption of secrets at rest (the auth-server's private keys) with a 256-bit master key:
 * AES-256-GCM, a random 96-bit IV per value, and associated data binding the ciphertext to its row (e.g. the key id),
 * so a sealed value moved to another row does not open. Format: `v1.<iv>.<ciphertext>.<tag>` (base64url).
 */
export function seal(masterKey: Buffer, plaintext: string, associatedData: string): string {
  assertKey(masterKey)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv)
  cipher.setAAD(Buffer.from(associatedData, 'utf8'))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return ['v1', iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
}

/** Opens a value sealed by {@link seal}; throws when the key, the data or the associated data differ. */
export function open(masterKey: Buffer, sealed: string, associatedData: string): string {
  assertKey(masterKey)
  const [version, iv, ct, tag] = sealed.split('.')
  if (version !== 'v1' || !iv || !ct || !tag) throw new Error('sealed value has an unknown format')
  const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64url'))
  decipher.setAAD(Buffer.from(associatedData, 'utf8'))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8')
}

function assertKey(key: Buffer): void {
  if (key.length !== 32) throw new Error('the master key must be 32 bytes (AES-256)')
}
