import { Agent, request, errors as undiciErrors } from 'undici'
import { z } from 'zod'
import { DomainError, type Logger } from '@ponte/platform'
import { CoreAnswers, CoreRegistration, VerifyCustomerTotpResult, type CoreConnector, type CoreOwner } from '@ponte/contracts'
import { createCircuitBreaker, type CircuitBreaker } from '../domain/circuit-breaker.ts'

/** Options of {@link createHttpCore}. */
export interface HttpCoreOptions {
  /** Base URL of the external core (`core-api.yaml`). */
  baseUrl: string
  /** Timeout of one attempt, headers and body included. */
  timeoutMs: number
  /** Retries of an idempotent GET after a connection error or a 502/503 answer. */
  retries: number
  breakerFailures: number
  breakerResetMs: number
  logger?: Logger
  /** Clock for the circuit breaker (tests). */
  now?: () => number
}

/** The HTTP connector, with its circuit breaker exposed for readiness and tests. */
export interface HttpCore extends CoreConnector {
  breaker: CircuitBreaker
  /**
   * The customer's TOTP check (`POST /customers/verify-totp`): whether `code` is the customer's current code, not used
   * before. The core keeps the secret and its own clock; never retried (a check may claim the code).
   */
  verifyTotp(cpf: string, code: string): Promise<boolean>
  close(): Promise<void>
}

const OWNER_CPF = 'x-core-owner-cpf'
const OWNER_CNPJ = 'x-core-owner-cnpj'

type Query = Record<string, string | number | undefined>
interface CallOptions { owner?: CoreOwner; query?: Query; body?: unknown }
type Method = 'GET' | 'POST' | 'PUT'

class Retryable extends Error {}

/**
 * A {@link CoreConnector} over HTTP, speaking `services/connectors/core-api.yaml`. Every attempt has a timeout;
 * only GETs are retried (a POST is never replayed); a circuit breaker stops calling a failing core and lets one trial
 * call through after `breakerResetMs`. Failures map to OFB statuses: timeout → 504, core 500 or a malformed answer →
 * 502, core down, 503 or open circuit → 503. A 404 reads as "not found for this owner".
 */
