// A TPP's whole paths against a running stack (test/e2e/stack.ts), step by step: a data consent authorised in the
// journey pages, and a Pix payment authorised with LoA3, initiated and followed to settlement. Every step's answer is
// judged one way (a success; a refusal in the envelope its surface prescribes; anything else), handed to the session's
// recorder, and a step that does not succeed stops the path with a StepFailed error. The soak (bench/soak.ts) drives
// them beside its steady load and fails on the first error; the fault suite (test/chaos/load.ts) drives them under
// faults and keeps every answer. The e2e tests check each step in detail themselves.
import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import * as oidc from 'openid-client'
import { Agent, fetch as undiciFetch } from 'undici'
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
/** Longest wait for one answer of the gateway or a page: past it the step has no answer (status 0). */
const CALL_TIMEOUT_MS = 20_000

/** One step's answer as the TPP saw it. */
export interface StepAnswer {
  step: string
  /** The HTTP status; 0 when no answer came (a cut connection, a hang past the timeout). */
  status: number
  /** The answer the path goes on with. */
  ok: boolean
  /** A success, or a refusal in the envelope its surface prescribes (OFB `errors[]` + `meta`, RFC 6749 `error`, a page). */
  expected: boolean
  /** What a refusal said (its error code). */
  code?: string
  /** The `data` of a regulated API's answer (of its claims when signed). */
  data?: unknown
}

/** A step that did not succeed; the path stops there. */
export class StepFailed extends Error {
  readonly answer: StepAnswer
  constructor(answer: StepAnswer, detail: unknown) {
    super(`${answer.step}: ${answer.status} ${(typeof detail === 'string' ? detail : JSON.stringify(detail) ?? '').slice(0, 500)}`)
    this.answer = answer
  }
}

/** Who is calling: the onboarded TPP, its OpenID client configuration and the redirect URI it registered. */
export interface TppSession {
  stack: E2eStack
  tpp: TestTpp
  config: oidc.Configuration
  redirectUri: string
  /** Told every step's answer, failed ones included, before the path goes on or stops. */
  record?: (answer: StepAnswer) => void
}

/** Today in Brasília (UTC−3, no daylight saving). */
export const brasiliaDay = () => new Date(Date.now() - 3 * 3_600_000).toISOString().slice(0, 10)

/** An OFB error body: `errors[]` of code, title and detail, and `meta.requestDateTime`. */
export const isOfbError = (body: unknown) => {
  const b = body as { errors?: Array<{ code?: unknown; title?: unknown; detail?: unknown }>; meta?: { requestDateTime?: unknown } } | undefined
  return Array.isArray(b?.errors) && b.errors.length > 0 && b.errors.every((e) => typeof e.code === 'string' && typeof e.title === 'string' && typeof e.detail === 'string') &&
    typeof b.meta?.requestDateTime === 'string'
}

/** Records an answer; one that does not succeed stops the path. */
function settleStep(s: TppSession, answer: StepAnswer, detail: unknown): void {
  s.record?.(answer)
  if (!answer.ok) throw new StepFailed(answer, detail)
}

/** Records a failed step and stops the path. */
function fail(s: TppSession, answer: StepAnswer, detail: unknown): never {
  s.record?.(answer)
  throw new StepFailed(answer, detail)
}

/** A call that throws when no answer comes (cut, timed out): recorded with status 0. */
async function answered<T>(s: TppSession, step: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    return fail(s, { step, status: 0, ok: false, expected: false, code: 'NO_ANSWER' }, err instanceof Error ? err.message : String(err))
  }
}

/** How an OAuth call failed: an RFC 6749 error answer, another answer, or none. */
async function oauthRefusal(step: string, err: unknown): Promise<StepAnswer> {
  if (err instanceof oidc.ResponseBodyError) return { step, status: err.status, ok: false, expected: typeof err.error === 'string', code: err.error }
  // openid-client reads an error body only for 4xx; a 5xx answer comes as the Response itself.
  const res = (err as { cause?: { status?: unknown; clone?: unknown } }).cause as Response | undefined
  if (typeof res?.status === 'number' && typeof res.clone === 'function') {
    const body = await res.clone().json().catch(() => undefined) as { error?: unknown } | undefined
    const rfc = typeof body?.error === 'string'
    return { step, status: res.status, ok: false, expected: rfc, code: rfc ? String(body.error) : 'no RFC 6749 body' }
  }
  return { step, status: 0, ok: false, expected: false, code: (err as Error).message.slice(0, 80) }
}

