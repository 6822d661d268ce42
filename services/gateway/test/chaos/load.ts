// The steady load of the fault suite: customer journeys (consent → PAR → login → approve → token), data calls with
// the tokens they yield, and revocations, by a TPP onboarded in the sandbox directory and registered by DCR, every
// call over mTLS through the gateway and the auth-server as in the end-to-end journey (e2e-journey.test.ts). Every
// answer is recorded with the time it came, so a fault's window can be read back from the record.
import { randomUUID } from 'node:crypto'
import * as oidc from 'openid-client'
import { Agent, fetch as undiciFetch, request } from 'undici'
import { createTppFromParts, waitFor, type TestTpp } from '@ponte/testkit'
import { Browser, formValue } from '../../../auth-server/test/support/harness.ts'
import type { E2eStack } from '../e2e/stack.ts'

export const CPF = '76109277673'
const PASSWORD = 'P@ssw0rd-demo'
const REDIRECT = 'https://tpp.example.com.br/callback'
const PERMISSIONS = ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ']
/** Longest wait for one answer: past it the call counts as hung (an unexpected answer). */
const CALL_TIMEOUT_MS = 20_000

export type Kind = 'journey' | 'data' | 'revoke'

/** One answer (or its absence: status 0). */
export interface Outcome {
  kind: Kind
  step: string
  at: number
  status: number
  /** A success, or a refusal in the envelope its surface prescribes (OFB `errors[]` + `meta`, RFC 6749 `error`). */
  expected: boolean
  code?: string
}

/** What the driver learnt from the answers: the status each consent must have in the consent service. */
export interface Ledger {
  /** consentId → the status the TPP was last told (or AWAITING_AUTHORISATION when the journey stopped). */
  consents: Map<string, string>
}

export interface Client {
  tpp: TestTpp
  /** Key id of the TPP's signing key (request objects). */
  kid: string
  config: oidc.Configuration
  clientId: string
}

/** Onboards a TPP in the sandbox directory and registers it at the auth-server (DCR). */
export async function onboard(stack: E2eStack): Promise<Client> {
  const tls = new Agent({ connect: { ca: stack.pki.caBundlePem } })
  try {
    const post = async (path: string, body: unknown) => {
      const res = await request(`${stack.sandboxUrl}${path}`, { method: 'POST', dispatcher: tls, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const json = await res.body.json() as Record<string, unknown>
      if (res.statusCode !== 201) throw new Error(`sandbox ${path}: ${res.statusCode} ${JSON.stringify(json)}`)
      return json
    }
    const organisationId = String((await post('/sandbox/organisations', { name: 'Fintech Caos', roles: ['DADOS'] })).organisationId)
    const ss = await post(`/sandbox/organisations/${organisationId}/softwarestatements`, { clientName: 'App Caos', redirectUris: [REDIRECT] }) as {
      softwareStatementId: string
      transport: { chainPem: string; privateKeyPem: string }
      signing: { privateJwk: Record<string, unknown> }; encryption: { privateJwk: Record<string, unknown> }
    }
    const tpp = createTppFromParts({
      orgId: organisationId, softwareId: ss.softwareStatementId, cnpj: '12345678000195', trustPem: stack.pki.caBundlePem,
      transport: ss.transport,
      signing: { privateJwk: ss.signing.privateJwk, kid: String(ss.signing.privateJwk.kid) },
      encryption: { privateJwk: ss.encryption.privateJwk, kid: String(ss.encryption.privateJwk.kid) },
    })
    // Registration: a fresh SSA each attempt; retried, as the auth-server's read of the jwks_uri has a short timeout
    // that a loaded machine can exceed (the suite's subject is the faults, not the onboarding).
    const client = await waitFor(async () => {
      const ssa = await (await tpp.fetch(`${stack.sandboxUrl}/organisations/${organisationId}/softwarestatements/${ss.softwareStatementId}/assertion`)).text()
      const reg = await tpp.fetch(`${stack.authIssuer}/register`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ software_statement: ssa, redirect_uris: [REDIRECT] }),
      })
      const body = await reg.json() as Record<string, string>
      if (reg.status !== 201) throw new Error(`DCR: ${reg.status} ${JSON.stringify(body)}`)
      return body
    }, { timeoutMs: 60_000, intervalMs: 1_000, what: 'the registration (DCR)' })
    return { tpp, kid: String(ss.signing.privateJwk.kid), clientId: client.client_id!, config: await tpp.oidc(stack.authIssuer, client.client_id!) }
  } finally {
    await tls.close()
  }
}

