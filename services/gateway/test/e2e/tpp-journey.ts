// A TPP's way into the stack of test/e2e/stack.ts, as the README's journey runs it: onboarding in the sandbox directory
// (organisation, software statement, a fresh SSA over mTLS), DCR at the auth-server, and a customer who logs in and
// authorises a consent in the journey pages (PAR with a signed request object, PKCE, the code, the token).
import * as oidc from 'openid-client'
import { Agent, fetch as undiciFetch, request } from 'undici'
import { createTppFromParts, type TestTpp } from '@ponte/testkit'
import { Browser, checkboxValues, formValue } from '../../../auth-server/test/support/harness.ts'
import type { E2eStack } from './stack.ts'

export const DEMO_CPF = '76109277673'
export const DEMO_PASSWORD = 'P@ssw0rd-demo'
export const REDIRECT = 'https://tpp.example.com.br/callback'

/** An onboarded TPP: its keys, organisation and software statement, and a way to get a fresh SSA. */
export interface OnboardedTpp {
  tpp: TestTpp
  organisationId: string
  softwareStatementId: string
  signingKid: string
  ssa(): Promise<string>
}

/** Creates an organisation with `roles` and a software statement in the sandbox directory; the TPP built from them. */
export async function onboardTpp(stack: E2eStack, name: string, roles: string[] = ['DADOS']): Promise<OnboardedTpp> {
  const tls = new Agent({ connect: { ca: stack.pki.caBundlePem } })
  try {
    const post = async (path: string, body: unknown) => {
      const res = await request(`${stack.sandboxUrl}${path}`, { method: 'POST', dispatcher: tls, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const json = await res.body.json() as Record<string, unknown>
      if (res.statusCode !== 201) throw new Error(`sandbox ${path}: ${res.statusCode} ${JSON.stringify(json)}`)
      return json
    }
    const organisationId = String((await post('/sandbox/organisations', { name, roles })).organisationId)
    const ss = await post(`/sandbox/organisations/${organisationId}/softwarestatements`, { clientName: `App ${name}`, redirectUris: [REDIRECT], webhookUris: ['https://tpp.example.com.br/webhook'] }) as {
      softwareStatementId: string
      transport: { chainPem: string; privateKeyPem: string }
      signing: { privateJwk: Record<string, unknown> }; encryption: { privateJwk: Record<string, unknown> }
    }
    const signingKid = String(ss.signing.privateJwk.kid)
    const tpp = createTppFromParts({
      orgId: organisationId, softwareId: ss.softwareStatementId, cnpj: '12345678000195', trustPem: stack.pki.caBundlePem, transport: ss.transport,
      signing: { privateJwk: ss.signing.privateJwk, kid: signingKid },
      encryption: { privateJwk: ss.encryption.privateJwk, kid: String(ss.encryption.privateJwk.kid) },
    })
    const ssa = async () => {
      const res = await tpp.fetch(`${stack.sandboxUrl}/organisations/${organisationId}/softwarestatements/${ss.softwareStatementId}/assertion`)
      const text = await res.text()
      if (res.status !== 200) throw new Error(`SSA: ${res.status} ${text}`)
      return text
    }
    return { tpp, organisationId, softwareStatementId: ss.softwareStatementId, signingKid, ssa }
  } finally {
    await tls.close()
  }
}

/** The registration DCR answers (RFC 7591 plus the registration management fields). */
export type Registration = Record<string, string> & { client_id: string; registration_access_token: string }

/** Registers the TPP at the auth-server with a fresh SSA. */
export async function registerClient(stack: E2eStack, t: OnboardedTpp): Promise<Registration> {
  const res = await t.tpp.fetch(`${stack.authIssuer}/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ software_statement: await t.ssa(), redirect_uris: [REDIRECT], webhook_uris: ['https://tpp.example.com.br/webhook'] }),
  })
  const body = await res.json() as Registration
  if (res.status !== 201) throw new Error(`DCR: ${res.status} ${JSON.stringify(body)}`)
  return body
}

/** The authorization URL (after PAR with a signed request object) of a consent, and what the code exchange needs. */
export async function pushAuthorisation(t: OnboardedTpp, config: oidc.Configuration, consentId: string, scopes: string) {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
    redirect_uri: REDIRECT, scope: `openid consent:${consentId} ${scopes}`,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
    response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
  }, { key: await t.tpp.signingKey(), kid: t.signingKid })
  const url = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)
  return { url, verifier, state, nonce }
}

/** A customer's browser: TLS trusting the dev CA, no client certificate, redirects followed by hand. */
export function customerBrowser(stack: E2eStack): { browser: Browser; close(): Promise<void> } {
  const agent = new Agent({ connect: { ca: stack.pki.caBundlePem } })
  const browser = new Browser(((url: string, init?: RequestInit) =>
    undiciFetch(url, { redirect: 'manual', ...(init as object), dispatcher: agent } as never)) as unknown as typeof globalThis.fetch)
  return { browser, close: () => agent.close() }
}

/** The demo customer logs in, authorises every resource offered, and the TPP exchanges the code for tokens. */
export async function authoriseDataConsent(stack: E2eStack, t: OnboardedTpp, config: oidc.Configuration, consentId: string, scopes: string) {
  const auth = await pushAuthorisation(t, config, consentId, scopes)
  const { browser, close } = customerBrowser(stack)
  try {
    const loginPage = await browser.follow(auth.url.toString(), REDIRECT)
    if (loginPage.status !== 200) throw new Error(`login page: ${loginPage.status} ${loginPage.body}`)
    const login = await browser.request(`${loginPage.url}/login`, { form: { csrf: formValue(loginPage.body, 'csrf'), cpf: DEMO_CPF, senha: DEMO_PASSWORD } })
    if (login.status !== 303) throw new Error(`login: ${login.status} ${login.body}`)
    const review = await browser.follow(login.location!, REDIRECT)
    const offered = checkboxValues(review.body)
    const confirm = await browser.request(`${review.url}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', resource: offered } })
    if (confirm.status !== 303) throw new Error(`confirm: ${confirm.status} ${confirm.body}`)
    const done = await browser.follow(confirm.location!, REDIRECT)
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: auth.verifier, expectedState: auth.state, expectedNonce: auth.nonce })
    return { tokens, offered }
  } finally {
    await close()
  }
}
