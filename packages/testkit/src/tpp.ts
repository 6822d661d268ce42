import { constants, createPrivateKey, randomUUID, sign, webcrypto, type JsonWebKey } from 'node:crypto'
import * as client from 'openid-client'
import { Agent, fetch as undiciFetch } from 'undici'
import { generateEncryptionKey, issueClientCertificate, type DevCa, type IssuedSigningCertificate, type RsaJwkPair } from '@ponte/pki'

/** A test TPP (data receiver / payment initiator): its BRCAC client certificate, keys and an mTLS HTTP client. */
export interface TestTpp {
  orgId: string
  softwareId: string
  cnpj: string
  /** BRCAC client certificate; its key also signs `private_key_jwt` assertions and request objects (PS256). */
  certificate: IssuedSigningCertificate
  /** The `use=enc` key id_tokens are encrypted to (RSA-OAEP). */
  encryptionKey: RsaJwkPair
  /** The public JWKS the directory publishes at the software's `software_jwks_uri`. */
  jwks: { keys: Array<Record<string, unknown>> }
  /** fetch over mTLS with this TPP's certificate (undici, trusting `ca`). */
  fetch: typeof globalThis.fetch
  /** fetch over TLS without a client certificate. */
  fetchWithoutCertificate: typeof globalThis.fetch
  /** The PS256 signing key as a WebCrypto key (openid-client). */
  signingKey(): Promise<webcrypto.CryptoKey>
  /**
   * A signed request body (docs/regulation/payments.md#signed-messages): a compact JWS, PS256, `kid` of the signing
   * key, with `aud` (the endpoint's URL), `iss` (the organisation id), `iat` (now), a fresh `jti`, the body's members
   * and `claims` (which override any of them).
   */
  signRequest(aud: string, body: Record<string, unknown>, claims?: Record<string, unknown>): string
  /**
   * An openid-client configuration of a registered client: private_key_jwt (PS256), mTLS, hybrid `code id_token`
   * and encrypted id_tokens decrypted with {@link encryptionKey}.
   */
  oidc(issuer: string, clientId: string, options?: { fetch?: typeof globalThis.fetch }): Promise<client.Configuration>
  close(): Promise<void>
}

/** Options of {@link createTestTpp}. */
export interface TestTppOptions {
  orgId?: string
  softwareId?: string
  cnpj?: string
  commonName?: string
}

/** Issues a TPP's certificate and keys from the development CA `ca`; the certificate key also signs (PS256). */
export async function createTestTpp(ca: DevCa, options: TestTppOptions = {}): Promise<TestTpp> {
  const orgId = options.orgId ?? randomUUID()
  const softwareId = options.softwareId ?? randomUUID()
  const cnpj = options.cnpj ?? '12345678000195'
  const certificate = await issueClientCertificate(ca, { orgId, softwareStatementId: softwareId, cnpj, commonName: options.commonName ?? 'tpp.example.com' }) as IssuedSigningCertificate
  const encryptionKey = await generateEncryptionKey()
  return tppClient({
    orgId, softwareId, cnpj, trustPem: ca.chainPem,
    transport: { chainPem: certificate.chainPem, privateKeyPem: certificate.privateKeyPem },
    signing: { privateJwk: certificate.privateJwk as unknown as Record<string, unknown>, kid: certificate.kid, publicJwk: certificate.publicJwk as unknown as Record<string, unknown> },
    encryption: { privateJwk: encryptionKey.privateJwk as unknown as Record<string, unknown>, kid: encryptionKey.kid, publicJwk: encryptionKey.publicJwk as unknown as Record<string, unknown> },
    certificate, encryptionKey,
  })
}

/** A TPP's key material as the (sandbox) directory hands it out: transport certificate, signing and encryption keys. */
export interface TppParts {
  orgId: string
  softwareId: string
  cnpj: string
  /** Trust anchors of the servers it calls (PEM). */
  trustPem: string
  transport: { chainPem: string; privateKeyPem: string }
  signing: { privateJwk: Record<string, unknown>; kid: string; publicJwk?: Record<string, unknown> }
  encryption: { privateJwk: Record<string, unknown>; kid: string; publicJwk?: Record<string, unknown> }
}

