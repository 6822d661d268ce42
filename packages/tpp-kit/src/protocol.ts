/**
 * The protocol pieces a TPP needs, on public endpoints only: the directory's participants list and SSA assertion,
 * the bank's discovery document (openid-client), private_key_jwt and mTLS-bound tokens, PAR with a signed request
 * object and PKCE, signed payment bodies (PS256 JWS) and the bank's signed answers.
 */
import { randomUUID, webcrypto } from 'node:crypto'
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, importJWK, SignJWT, type JSONWebKeySet } from 'jose'
import * as oidc from 'openid-client'
import { Agent, fetch as undiciFetch } from 'undici'
import type { BankInfo, Bundle } from './bundle.ts'

/** HTTP clients of a bundle: with its transport certificate (mTLS) and without (the bank's public keys, the directory's list). */
export interface Http {
  mtls: typeof globalThis.fetch
  plain: typeof globalThis.fetch
  close(): Promise<void>
}

export function httpClients(bundle: Bundle): Http {
  const mtls = new Agent({ connect: { cert: bundle.transport.chainPem, key: bundle.transport.privateKeyPem, ca: bundle.caBundlePem }, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const plain = new Agent({ connect: { ca: bundle.caBundlePem }, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const via = (dispatcher: Agent) => (async (url: string | URL | Request, init?: RequestInit) => {
    try {
      return await (undiciFetch(url as string, { ...(init as object), dispatcher } as never) as unknown as Promise<Response>)
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message
      throw new Error(`cannot reach ${String(url instanceof Request ? url.url : url)}: ${cause ?? (err as Error).message}`, { cause: err })
    }
  }) as typeof globalThis.fetch
  return { mtls: via(mtls), plain: via(plain), close: async () => { await Promise.all([mtls.close(), plain.close()]) } }
}

async function json(res: Response, what: string): Promise<unknown> {
  const text = await res.text()
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`)
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${what} answered a body that is not JSON`)
  }
}

/** A fresh SSA from the directory, over mTLS with the transport certificate (the directory's assertion endpoint). */
export async function freshSsa(bundle: Bundle, http: Http): Promise<string> {
  const url = `${bundle.directory}/organisations/${encodeURIComponent(bundle.organisationId)}/softwarestatements/${encodeURIComponent(bundle.softwareStatementId)}/assertion`
  const res = await http.mtls(url)
  const text = (await res.text()).trim()
  if (res.status !== 200) throw new Error(`the directory refused the SSA assertion (${res.status}): ${text.slice(0, 300)}`)
  return text
}

interface Participant {
  OrganisationId: string
  OrganisationName?: string
  RegistrationNumber?: string
  AuthorisationServers?: Array<{
    OpenIDDiscoveryDocument?: string
    PayloadSigningCertLocationUri?: string
    ApiResources?: Array<{ ApiFamilyType: string; ApiVersion: number | string; ApiDiscoveryEndpoints?: Array<{ ApiEndpoint: string }> }>
  }>
}

/** The base URL of an API from its discovery endpoints: the common prefix `/open-banking/<api>/v<n>`. */
function apiBase(endpoints: string[]): string | undefined {
  for (const e of endpoints) {
    const m = /^(https:\/\/[^/]+\/open-banking\/[^/]+\/v\d+)(\/|$)/.exec(decodeURI(e))
    if (m) return m[1]
  }
  return undefined
}

/**
 * The bank (an authorisation server in the participants list), and the TPP's own CNPJ (its `RegistrationNumber`).
 * With several banks in the list, `bankId` picks one by organisation id or name.
 */
export async function discoverBank(bundle: Bundle, http: Http, bankId?: string): Promise<{ bank: BankInfo; ownCnpj?: string }> {
  const list = await json(await http.plain(`${bundle.directory}/participants`), 'the directory participants list') as Participant[]
  if (!Array.isArray(list)) throw new Error('the directory participants list is not an array')
  const banks = list.filter((p) => p.OrganisationId !== bundle.organisationId && p.AuthorisationServers?.some((a) => a.OpenIDDiscoveryDocument))
  const chosen = bankId ? banks.filter((b) => b.OrganisationId === bankId || b.OrganisationName === bankId) : banks
  if (chosen.length === 0) throw new Error(bankId ? `no bank "${bankId}" with an authorisation server in the participants list` : 'no bank with an authorisation server in the participants list')
  if (chosen.length > 1) throw new Error(`several banks in the participants list; pick one with --bank: ${chosen.map((b) => `${b.OrganisationId} (${b.OrganisationName ?? ''})`).join(', ')}`)
  const p = chosen[0]!
  const as = p.AuthorisationServers!.find((a) => a.OpenIDDiscoveryDocument)!
  const apis: Record<string, string> = {}
  for (const r of as.ApiResources ?? []) {
    const base = apiBase((r.ApiDiscoveryEndpoints ?? []).map((e) => e.ApiEndpoint))
    if (base) apis[`${r.ApiFamilyType}@${Number(r.ApiVersion)}`] = base
  }
  const own = list.find((o) => o.OrganisationId === bundle.organisationId)
  return {
    bank: {
      organisationId: p.OrganisationId,
      name: p.OrganisationName ?? p.OrganisationId,
      discoveryUrl: as.OpenIDDiscoveryDocument!,
      payloadSigningJwksUri: as.PayloadSigningCertLocationUri ?? '',
      apis,
    },
    ...(own?.RegistrationNumber ? { ownCnpj: own.RegistrationNumber } : {}),
  }
}

/** The issuer of a discovery document URL (`<issuer>/.well-known/openid-configuration`). */
export function issuerOf(discoveryUrl: string): URL {
  return new URL(discoveryUrl.replace(/\/\.well-known\/openid-configuration$/, ''))
}

/** The bank's server metadata (discovery), fetched with the bundle's trust anchors. */
export async function serverMetadata(bank: BankInfo, http: Http): Promise<oidc.ServerMetadata> {
  const config = await oidc.discovery(issuerOf(bank.discoveryUrl), 'unregistered', undefined, oidc.None(), { [oidc.customFetch]: http.mtls } as oidc.DiscoveryRequestOptions)
  return config.serverMetadata()
}

const signingKey = (bundle: Bundle) =>
  webcrypto.subtle.importKey('jwk', { ...(bundle.signing.privateJwk as webcrypto.JsonWebKey), alg: 'PS256', use: undefined, key_ops: undefined }, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign'])

/**
 * openid-client's configuration of the registered client: private_key_jwt (PS256), mTLS (certificate-bound tokens),
 * the hybrid `code id_token` response and id_tokens encrypted to the bundle's encryption key (RSA-OAEP, A256GCM).
 */
export async function clientConfig(bundle: Bundle, bank: BankInfo, clientId: string, http: Http): Promise<oidc.Configuration> {
  const config = await oidc.discovery(issuerOf(bank.discoveryUrl), clientId, {
    id_token_signed_response_alg: 'PS256',
    token_endpoint_auth_signing_alg: 'PS256',
    id_token_encrypted_response_alg: 'RSA-OAEP',
    id_token_encrypted_response_enc: 'A256GCM',
    tls_client_certificate_bound_access_tokens: true,
  }, oidc.PrivateKeyJwt({ key: await signingKey(bundle), kid: bundle.signing.kid }), {
    [oidc.customFetch]: http.mtls,
    execute: [oidc.useCodeIdTokenResponseType],
  } as oidc.DiscoveryRequestOptions)
  const decryptionKey = await webcrypto.subtle.importKey('jwk', { ...(bundle.encryption.privateJwk as webcrypto.JsonWebKey), alg: 'RSA-OAEP', use: undefined, key_ops: undefined }, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['decrypt', 'unwrapKey'])
  oidc.enableDecryptingResponses(config, ['A256GCM'], { key: decryptionKey, alg: 'RSA-OAEP', kid: bundle.encryption.kid })
  return config
}

/** PAR with a request object signed by the bundle's key and PKCE S256; the URL to open in a browser and what `callback` checks. */
export async function pushAuthorisation(bundle: Bundle, config: oidc.Configuration, o: { redirectUri: string; scope: string; claims?: Record<string, unknown> }): Promise<{ url: URL; state: string; nonce: string; codeVerifier: string }> {
  const codeVerifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
    redirect_uri: o.redirectUri, scope: o.scope, response_mode: 'fragment',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256', state, nonce,
    claims: JSON.stringify({ id_token: { acr: { essential: true }, ...o.claims } }),
  }, { key: await signingKey(bundle), kid: bundle.signing.kid })
  const url = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)
  return { url, state, nonce, codeVerifier }
}