/** An OAuth call (openid-client): a success, or an RFC 6749 error answer. */
async function oauth<T>(s: TppSession, step: string, call: () => Promise<T>): Promise<T> {
  let out: T
  try {
    out = await call()
  } catch (err) {
    return fail(s, await oauthRefusal(step, err), err instanceof Error ? err.message : String(err))
  }
  settleStep(s, { step, status: 200, ok: true, expected: true }, '')
  return out
}

/** A customer's page: it succeeds when `ok`; an error page of its own is a clean refusal, a 500 or a hang is not. */
async function page<T extends { status: number; body: string }>(s: TppSession, step: string, call: () => Promise<T>, ok: (r: T) => boolean): Promise<T> {
  const r = await answered(s, step, call)
  const good = ok(r)
  settleStep(s, { step, status: r.status, ok: good, expected: good || (r.status >= 400 && r.status !== 500), ...(good ? {} : { code: `page ${r.status}` }) }, r.body)
  return r
}

/**
 * A regulated call through the gateway: JSON, or with `signed` a JWS of `{ data: signed }` for the URL (payments);
 * it succeeds with status `ok`. A signed answer's claims are read, not verified (the e2e tests verify them).
 */
async function api(s: TppSession, step: string, method: string, url: string, token: string, o: { ok: number; json?: unknown; signed?: unknown; idempotencyKey?: string }): Promise<Record<string, unknown>> {
  const body = o.signed !== undefined ? s.tpp.signRequest(url, { data: o.signed }) : o.json === undefined ? undefined : JSON.stringify(o.json)
  const res = await answered(s, step, async () => {
    const r = await s.tpp.fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID(),
        ...(body === undefined ? {} : { 'content-type': o.signed !== undefined ? 'application/jwt' : 'application/json' }),
        ...(o.idempotencyKey ? { 'x-idempotency-key': o.idempotencyKey } : {}),
      },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    })
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() }
  })
  let json: Record<string, unknown> = {}
  try {
    const text = res.type.startsWith('application/jwt') ? Buffer.from(res.text.split('.')[1] ?? '', 'base64url').toString('utf8') : res.text
    json = text ? JSON.parse(text) as Record<string, unknown> : {}
  } catch { /* unreadable: an unexpected answer below */ }
  const good = res.status === o.ok
  const clean = !good && res.status >= 400 && isOfbError(json)
  settleStep(s, {
    step, status: res.status, ok: good, expected: good || clean,
    ...(clean ? { code: String((json.errors as Array<{ code: string }>)[0]!.code) } : {}), ...(json.data !== undefined ? { data: json.data } : {}),
  }, `${res.status} ${res.text}`)
  return json
}

/** The next TOTP code of each customer that the bank has not accepted yet (each step's code is accepted once). */
export class TotpSteps {
  private readonly last = new Map<string, number>()
  /** Waits for the next step when both acceptable ones were handed out; `signal` ends the wait (it throws). */
  async next(cpf: string, signal?: AbortSignal): Promise<string> {
    const step = Math.floor(Date.now() / 30_000)
    const next = Math.max(step, (this.last.get(cpf) ?? 0) + 1)
    if (next > step + 1) await sleep((next - 1) * 30_000 - Date.now() + 200, undefined, signal ? { signal } : {})
    this.last.set(cpf, next)
    return totpCode(DEMO_TOTP_SECRET, new Date(next * 30_000))
  }
}

/** A customer's browser: TLS trusting the dev CA, no client certificate, redirects by hand, each request bounded. */
function customerBrowser(s: TppSession): { browser: Browser; close(): Promise<void> } {
  const agent = new Agent({ connect: { ca: s.stack.pki.caBundlePem } })
  const browser = new Browser(((url: string, init?: RequestInit) =>
    undiciFetch(url, { redirect: 'manual', ...(init as object), dispatcher: agent, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) } as never)) as unknown as typeof globalThis.fetch)
  return { browser, close: () => agent.close() }
}

