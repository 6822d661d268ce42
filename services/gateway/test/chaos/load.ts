// The steady load of the fault suite: customer journeys (consent → PAR → login → approve → token), data calls with
// the tokens they yield, revocations, and Pix payments (payment consent → PAR → login → TOTP → approve → token →
// payment → read back until settled or rejected, test/e2e/journeys.ts), by a TPP onboarded in the sandbox directory
// with the DADOS and PAGTO roles and a webhook URI, every call over mTLS through the gateway and the auth-server as in
// the end-to-end journeys. Every answer is recorded with the time it came, so a fault's window can be read back from
// the record; what the TPP was told about each consent and payment is kept in a ledger for the checks.
import { randomUUID } from 'node:crypto'
import type { Configuration } from 'openid-client'
import { waitFor, type TestTpp } from '@ponte/testkit'
import { dataJourney, isOfbError, pixPayment, settlement, TotpSteps, type StepAnswer, type TppSession } from '../e2e/journeys.ts'
import { onboardTpp, type E2eStack, type SandboxSoftwareStatement } from '../e2e/stack.ts'

export const CPF = '76109277673'
const REDIRECT = 'https://tpp.example.com.br/callback'
const PERMISSIONS = ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ']
/** Longest wait for one answer: past it the call counts as hung (an unexpected answer). */
const CALL_TIMEOUT_MS = 20_000
/** The demo customers with a personal account who pay (README): each has one TOTP code per 30 s step to give. */
export const PAYERS = ['76109277673', '52998224725']
/** The amount of every payment (small: the payers' balances and daily limits last the whole run). */
const AMOUNT = '1.23'

export type Kind = 'journey' | 'data' | 'revoke' | 'payment'

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

/** A payment the TPP got a 201 for, and the statuses it was told since (in order). */
export interface LedgerPayment {
  endToEndId: string
  consentId: string
  told: string[]
}

/** What the driver learnt from the answers: the status each consent must have, the payments it was told of. */
export interface Ledger {
  /** consentId → the status the TPP was last told (or the statuses it may have, `|`-separated, when it cannot know). */
  consents: Map<string, string>
  /** paymentId → the payment. */
  payments: Map<string, LedgerPayment>
}

export interface Client {
  tpp: TestTpp
  /** Key id of the TPP's signing key (request objects). */
  kid: string
  config: Configuration
  clientId: string
  /** The server certificate its webhook receiver presents (from the onboarding bundle). */
  webhookServer: NonNullable<SandboxSoftwareStatement['webhookServer']>
}

/**
 * Onboards a TPP (DADOS and PAGTO) in the sandbox directory with `webhookUri` and registers it at the auth-server
 * (DCR); retried as a whole, as the auth-server's read of the jwks_uri has a short timeout that a loaded machine can
 * exceed (the suite's subject is the faults, not the onboarding).
 */
export async function onboard(stack: E2eStack, webhookUri: string): Promise<Client> {
  const onboarded = await waitFor(() => onboardTpp(stack, { name: 'Fintech Caos', clientName: 'App Caos', roles: ['DADOS', 'PAGTO'], redirectUris: [REDIRECT], webhookUris: [webhookUri] }),
    { timeoutMs: 60_000, intervalMs: 1_000, what: 'the onboarding and registration (DCR)' })
  const { tpp, client, statement } = onboarded
  return { tpp, kid: tpp.certificate.kid, clientId: client.client_id, config: await tpp.oidc(stack.authIssuer, client.client_id), webhookServer: statement.webhookServer! }
}

/** Drives journeys, data calls, revocations and payments until {@link Load.stop}; every answer goes to {@link Load.outcomes}. */
export class Load {
  readonly outcomes: Outcome[] = []
  readonly ledger: Ledger = { consents: new Map(), payments: new Map() }
  /** Access tokens of authorised consents, for the data calls. */
  private readonly tokens: Array<{ consentId: string; access: string }> = []
  private running = false
  private readonly stopping = new AbortController()
  private readonly workers: Array<Promise<void>> = []
  private readonly stack: E2eStack
  private readonly client: Client
  private readonly totp = new TotpSteps()
  private paymentsStarted = 0
  private journeysDone = 0

  constructor(stack: E2eStack, client: Client) {
    this.stack = stack
    this.client = client
  }

  private record(kind: Kind, step: string, status: number, expected: boolean, code?: string) {
    this.outcomes.push({ kind, step, at: Date.now(), status, expected, ...(code ? { code } : {}) })
  }

  /** The TPP's session for one path, its answers recorded as `kind` and seen by `seen` (successes only). */
  private session(kind: Kind, seen: (a: StepAnswer) => void): TppSession {
    const { tpp, config } = this.client
    return {
      stack: this.stack, tpp, config, redirectUri: REDIRECT,
      record: (a) => {
        this.record(kind, a.step, a.status, a.expected, a.code)
        if (a.ok) seen(a)
      },
    }
  }