export function createHttpCore(options: HttpCoreOptions): HttpCore {
  const base = options.baseUrl.replace(/\/$/, '')
  const now = options.now ?? Date.now
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, connectTimeout: Math.min(options.timeoutMs, 3_000) })
  const breaker = createCircuitBreaker({ failureThreshold: options.breakerFailures, resetMs: options.breakerResetMs })

  async function attempt(method: Method, url: string, o: CallOptions): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (o.owner) {
      headers[OWNER_CPF] = o.owner.cpf
      if (o.owner.cnpj) headers[OWNER_CNPJ] = o.owner.cnpj
    }
    let body: string | undefined
    if (o.body !== undefined) {
      body = JSON.stringify(o.body)
      headers['content-type'] = 'application/json'
    }
    let res
    try {
      res = await request(url, { method, headers, body, dispatcher: agent, signal: AbortSignal.timeout(options.timeoutMs) })
    } catch (err) {
      if (isTimeout(err)) throw new DomainError('GATEWAY_TIMEOUT', 'the bank core did not answer in time', { cause: err })
      throw new Retryable('core unreachable', { cause: err })
    }
    let parsed: unknown
    try {
      const text = await res.body.text()
      parsed = text ? JSON.parse(text) : undefined
    } catch (err) {
      if (isTimeout(err)) throw new DomainError('GATEWAY_TIMEOUT', 'the bank core did not answer in time', { cause: err })
      // A failure of the core like a 500: counted, so it opens the circuit and ends a half-open trial (which would
      // otherwise stay in flight for ever, refusing every later call).
      breaker.onFailure(now())
      throw new DomainError('BAD_GATEWAY', 'the bank core sent an unreadable answer', { cause: err })
    }
    if (res.statusCode === 502 || res.statusCode === 503) throw new Retryable(`core answered ${res.statusCode}`)
    return { status: res.statusCode, body: parsed }
  }

  async function call<S extends z.ZodType>(method: Method, path: string, schema: S, o: CallOptions = {}): Promise<z.output<S> | undefined> {
    if (!breaker.tryAcquire(now())) throw new DomainError('UPSTREAM_UNAVAILABLE', 'the bank core is unavailable (circuit open)')
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) params.set(k, String(v))
    const url = `${base}${path}${params.size ? `?${params.toString()}` : ''}`
    // GETs and PUTs are idempotent (a Pix debit is PUT under its end-to-end id): they are retried; a POST never is.
    const tries = method === 'POST' ? 1 : options.retries + 1
    let lastError: unknown
    for (let i = 0; i < tries; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** (i - 1)))
      try {
        const res = await attempt(method, url, o)
        if (res.status >= 500) {
          breaker.onFailure(now())
          if (res.status === 504) throw new DomainError('GATEWAY_TIMEOUT', 'the bank core timed out')
          throw new DomainError('BAD_GATEWAY', `the bank core failed (${res.status})`)
        }
        breaker.onSuccess()
        if (res.status === 404 || res.status === 401) return undefined
        if (res.status === 409) throw new DomainError('CONFLICT', 'the bank core refused a conflicting request (end-to-end id already used for another debit)')
        if (res.status !== 200) throw new DomainError('BAD_GATEWAY', `the bank core answered ${res.status}`)
        const parsed = schema.safeParse(res.body)
        if (!parsed.success) {
          options.logger?.error({ path, issues: parsed.error.issues.slice(0, 5) }, 'the bank core answer does not match core-api.yaml')
          throw new DomainError('BAD_GATEWAY', 'the bank core sent a malformed answer')
        }
        return parsed.data
      } catch (err) {
        if (err instanceof Retryable) {
          lastError = err
          continue
        }
        if (err instanceof DomainError && err.code === 'GATEWAY_TIMEOUT') breaker.onFailure(now())
        throw err
      }
    }
    breaker.onFailure(now())
    throw new DomainError('UPSTREAM_UNAVAILABLE', 'the bank core is unavailable', { cause: lastError })
  }

  const get = <S extends z.ZodType>(path: string, schema: S, o: CallOptions = {}) => call('GET', path, schema, o)
  const required = async <T>(p: Promise<T | undefined>, what: string): Promise<T> => {
    const v = await p
    if (v === undefined) throw new DomainError('BAD_GATEWAY', `the bank core has no ${what}`)
    return v
  }
  const e = encodeURIComponent
  const ids = (xs: string[]) => xs.join(',')

  return {
    breaker,
    close: () => agent.close(),
    async verifyTotp(cpf, code) {
      return (await required(call('POST', '/customers/verify-totp', VerifyCustomerTotpResult, { body: { cpf, code } }), 'TOTP check (POST /customers/verify-totp)')).valid
    },
    authenticateCustomer: (cpf, password) => call('POST', '/customers/authenticate', CoreAnswers.authenticatedCustomer, { body: { cpf, password } }),
    async selectableResources(owner) {
      const r = await get(`/customers/${e(owner.cpf)}/resources`, z.object({ resources: CoreAnswers.selectableResources }), { query: { cnpj: owner.cnpj } })
      return r?.resources
    },
    async resourceStates(owner, resources) {
      const r = await required(call('POST', '/resource-states', z.object({ resources: CoreAnswers.resourceStates }), { owner, body: { resources } }), 'resource states')
      return r.resources
    },
    accounts: (owner, accountIds, { type, offset, limit }) => required(get('/accounts', CoreAnswers.accounts, { owner, query: { ids: ids(accountIds), type, offset, limit } }), 'account list'),
    account: (owner, id) => get(`/accounts/${e(id)}`, CoreAnswers.account, { owner }),
    balances: (owner, id) => get(`/accounts/${e(id)}/balances`, CoreAnswers.balances, { owner }),
    overdraftLimits: (owner, id) => get(`/accounts/${e(id)}/overdraft-limits`, CoreAnswers.overdraftLimits, { owner }),
    accountTransactions: (owner, id, q) => required(get(`/accounts/${e(id)}/transactions`, CoreAnswers.accountTransactions, { owner, query: { ...q } }), 'transactions'),
    cardAccounts: (owner, cardIds, { offset, limit }) => required(get('/card-accounts', CoreAnswers.cardAccounts, { owner, query: { ids: ids(cardIds), offset, limit } }), 'card account list'),
    cardAccount: (owner, id) => get(`/card-accounts/${e(id)}`, CoreAnswers.cardAccount, { owner }),
    async cardLimits(owner, id) {
      const r = await get(`/card-accounts/${e(id)}/limits`, z.object({ limits: CoreAnswers.cardLimits }), { owner })
      return r?.limits ?? []
    },
    bills: (owner, id, q) => required(get(`/card-accounts/${e(id)}/bills`, CoreAnswers.bills, { owner, query: { ...q } }), 'bills'),
    bill: (owner, id, billId) => get(`/card-accounts/${e(id)}/bills/${e(billId)}`, CoreAnswers.bill, { owner }),
    cardTransactions: (owner, id, q) => required(get(`/card-accounts/${e(id)}/transactions`, CoreAnswers.cardTransactions, { owner, query: { ...q } }), 'card transactions'),
    billTransactions: (owner, id, billId, q) => required(get(`/card-accounts/${e(id)}/bills/${e(billId)}/transactions`, CoreAnswers.cardTransactionPage, { owner, query: { ...q } }), 'bill transactions'),
    registration: (owner) => get('/registration', CoreRegistration, { owner }),
    loanContracts: (owner, contractIds, { offset, limit }) => required(get('/loan-contracts', CoreAnswers.loanContracts, { owner, query: { ids: ids(contractIds), offset, limit } }), 'contract list'),
    loanContract: (owner, id) => get(`/loan-contracts/${e(id)}`, CoreAnswers.loanContract, { owner }),
    warranties: (owner, id, { offset, limit }) => required(get(`/loan-contracts/${e(id)}/warranties`, CoreAnswers.warranties, { owner, query: { offset, limit } }), 'warranties'),
    instalments: (owner, id) => get(`/loan-contracts/${e(id)}/instalments`, CoreAnswers.instalments, { owner }),
    loanPayments: (owner, id) => get(`/loan-contracts/${e(id)}/payments`, CoreAnswers.loanPayments, { owner }),
    channels: (kind, { offset, limit }) => required(get(`/open-data/channels/${kind}`, CoreAnswers.documents, { query: { offset, limit } }), 'channels'),
    accountOffers: (segment, { offset, limit }) => required(get(`/open-data/account-offers/${segment}`, CoreAnswers.documents, { query: { offset, limit } }), 'offers'),
    pixKeyLookup: (key, keyType) => required(get(`/pix/keys/${e(key)}`, CoreAnswers.pixKeyLookup, { query: { keyType } }), 'DICT answer'),
    initiatePix: (owner, debit) => call('PUT', `/pix/payments/${e(debit.endToEndId)}`, CoreAnswers.pixPayment, { owner, body: debit }),
    pixPayment: (owner, endToEndId) => get(`/pix/payments/${e(endToEndId)}`, CoreAnswers.pixPayment, { owner }),
    cancelPix: (owner, endToEndId) => call('POST', `/pix/payments/${e(endToEndId)}/cancel`, CoreAnswers.pixPayment, { owner }),
  }
}

function isTimeout(err: unknown): boolean {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) return true
  const name = (err as { name?: string } | undefined)?.name
  return name === 'TimeoutError' || name === 'AbortError'
}