type Answer = Awaited<ReturnType<Browser['request']>>

/**
 * PAR with a signed request object and PKCE, the journey pages as the customer's browser (the login page, then
 * `afterLogin` from the login form on, answering where the approval redirects), then the code exchange.
 */
async function authorise(s: TppSession, scope: string, afterLogin: (browser: Browser, base: string, csrf: string) => Promise<Answer>) {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const jar = await oidc.buildAuthorizationUrlWithJAR(s.config, {
    redirect_uri: s.redirectUri, scope, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    state, nonce, response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
  }, { key: await s.tpp.signingKey(), kid: s.tpp.certificate.kid })
  const authUrl = await oauth(s, 'PAR', () => oidc.buildAuthorizationUrlWithPAR(s.config, jar.searchParams))
  const { browser, close } = customerBrowser(s)
  try {
    const loginPage = await page(s, 'login page', () => browser.follow(authUrl.toString(), s.redirectUri), (r) => r.status === 200 && r.body.includes('name="csrf"'))
    const confirmed = await afterLogin(browser, loginPage.url.replace(/\/$/, ''), formValue(loginPage.body, 'csrf'))
    const done = await page(s, 'redirect', () => browser.follow(confirmed.location!, s.redirectUri), (r) => r.url.startsWith(s.redirectUri))
    return await oauth(s, 'token', () => oidc.authorizationCodeGrant(s.config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }))
  } finally {
    await close()
  }
}