  /** A regulated call through the gateway; records it and answers the parsed body (undefined when none came). */
  private async api(kind: Kind, step: string, method: string, path: string, token: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
    try {
      const res = await this.client.tpp.fetch(`${this.stack.gatewayUrl}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
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

  /** One customer journey (journeys.ts); stops at the first step that does not succeed (a clean failure when its answer is). */
  async journey(): Promise<void> {
    let consentId = ''
    const { tokens, clientCredentials } = await dataJourney(this.session('journey', (a) => {
      if (a.step === 'POST consent') {
        consentId = (a.data as { consentId: string }).consentId
        this.ledger.consents.set(consentId, 'AWAITING_AUTHORISATION')
      }
      // From the approval on, the consent may be AUTHORISED even if no answer reaches the TPP (the customer approved).
      if (a.step === 'review page') this.ledger.consents.set(consentId, 'AWAITING_AUTHORISATION|AUTHORISED')
      if (a.step === 'token') this.ledger.consents.set(consentId, 'AUTHORISED')
    }), CPF, PERMISSIONS)
    this.journeysDone++
    this.tokens.push({ consentId, access: tokens.access_token })
    // Some consents are revoked by the TPP: a third transition, so the order of a consent's events is tested.
    if (this.tokens.length % 3 === 0) await this.revoke(clientCredentials, this.tokens.shift()!)
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

  /**
   * One Pix payment by `cpf` (journeys.ts), read back until settled or rejected. A lost answer to the payment is sent
   * again with the same idempotency key for up to 20 s (a service restarting meanwhile). The ledger follows what the
   * TPP learns: a payment consent may expire (REJECTED) until it is used, is CONSUMED once paid, and may be either
   * when the payment's answer was lost.
   */
  async payment(cpf: string): Promise<void> {
    let consentId = ''
    const session = this.session('payment', (a) => {
      if (a.step === 'POST payment consent') {
        consentId = (a.data as { consentId: string }).consentId
        this.ledger.consents.set(consentId, 'AWAITING_AUTHORISATION|REJECTED')
      }
      if (a.step === 'review page') this.ledger.consents.set(consentId, 'AWAITING_AUTHORISATION|AUTHORISED|REJECTED')
      if (a.step === 'token') this.ledger.consents.set(consentId, 'AUTHORISED|CONSUMED')
      if (a.step === 'POST pix/payments') {
        const [p] = a.data as Array<{ paymentId: string; endToEndId: string; status: string }>
        this.ledger.consents.set(consentId, 'CONSUMED')
        const known = this.ledger.payments.get(p!.paymentId)
        if (known) known.told.push(p!.status)
        else this.ledger.payments.set(p!.paymentId, { endToEndId: p!.endToEndId, consentId, told: [p!.status] })
      }
      if (a.step === 'GET pix/payment') {
        const p = a.data as { paymentId: string; status: string }
        this.ledger.payments.get(p.paymentId)?.told.push(p.status)
      }
    })
    const { signal } = this.stopping
    const paid = await pixPayment(session, { version: this.paymentsStarted++ % 2 ? 'v5' : 'v4', cpf, amount: AMOUNT, totp: this.totp, retries: 20, signal })
    await settlement(session, paid, { timeoutMs: 60_000, signal })
  }

  /**
   * Starts `journeys` journey loops, `data` data-call loops and a payment loop per payer, each with `pauseMs` between
   * two calls (`dataPauseMs` for the data calls).
   */
  start({ journeys = 1, data = 2, payers = [], pauseMs = 100, dataPauseMs = pauseMs }: { journeys?: number; data?: number; payers?: string[]; pauseMs?: number; dataPauseMs?: number } = {}) {
    this.running = true
    const loop = (work: () => Promise<void>, pause = pauseMs) => (async () => {
      while (this.running) {
        await work().catch(() => undefined)
        await new Promise((r) => setTimeout(r, pause))
      }
    })()
    for (let i = 0; i < journeys; i++) this.workers.push(loop(() => this.journey()))
    for (let i = 0; i < data; i++) this.workers.push(loop(() => this.dataCall(), dataPauseMs))
    for (const cpf of payers) this.workers.push(loop(() => this.payment(cpf)))
  }

  async stop() {
    this.running = false
    this.stopping.abort()
    await Promise.all(this.workers.splice(0))
  }

  /** The answers between two instants. */
  between(from: number, to: number): Outcome[] {
    return this.outcomes.filter((o) => o.at >= from && o.at <= to)
  }

  /** Journeys completed (their tokens serve the data calls). */
  get authorised(): number {
    return this.journeysDone
  }

  /** Payments the TPP was told settled (ACSC). */
  get settled(): number {
    return [...this.ledger.payments.values()].filter((p) => p.told.at(-1) === 'ACSC').length
  }
}