const isOfbError = (body: unknown) => {
  const b = body as { errors?: Array<{ code?: unknown; title?: unknown; detail?: unknown }>; meta?: { requestDateTime?: unknown } } | undefined
  return Array.isArray(b?.errors) && b.errors.length > 0 && b.errors.every((e) => typeof e.code === 'string' && typeof e.title === 'string' && typeof e.detail === 'string') &&
    typeof b.meta?.requestDateTime === 'string'
}

/** Drives journeys, data calls and revocations until {@link Load.stop}; every answer goes to {@link Load.outcomes}. */
export class Load {
  readonly outcomes: Outcome[] = []
  readonly ledger: Ledger = { consents: new Map() }
  /** Access tokens of authorised consents, for the data calls. */
  private readonly tokens: Array<{ consentId: string; access: string }> = []
  private running = false
  private readonly workers: Array<Promise<void>> = []
  private readonly stack: E2eStack
  private readonly client: Client

  constructor(stack: E2eStack, client: Client) {
    this.stack = stack
    this.client = client
  }

  private record(kind: Kind, step: string, status: number, expected: boolean, code?: string) {
    this.outcomes.push({ kind, step, at: Date.now(), status, expected, ...(code ? { code } : {}) })
  }

  /** A regulated call through the gateway; records it and answers the parsed body (undefined when none came). */
  private async api(kind: Kind, step: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
    try {
      const res = await this.client.tpp.fetch(`${this.stack.gatewayUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      })
      const text = await res.text()
      let json: Record<string, unknown> = {}
      try { json = text ? JSON.parse(text) as Record<string, unknown> : {} } catch { /* not JSON: unexpected below */ }
      const ok = res.status < 400
      const clean = !ok && isOfbError(json)
      this.record(kind, step, res.status, ok || clean, clean ? String((json.errors as Array<{ code: string }>)[0]!.code) : undefined)
      return { status: res.status, body: json }
    } catch {
      this.record(kind, step, 0, false, 'NO_ANSWER')
      return undefined
    }
  }

  /** An OAuth call (openid-client): a success, or an RFC 6749 error answer. */
  private async oauth<T>(step: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      const out = await call()
      this.record('journey', step, 200, true)
      return out
    } catch (err) {
      if (err instanceof oidc.ResponseBodyError) {
        this.record('journey', step, err.status, typeof err.error === 'string', err.error)
      } else {
        // openid-client reads an error body only for 4xx; a 5xx answer comes as the Response itself.
        const res = (err as { cause?: { status?: unknown; clone?: unknown } }).cause as Response | undefined
        if (typeof res?.status === 'number' && typeof res.clone === 'function') {
          const body = await res.clone().json().catch(() => undefined) as { error?: unknown } | undefined
          this.record('journey', step, res.status, typeof body?.error === 'string', typeof body?.error === 'string' ? body.error : 'no RFC 6749 body')
        } else {
          this.record('journey', step, 0, false, (err as Error).message.slice(0, 80))
        }
      }
      return undefined
    }
  }

  /** One customer journey; stops at the first step that does not succeed (a clean failure when its answer is). */
  async journey(): Promise<void> {
    const { config } = this.client
    const cc = await this.oauth('client_credentials', () => oidc.clientCredentialsGrant(config, { scope: 'consents' }))
    if (!cc) return
    const created = await this.api('journey', 'POST consent', 'POST', '/open-banking/consents/v3/consents', cc.access_token,
      { data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: PERMISSIONS } })
    if (created?.status !== 201) return
    const consentId = (created.body.data as { consentId: string }).consentId
    this.ledger.consents.set(consentId, 'AWAITING_AUTHORISATION')
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const browserAgent = new Agent({ connect: { ca: this.stack.pki.caBundlePem } })
    try {
      const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
        redirect_uri: REDIRECT, scope: `openid consent:${consentId} accounts resources`,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
        response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
      }, { key: await this.client.tpp.signingKey(), kid: this.client.kid })
      const authUrl = await this.oauth('PAR', () => oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams))
      if (!authUrl) return
      const browser = new Browser(((url: string, init?: RequestInit) =>
        undiciFetch(url, { redirect: 'manual', ...(init as object), dispatcher: browserAgent, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) } as never)) as unknown as typeof globalThis.fetch)
      const page = async <T extends { status: number }>(step: string, call: () => Promise<T>, ok: (r: T) => boolean): Promise<T | undefined> => {
        try {
          const r = await call()
          // The customer's pages answer a page of their own on errors; a 5xx is counted, a hang is not expected.
          this.record('journey', step, r.status, ok(r) || (r.status >= 400 && r.status !== 500), ok(r) ? undefined : `page ${r.status}`)
          return ok(r) ? r : undefined
        } catch {
          this.record('journey', step, 0, false, 'NO_ANSWER')
          return undefined
        }
      }
      const loginPage = await page('login page', () => browser.follow(authUrl.toString(), REDIRECT), (r) => r.status === 200)
      if (!loginPage) return
      const login = await page('login', () => browser.request(`${loginPage.url}/login`, { form: { csrf: formValue(loginPage.body, 'csrf'), cpf: CPF, senha: PASSWORD } }), (r) => r.status === 303)
      if (!login) return
      const review = await page('review page', () => browser.follow(login.location!, REDIRECT), (r) => r.status === 200 && r.body.includes('Autorizar'))
      if (!review) return
      const offered = [...review.body.matchAll(/type="checkbox"[^>]*value="([^"]+)"/g)].map((m) => m[1]!)
      // From the approval on, the consent may be AUTHORISED even if no answer reaches the TPP (the customer approved).
      this.ledger.consents.set(consentId, 'AWAITING_AUTHORISATION|AUTHORISED')
      const confirm = await page('confirm', () => browser.request(`${review.url}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', resource: offered } }), (r) => r.status === 303)
      if (!confirm) return
      const done = await page('redirect', () => browser.follow(confirm.location!, REDIRECT), (r) => r.url.startsWith(REDIRECT))
      if (!done) return
      const tokens = await this.oauth('token', () => oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }))
      if (!tokens) return
      this.ledger.consents.set(consentId, 'AUTHORISED')
      this.tokens.push({ consentId, access: tokens.access_token })
      // Some consents are revoked by the TPP: a third transition, so the order of a consent's events is tested.
      if (this.tokens.length % 3 === 0) await this.revoke(cc.access_token, this.tokens.shift()!)
    } finally {
      await browserAgent.close()
    }
  }

  private async revoke(ccToken: string, t: { consentId: string; access: string }) {
    const res = await this.api('revoke', 'DELETE consent', 'DELETE', `/open-banking/consents/v3/consents/${encodeURIComponent(t.consentId)}`, ccToken)
    if (res?.status === 204) this.ledger.consents.set(t.consentId, 'REJECTED')
    // An unknown outcome (no answer): the consent may or may not be revoked; the check accepts either.
    else if (!res || res.status >= 500) this.ledger.consents.set(t.consentId, 'AUTHORISED|REJECTED')
  }

  /** A data call with one of the authorised consents' tokens. */
  async dataCall(): Promise<void> {
    const t = this.tokens[Math.floor(Math.random() * this.tokens.length)]
    if (!t) return
    await this.api('data', 'GET accounts', 'GET', '/open-banking/accounts/v2/accounts', t.access)
  }

  /** Starts `journeys` journey loops and `data` data-call loops, each with `pauseMs` between two calls. */
  start({ journeys = 1, data = 2, pauseMs = 100 } = {}) {
    this.running = true
    const loop = (work: () => Promise<void>) => (async () => {
      while (this.running) {
        await work().catch(() => undefined)
        await new Promise((r) => setTimeout(r, pauseMs))
      }
    })()
    for (let i = 0; i < journeys; i++) this.workers.push(loop(() => this.journey()))
    for (let i = 0; i < data; i++) this.workers.push(loop(() => this.dataCall()))
  }

  async stop() {
    this.running = false
    await Promise.all(this.workers.splice(0))
  }

  /** The answers between two instants. */
  between(from: number, to: number): Outcome[] {
    return this.outcomes.filter((o) => o.at >= from && o.at <= to)
  }

  /** Waits until `n` journeys completed (tokens available for data calls). */
  get authorised(): number {
    return [...this.ledger.consents.values()].filter((s) => s !== 'AWAITING_AUTHORISATION').length
  }
}