/** A TPP client from key material issued elsewhere (e.g. the sandbox directory's onboarding). */
export function createTppFromParts(parts: TppParts): TestTpp {
  return tppClient({ ...parts, certificate: undefined, encryptionKey: undefined })
}

function tppClient(p: TppParts & { certificate: IssuedSigningCertificate | undefined; encryptionKey: RsaJwkPair | undefined }): TestTpp {
  const { orgId, softwareId, cnpj } = p
  const certificate = p.certificate ?? ({ kid: p.signing.kid, privateJwk: p.signing.privateJwk, chainPem: p.transport.chainPem, privateKeyPem: p.transport.privateKeyPem } as unknown as IssuedSigningCertificate)
  const encryptionKey = p.encryptionKey ?? ({ kid: p.encryption.kid, privateJwk: p.encryption.privateJwk, publicJwk: p.encryption.publicJwk } as unknown as RsaJwkPair)
  const trust = p.trustPem
  const mtls = new Agent({ connect: { cert: p.transport.chainPem, key: p.transport.privateKeyPem, ca: trust } })
  const plain = new Agent({ connect: { ca: trust } })
  const withAgent = (dispatcher: Agent) => ((url: string | URL | Request, init?: RequestInit) =>
    undiciFetch(url as string, { ...(init as object), dispatcher } as never) as unknown as Promise<Response>) as typeof globalThis.fetch
  const fetch = withAgent(mtls)
  const signingKeyObject = createPrivateKey({ key: p.signing.privateJwk as JsonWebKey, format: 'jwk' })
  const signingKey = () => webcrypto.subtle.importKey('jwk', { ...(p.signing.privateJwk as webcrypto.JsonWebKey), alg: 'PS256' }, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign'])
  return {
    orgId,
    softwareId,
    cnpj,
    certificate,
    encryptionKey,
    jwks: { keys: [p.signing.publicJwk, p.encryption.publicJwk].filter((k): k is Record<string, unknown> => k !== undefined) },
    fetch,
    fetchWithoutCertificate: withAgent(plain),
    signingKey,
    signRequest(aud, body, claims = {}) {
      const part = (x: unknown) => Buffer.from(JSON.stringify(x)).toString('base64url')
      const payload = { aud, iss: orgId, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...body, ...claims }
      const input = `${part({ alg: 'PS256', typ: 'JWT', kid: p.signing.kid })}.${part(payload)}`
      const signature = sign('sha256', Buffer.from(input), { key: signingKeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
      return `${input}.${signature.toString('base64url')}`
    },
    async oidc(issuer, clientId, o = {}) {
      const key = await signingKey()
      const decryptionKey = await webcrypto.subtle.importKey('jwk', { ...(p.encryption.privateJwk as webcrypto.JsonWebKey), alg: 'RSA-OAEP', use: undefined, key_ops: undefined }, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['decrypt', 'unwrapKey'])
      const config = await client.discovery(new URL(issuer), clientId, {
        id_token_signed_response_alg: 'PS256',
        token_endpoint_auth_signing_alg: 'PS256',
        id_token_encrypted_response_alg: 'RSA-OAEP',
        id_token_encrypted_response_enc: 'A256GCM',
        tls_client_certificate_bound_access_tokens: true,
      }, client.PrivateKeyJwt({ key, kid: p.signing.kid }), {
        [client.customFetch]: o.fetch ?? fetch,
        execute: [client.useCodeIdTokenResponseType],
      } as client.DiscoveryRequestOptions)
      client.enableDecryptingResponses(config, ['A256GCM'], { key: decryptionKey, alg: 'RSA-OAEP', kid: p.encryption.kid })
      return config
    },
    async close() {
      await Promise.all([mtls.close(), plain.close()])
    },
  }
}