/** Submits the review page's `Autorizar` with `fields` (a 303 to the TPP's redirect). */
function confirm(s: TppSession, browser: Browser, review: { url: string; body: string }, fields: Record<string, string | string[]>) {
  return page(s, 'confirm', () => browser.request(`${review.url.replace(/\/$/, '')}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', ...fields } }), (r) => r.status === 303 && !!r.location)
}

/** A data consent for `cpf` with `permissions`, created through the gateway and authorised; its tokens. */
export async function dataJourney(s: TppSession, cpf: string, permissions: string[], scope = 'accounts resources') {
  const cc = await oauth(s, 'client_credentials', () => oidc.clientCredentialsGrant(s.config, { scope: 'consents' }))
  const created = await api(s, 'POST consent', 'POST', `${s.stack.gatewayUrl}/open-banking/consents/v3/consents`, cc.access_token,
    { ok: 201, json: { data: { loggedUser: { document: { identification: cpf, rel: 'CPF' } }, permissions } } })
  const consentId = (created.data as { consentId: string }).consentId
  const tokens = await authorise(s, `openid consent:${consentId} ${scope}`, async (browser, base, csrf) => {
    const login = await page(s, 'login', () => browser.request(`${base}/login`, { form: { csrf, cpf, senha: DEMO_PASSWORD } }), (r) => r.status === 303 && !!r.location)
    const review = await page(s, 'review page', () => browser.follow(login.location!, s.redirectUri), (r) => r.status === 200 && r.body.includes('Autorizar'))
    return confirm(s, browser, review, { resource: checkboxValues(review.body) })
  })
  return { consentId, tokens, clientCredentials: cc.access_token }
}

/** A lost answer (none, or a 5xx): what a TPP sends again with the same idempotency key. */
const lost = (err: unknown) => err instanceof StepFailed && (err.answer.status === 0 || err.answer.status >= 500)

/**
 * A payment consent paying the demo shop `amount` today by its Pix key, authorised with LoA3 (TOTP), then paid; its
 * ids. A payment whose answer is lost is sent again with the same `x-idempotency-key` (freshly signed) up to
 * `retries` times, a second apart, as a TPP must: the bank answers the payment it already made. `signal` ends a wait
 * for the next TOTP step.
 */
export async function pixPayment(s: TppSession, o: { version: 'v4' | 'v5'; cpf: string; amount: string; totp: TotpSteps; retries?: number; signal?: AbortSignal }) {
  const base = `${s.stack.gatewayUrl}/open-banking/payments/${o.version}`
  const cc = await oauth(s, 'client_credentials', () => oidc.clientCredentialsGrant(s.config, { scope: 'payments' }))
  const created = await api(s, 'POST payment consent', 'POST', `${base}/consents`, cc.access_token, {
    ok: 201, idempotencyKey: randomUUID(),
    signed: {
      loggedUser: { document: { identification: o.cpf, rel: 'CPF' } },
      creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: DEMO_SHOP.cnpj, name: DEMO_SHOP.name },
      payment: {
        type: 'PIX', currency: 'BRL', amount: o.amount, date: brasiliaDay(), ...(o.version === 'v5' ? { purpose: 'IMMEDIATE' } : {}),
        details: { localInstrument: 'DICT', proxy: DEMO_SHOP.proxy, creditorAccount: DEMO_SHOP.account },
      },
    },
  })
  const consentId = (created.data as { consentId: string }).consentId
  const tokens = await authorise(s, `openid consent:${consentId} payments`, async (browser, base, csrf) => {
    // The password, then the second factor (LoA3).
    await page(s, 'login', () => browser.request(`${base}/login`, { form: { csrf, cpf: o.cpf, senha: DEMO_PASSWORD } }), (r) => r.status === 200 && r.body.includes('name="codigo"'))
    const code = await o.totp.next(o.cpf, o.signal)
    const totp = await page(s, 'TOTP', () => browser.request(`${base}/totp`, { form: { csrf, codigo: code } }), (r) => r.status === 303 && !!r.location)
    const review = await page(s, 'review page', () => browser.follow(totp.location!, s.redirectUri), (r) => r.status === 200 && radioValues(r.body, 'debtorAccount').length > 0)
    return confirm(s, browser, review, { debtorAccount: radioValues(review.body, 'debtorAccount')[0]! })
  })
  const stamp = new Date().toISOString().replace(/[-T:]/g, '').slice(0, 12)
  const endToEndId = `E${ISPB}${stamp}${randomBytes(8).toString('hex').slice(0, 11)}`
  const data = [{
    endToEndId, localInstrument: 'DICT', payment: { amount: o.amount, currency: 'BRL' },
    creditorAccount: DEMO_SHOP.account, proxy: DEMO_SHOP.proxy, cnpjInitiator: '12345678000195', consentId,
  }]
  const idempotencyKey = randomUUID()
  let paid: Record<string, unknown>
  for (let attempt = 0; ; attempt++) {
    try {
      paid = await api(s, 'POST pix/payments', 'POST', `${base}/pix/payments`, tokens.access_token, { ok: 201, signed: data, idempotencyKey })
      break
    } catch (err) {
      if (!lost(err) || attempt >= (o.retries ?? 0)) throw err
      await sleep(1_000)
    }
  }
  const [payment] = paid.data as Array<{ paymentId: string; status: string }>
  return { consentId, endToEndId, paymentId: payment!.paymentId, status: payment!.status, statusUrl: `${base}/pix/payments/${payment!.paymentId}`, clientCredentials: cc.access_token }
}

/**
 * Reads a payment back (`GET`, every `intervalMs`) until the Pix arrangement settles (ACSC) or rejects (RJCT) it; an
 * answer that is not a 200 is recorded and the reading goes on. Throws when neither comes within `timeoutMs`, or
 * once `signal` is aborted.
 */
export async function settlement(s: TppSession, paid: { paymentId: string; statusUrl: string; clientCredentials: string }, o: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {}): Promise<'ACSC' | 'RJCT'> {
  const until = Date.now() + (o.timeoutMs ?? 30_000)
  while (Date.now() < until) {
    o.signal?.throwIfAborted()
    const status = await api(s, 'GET pix/payment', 'GET', paid.statusUrl, paid.clientCredentials, { ok: 200 })
      .then((r) => (r.data as { status?: string } | undefined)?.status, (err: unknown) => { if (err instanceof StepFailed) return undefined; throw err })
    if (status === 'ACSC' || status === 'RJCT') return status
    await sleep(o.intervalMs ?? 500)
  }
  throw new Error(`payment ${paid.paymentId} neither settled nor rejected in ${(o.timeoutMs ?? 30_000) / 1000} s`)
}

/** New tokens for a consent from its refresh token (refresh_token grant over mTLS, as a TPP does before expiry). */
export function refreshTokens(s: TppSession, refreshToken: string) {
  return oidc.refreshTokenGrant(s.config, refreshToken)
}
