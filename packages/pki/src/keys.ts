import { createHash, generateKeyPair, type JsonWebKey, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'

const generateKeyPairAsync = promisify(generateKeyPair)

/** A Node key pair (node:crypto `KeyObject`s); use `key.toCryptoKey(...)` when a WebCrypto key is needed. */
export interface RsaKeyPair {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
}

/** Public RSA JWK as published in a JWKS. */
export interface RsaPublicJwk {
  readonly kty: 'RSA'
  readonly n: string
  readonly e: string
  readonly kid: string
  readonly use: 'sig' | 'enc'
  readonly alg: string
  /** Certificate chain (base64 DER, leaf first), when the key has a certificate. */
  readonly x5c?: readonly string[]
  /** RFC 8705/7517 SHA-256 thumbprint of the leaf certificate, when the key has a certificate. */
  readonly 'x5t#S256'?: string
}

/** Private RSA JWK (the public members plus the private exponent and CRT parameters). */
export interface RsaPrivateJwk {
  readonly kty: 'RSA'
  readonly n: string
  readonly e: string
  readonly d: string
  readonly p: string
  readonly q: string
  readonly dp: string
  readonly dq: string
  readonly qi: string
  readonly kid: string
  readonly use: 'sig' | 'enc'
  readonly alg: string
}

/** A generated RSA key as JWKs and KeyObjects, with its key id. */
export interface RsaJwkPair extends RsaKeyPair {
  readonly kid: string
  readonly privateJwk: RsaPrivateJwk
  readonly publicJwk: RsaPublicJwk
}

/** Generates an RSA 2048 key pair (public exponent 65537) on the libuv thread pool. */
export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  return generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA public key. */
export function rsaJwkThumbprint(jwk: { readonly n?: string | undefined; readonly e?: string | undefined }): string {
  if (!jwk.n || !jwk.e) throw new Error('not an RSA JWK')
  return createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url')
}

/** Builds the private and public JWKs of an RSA key pair, with `kid` = RFC 7638 thumbprint. */
export function toRsaJwkPair(
  keys: RsaKeyPair,
  params: { readonly use: 'sig' | 'enc'; readonly alg: string; readonly x5c?: readonly string[]; readonly x5tS256?: string },
): RsaJwkPair {
  const priv: JsonWebKey = keys.privateKey.export({ format: 'jwk' })
  const kid = rsaJwkThumbprint(priv)
  const str = (v: unknown): string => {
    if (typeof v !== 'string') throw new Error('incomplete RSA private JWK')
    return v
  }
  const privateJwk: RsaPrivateJwk = {
    kty: 'RSA',
    n: str(priv.n),
    e: str(priv.e),
    d: str(priv.d),
    p: str(priv.p),
    q: str(priv.q),
    dp: str(priv.dp),
    dq: str(priv.dq),
    qi: str(priv.qi),
    kid,
    use: params.use,
    alg: params.alg,
  }
  const publicJwk: RsaPublicJwk = {
    kty: 'RSA',
    n: privateJwk.n,
    e: privateJwk.e,
    kid,
    use: params.use,
    alg: params.alg,
    ...(params.x5c ? { x5c: [...params.x5c] } : {}),
    ...(params.x5tS256 ? { 'x5t#S256': params.x5tS256 } : {}),
  }
  return { ...keys, kid, privateJwk, publicJwk }
}

/**
 * Generates an RSA 2048 encryption key for JWE (`use: "enc"`, `alg: "RSA-OAEP"`), as published in a client's or
 * server's JWKS. `kid` is the RFC 7638 thumbprint.
 */
export async function generateEncryptionKey(): Promise<RsaJwkPair> {
  return toRsaJwkPair(await generateRsaKeyPair(), { use: 'enc', alg: 'RSA-OAEP' })
}
