// A TPP's whole paths against a running stack (test/e2e/stack.ts), as plain functions that throw on any unexpected
// answer: a data consent authorised in the journey pages, and a Pix payment authorised with LoA3 and settled. The soak
// (bench/soak.ts) drives them in a loop beside its steady load; the e2e tests check each step in detail themselves.
import { randomBytes, randomUUID } from 'node:crypto'
import * as oidc from 'openid-client'
import { totpCode, type TestTpp } from '@ponte/testkit'
import { Browser, checkboxValues, formValue, radioValues } from '../../../auth-server/test/support/harness.ts'
import type { E2eStack } from './stack.ts'

export const DEMO_PASSWORD = 'P@ssw0rd-demo'
/** The demo customers' documented TOTP secret (README). */
export const DEMO_TOTP_SECRET = 'PONTEDEMOTOTP234'
/** The demo bank's ISPB (PIX_ISPB's default). */
const ISPB = '99999001'
/** The demo shop's Pix key and account (README's Pix keys table). */
export const DEMO_SHOP = { proxy: 'pix@lojaexemplo.com.br', cnpj: '11444777000161', name: 'Loja Exemplo Ltda', account: { ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' } }

/** Who is calling: the onboarded TPP, its OpenID client configuration and the redirect URI it registered. */
export interface TppSession { stack: E2eStack; tpp: TestTpp; config: oidc.Configuration; redirectUri: string }

/** Today in Brasília (UTC−3, no daylight saving). */
export const brasiliaDay = () => new Date(Date.now() - 3 * 3_600_000).toISOString().slice(0, 10)

function check(condition: boolean, what: string, detail: unknown): asserts condition {
  if (!condition) throw new Error(`${what}: ${typeof detail === 'string' ? detail.slice(0, 500) : JSON.stringify(detail).slice(0, 500)}`)
}

/** The next TOTP code of each customer that the bank has not accepted yet (each step's code is accepted once). */
export class TotpSteps {
  private readonly last = new Map<string, number>()
  async next(cpf: string): Promise<string> {
    const step = Math.floor(Date.now() / 30_000)
    const next = Math.max(step, (this.last.get(cpf) ?? 0) + 1)
    if (next > step + 1) await new Promise((r) => setTimeout(r, (next - 1) * 30_000 - Date.now() + 200))
    this.last.set(cpf, next)
    return totpCode(DEMO_TOTP_SECRET, new Date(next * 30_000))
  }
}

/** PAR with a signed request object and PKCE, the journey pages as the customer's browser, then the code exchange. */
type Answer = Awaited<ReturnType<Browser['request']>>

async function authorise(s: TppSession, scope: string, cpf: string, steps: (browser: Browser, base: string, csrf: string, login: Answer) => Promise<string>) {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const jar = await oidc.buildAuthorizationUrlWithJAR(s.config, {
    redirect_uri: s.redirectUri, scope, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    state, nonce, response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
  }, { key: await s.tpp.signingKey(), kid: s.tpp.certificate.kid })
  const authUrl = await oidc.buildAuthorizationUrlWithPAR(s.config, jar.searchParams)
  const { browser, close } = Browser.trusting(s.stack.pki.caBundlePem)
  try {
    const loginPage = await browser.follow(authUrl.toString(), s.redirectUri)
    check(loginPage.status === 200, 'login page', loginPage.body)
    const base = loginPage.url.replace(/\/$/, '')
    const csrf = formValue(loginPage.body, 'csrf')
    const login = await browser.request(`${base}/login`, { form: { csrf, cpf, senha: DEMO_PASSWORD } })
    const location = await steps(browser, base, csrf, login)
    const done = await browser.follow(location, s.redirectUri)
    check(done.url.startsWith(s.redirectUri), 'redirect to the TPP', done.url)
    return await oidc.authorizationCodeGrant(s.config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
  } finally {
    await close()
  }
}

/** Submits the review page's `Autorizar` with `fields`; the location it redirects to. */
async function confirm(browser: Browser, review: { url: string; body: string }, fields: Record<string, string | string[]>) {
  const res = await browser.request(`${review.url.replace(/\/$/, '')}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', ...fields } })
  check(res.status === 303, 'confirm', res.body)
  return res.location!
}

/** A data consent for `cpf` with `permissions`, created through the gateway and authorised; its tokens. */
export async function dataJourney(s: TppSession, cpf: string, permissions: string[], scope = 'accounts resources') {
  const cc = await oidc.clientCredentialsGrant(s.config, { scope: 'consents' })
  const created = await s.tpp.fetch(`${s.stack.gatewayUrl}/open-banking/consents/v3/consents`, {
    method: 'POST', headers: { authorization: `Bearer ${cc.access_token}`, 'x-fapi-interaction-id': randomUUID(), 'content-type': 'application/json' },
    body: JSON.stringify({ data: { loggedUser: { document: { identification: cpf, rel: 'CPF' } }, permissions } }),
  })
  const body = await created.json() as { data: { consentId: string } }
  check(created.status === 201, 'consent creation', body)
  const consentId = body.data.consentId
  const tokens = await authorise(s, `openid consent:${consentId} ${scope}`, cpf, async (browser, _base, _csrf, login) => {
    check(login.status === 303, `login answered ${login.status}`, /class="(?:erro|error)[^"]*"[^>]*>([^<]*)/.exec(login.body)?.[1] ?? login.body.slice(-300))
    const review = await browser.follow(login.location!, s.redirectUri)
    check(review.status === 200, 'review page', review.body)
    return confirm(browser, review, { resource: checkboxValues(review.body) })
  })
  return { consentId, tokens }
}

/** A payment consent paying the demo shop `amount` today by its Pix key, authorised with LoA3, then paid; its ids. */
export async function pixPayment(s: TppSession, o: { version: 'v4' | 'v5'; cpf: string; amount: string; totp: TotpSteps }) {
  const base = `${s.stack.gatewayUrl}/open-banking/payments/${o.version}`
  const post = async (url: string, token: string, data: unknown) => {
    const res = await s.tpp.fetch(url, {
      method: 'POST', body: s.tpp.signRequest(url, { data }),
      headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID(), 'content-type': 'application/jwt', 'x-idempotency-key': randomUUID() },
    })
    const text = await res.text()
    check(res.status === 201, `POST ${url}`, `${res.status} ${text}`)
    return JSON.parse(Buffer.from(text.split('.')[1]!, 'base64url').toString('utf8')) as { data: unknown }
  }
  const cc = await oidc.clientCredentialsGrant(s.config, { scope: 'payments' })
  const created = await post(`${base}/consents`, cc.access_token, {
    loggedUser: { document: { identification: o.cpf, rel: 'CPF' } },
    creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: DEMO_SHOP.cnpj, name: DEMO_SHOP.name },
    payment: {
      type: 'PIX', currency: 'BRL', amount: o.amount, date: brasiliaDay(), ...(o.version === 'v5' ? { purpose: 'IMMEDIATE' } : {}),
      details: { localInstrument: 'DICT', proxy: DEMO_SHOP.proxy, creditorAccount: DEMO_SHOP.account },
    },
  })
  const consentId = (created.data as { consentId: string }).consentId
  const tokens = await authorise(s, `openid consent:${consentId} payments`, o.cpf, async (browser, base, csrf, login) => {
    check(login.status === 200, 'login (then the second factor)', login.body)
    const totp = await browser.request(`${base}/totp`, { form: { csrf, codigo: await o.totp.next(o.cpf) } })
    check(totp.status === 303, 'TOTP', totp.body)
    const review = await browser.follow(totp.location!, s.redirectUri)
    check(review.status === 200, 'payment review page', review.body)
    return confirm(browser, review, { debtorAccount: radioValues(review.body, 'debtorAccount')[0]! })
  })
  const stamp = new Date().toISOString().replace(/[-T:]/g, '').slice(0, 12)
  const paid = await post(`${base}/pix/payments`, tokens.access_token, [{
    endToEndId: `E${ISPB}${stamp}${randomBytes(8).toString('hex').slice(0, 11)}`, localInstrument: 'DICT', payment: { amount: o.amount, currency: 'BRL' },
    creditorAccount: DEMO_SHOP.account, proxy: DEMO_SHOP.proxy, cnpjInitiator: '12345678000195', consentId,
  }])
  const [payment] = paid.data as Array<{ paymentId: string }>
  return { consentId, paymentId: payment!.paymentId, statusUrl: `${base}/pix/payments/${payment!.paymentId}`, clientCredentials: cc.access_token }
}

/** New tokens for a consent from its refresh token (refresh_token grant over mTLS, as a TPP does before expiry). */
export function refreshTokens(s: TppSession, refreshToken: string) {
  return oidc.refreshTokenGrant(s.config, refreshToken)
}
