import { randomUUID, webcrypto } from 'node:crypto'
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

/** Issues a TPP's certificate and keys from the development CA `ca`. */
export async function createTestTpp(ca: DevCa, options: TestTppOptions = {}): Promise<TestTpp> {
  const orgId = options.orgId ?? randomUUID()
  const softwareId = options.softwareId ?? randomUUID()
  const cnpj = options.cnpj ?? '12345678000195'
  const certificate = await issueClientCertificate(ca, { orgId, softwareStatementId: softwareId, cnpj, commonName: options.commonName ?? 'tpp.example.com' }) as IssuedSigningCertificate
  const encryptionKey = await generateEncryptionKey()
  const trust = ca.chainPem
  const mtls = new Agent({ connect: { cert: certificate.chainPem, key: certificate.privateKeyPem, ca: trust } })
  const plain = new Agent({ connect: { ca: trust } })
  const withAgent = (dispatcher: Agent) => ((url: string | URL | Request, init?: RequestInit) =>
    undiciFetch(url as string, { ...(init as object), dispatcher } as never) as unknown as Promise<Response>) as typeof globalThis.fetch
  const fetch = withAgent(mtls)
  const signingKey = () => webcrypto.subtle.importKey('jwk', certificate.privateJwk as webcrypto.JsonWebKey, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign'])
  return {
    orgId,
    softwareId,
    cnpj,
    certificate,
    encryptionKey,
    jwks: { keys: [certificate.publicJwk as unknown as Record<string, unknown>, encryptionKey.publicJwk as unknown as Record<string, unknown>] },
    fetch,
    fetchWithoutCertificate: withAgent(plain),
    signingKey,
    async oidc(issuer, clientId, o = {}) {
      const key = await signingKey()
      const decryptionKey = await webcrypto.subtle.importKey('jwk', encryptionKey.privateJwk as webcrypto.JsonWebKey, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['decrypt', 'unwrapKey'])
      const config = await client.discovery(new URL(issuer), clientId, {
        id_token_signed_response_alg: 'PS256',
        token_endpoint_auth_signing_alg: 'PS256',
        id_token_encrypted_response_alg: 'RSA-OAEP',
        id_token_encrypted_response_enc: 'A256GCM',
        tls_client_certificate_bound_access_tokens: true,
      }, client.PrivateKeyJwt({ key, kid: certificate.kid }), {
        [client.customFetch]: o.fetch ?? fetch,
        execute: [client.useCodeIdTokenResponseType],
      } as client.DiscoveryRequestOptions)
      client.enableDecryptingResponses(config, ['A256GCM'], { key: decryptionKey, alg: 'RSA-OAEP', kid: encryptionKey.kid })
      return config
    },
    async close() {
      await Promise.all([mtls.close(), plain.close()])
    },
  }
}