/**
 * A signed request body (docs/regulation/payments.md#signed-request-and-response-bodies): compact JWS, PS256, `typ`
 * JWT, `kid` of the bundle's signing key; `aud` the endpoint URL, `iss` the organisation, `iat` now and a fresh `jti`.
 */
export async function signBody(bundle: Bundle, aud: string, body: Record<string, unknown>): Promise<string> {
  const key = await importJWK({ ...bundle.signing.privateJwk, alg: 'PS256' }, 'PS256')
  return new SignJWT({ ...body })
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', kid: bundle.signing.kid })
    .setAudience(aud).setIssuer(bundle.organisationId).setIssuedAt().setJti(randomUUID())
    .sign(key)
}

/** Verifies a signed answer with the bank's published payload-signing keys; its claims. */
export async function verifyAnswer(jws: string, bank: BankInfo, http: Http): Promise<{ kid?: string; claims: Record<string, unknown> }> {
  if (!bank.payloadSigningJwksUri) throw new Error('the participants list names no payload-signing keystore for the bank')
  const jwks = await json(await http.plain(bank.payloadSigningJwksUri), "the bank's payload-signing keystore") as JSONWebKeySet
  const header = decodeProtectedHeader(jws)
  if (header.alg !== 'PS256') throw new Error(`the answer is signed with ${String(header.alg)}, not PS256`)
  const { payload } = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: ['PS256'] }).catch((err: Error) => {
    throw new Error(`the answer's signature does not verify with the bank's published keys (${err.message})`)
  })
  return { ...(header.kid ? { kid: header.kid } : {}), claims: JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown> }
}
