import { DomainError } from '@ponte/platform'
import { approvalDeadline } from './payment-rules.ts'
import { resourceTypesOf, type ConsentResource, type PaymentAccount, type PaymentsApiVersion, type Permission } from '@ponte/contracts'

/**
 * The consent lifecycle, in one place (docs/regulation/consents.md#consent-statuses). Every state change of a consent is decided here by a pure
 * function of the current consent, the request and the time; the service persists the decision atomically with its
 * audit row and its event. No function here does I/O.
 *
 *   AWAITING_AUTHORISATION ─authorise─▶ AUTHORISED ─extend─▶ AUTHORISED
 *            │                               │
 *            ├─reject / revoke / expire──▶ REJECTED ◀── revoke / reject (technical, security) / expire
 *
 * Payment consents (docs/regulation/payments.md#payment-consent-lifecycle) share it, with their own clocks and a
 * final CONSUMED:
 *
 *   AWAITING_AUTHORISATION ─authorisePayment (5 min)─▶ AUTHORISED ─consume (60 min)─▶ CONSUMED
 *            └──────── reject / expire ──────────────────────┴─ reject (technical, security) / expire ─▶ REJECTED
 *
 * With several approvers (docs/regulation/payments.md#multiple-approvers) the first approval in the journey makes it
 * PARTIALLY_ACCEPTED; the others approve in the bank's channels (approvePayment) until AUTHORISED, or one refuses, or
 * the approval deadline passes (→ REJECTED).
 *
 * REJECTED and CONSUMED are final.
 */

export type ConsentStatus = 'AWAITING_AUTHORISATION' | 'AUTHORISED' | 'REJECTED' | 'PARTIALLY_ACCEPTED' | 'CONSUMED' | 'REVOKED'
export type ConsentKind = 'data' | 'payment'
export type RejectedBy = 'USER' | 'ASPSP' | 'TPP'
export type RejectionReason =
  | 'CONSENT_EXPIRED'
  | 'CUSTOMER_MANUALLY_REJECTED'
  | 'CUSTOMER_MANUALLY_REVOKED'
  | 'CONSENT_MAX_DATE_REACHED'
  | 'CONSENT_TECHNICAL_ISSUE'
  | 'INTERNAL_SECURITY_REASON'
  | PaymentRejectionCode

/** `rejectionReason.code` of a payment consent (docs/regulation/payments.md#payment-consent-rejection-reasons). */
export type PaymentRejectionCode =
  | 'TEMPO_EXPIRADO_AUTORIZACAO'
  | 'TEMPO_EXPIRADO_CONSUMO'
  | 'REJEITADO_USUARIO'
  | 'FALHA_INFRAESTRUTURA'
  | 'NAO_INFORMADO'

/** What only a payment consent has; kept with the consent (`details`). */
export interface PaymentConsentDetails {
  /** The Payments API version that created it; it is always answered in that version's shape. */
  apiVersion: PaymentsApiVersion
  /** The request's `data` as accepted: loggedUser, businessEntity, creditor, payment, debtorAccount. */
  request: PaymentConsentRequest
  /** The customer's account debited, fixed at authorisation. */
  authorisedDebtorAccount?: { resourceId: string; account: PaymentAccount }
  /** The payments that consumed it. */
  paymentIds?: string[]
  /** How many distinct customers must approve it (the debtor account's policy, from the core); absent = 1. */
  approversRequired?: number
  /** The approvals recorded so far, in order (the journey's first, then the bank channels'). */
  approvals?: Array<{ cpf: string; at: string }>
}

/** The accepted `data` of `CreatePaymentConsent`. */
export interface PaymentConsentRequest {
  loggedUser: { document: { identification: string; rel: string } }
  businessEntity?: { document: { identification: string; rel: string } }
  creditor: { personType: 'PESSOA_NATURAL' | 'PESSOA_JURIDICA'; cpfCnpj: string; name: string }
  payment: Record<string, unknown>
  debtorAccount?: PaymentAccount
}

/** A consent as the service holds it. Times are `Date`s; `expirationDateTime` undefined = indefinite. */
export interface Consent {
  consentId: string
  kind: ConsentKind
  status: ConsentStatus
  clientId: string
  organisationId?: string
  permissions: Permission[]
  loggedUserCpf: string
  businessEntityCnpj?: string
  expirationDateTime?: Date
  createdAt: Date
  statusUpdatedAt: Date
  /** When an unauthorised consent stops being authorisable. */
  authorisationDeadline: Date
  resources: ConsentResource[]
  /** The customer who authorised it (equals `loggedUserCpf` by construction). */
  authorisedCpf?: string
  authorisedCnpj?: string
  acr?: string
  rejection?: { rejectedBy: RejectedBy; reason: RejectionReason; additionalInformation?: string }
  isLinked?: boolean
  linkId?: string
  /** Set for `kind: 'payment'`. */
  payment?: PaymentConsentDetails
}

/** Who caused a change. */
export interface Actor {
  type: 'TPP' | 'CUSTOMER' | 'STAFF' | 'SYSTEM'
  id?: string
}

export type Action = 'created' | 'authorised' | 'partially_accepted' | 'approved' | 'rejected' | 'revoked' | 'expired' | 'extended' | 'consumed'

/** A renewal (`POST /consents/{id}/extends`), as recorded in the extensions history. */
export interface Extension {
  requestedAt: Date
  expirationDateTime?: Date
  previousExpirationDateTime?: Date
  loggedUserCpf: string
  businessEntityCnpj?: string
  customerIpAddress: string
  customerUserAgent: string
}

/** A decided state change: the consent before and after, and what the audit trail and the event say about it. */
export interface Change {
  before?: Consent
  after: Consent
  action: Action
  actor: Actor
  reason?: string
  additionalInformation?: string
  extension?: Extension
}

/**
 * What a transition function decided: a change to persist, a refusal to answer, or both (a request on an overdue
 * consent first records its expiry, then is refused because of it).
 */
export interface Decision {
  change?: Change
  refusal?: DomainError
}

/** Data consents must be authorised within 60 minutes of creation (docs/regulation/consents.md#authorisation-window). */
export const DATA_AUTHORISATION_WINDOW_MS = 60 * 60_000

/** A payment consent must be authorised within 5 minutes of creation (docs/regulation/payments.md#payment-consent-expiry). */
export const PAYMENT_AUTHORISATION_WINDOW_MS = 5 * 60_000

/** An authorised payment consent must be consumed within 60 minutes (docs/regulation/payments.md#payment-consent-expiry). */
export const PAYMENT_CONSUMPTION_WINDOW_MS = 60 * 60_000

/** The spec's `detail` of each payment consent rejection code (`ConsentRejectionReason`). */
export const PAYMENT_REJECTION_DETAILS: Record<PaymentRejectionCode, string> = {
  TEMPO_EXPIRADO_AUTORIZACAO: 'Consentimento expirou antes que o usuário pudesse confirmá-lo.',
  TEMPO_EXPIRADO_CONSUMO: 'O usuário não finalizou o fluxo de pagamento e o consentimento expirou.',
  REJEITADO_USUARIO: 'O usuário rejeitou a autorização do consentimento.',
  FALHA_INFRAESTRUTURA: 'Falha de infraestrutura na detentora durante o processamento do consentimento.',
  NAO_INFORMADO: 'Não informada pela detentora de conta.',
}

/** The v2.2 "indefinite" date, accepted as indefinite during the coexistence period (docs/regulation/consents.md#consent-expiry-date). */
export const LEGACY_INDEFINITE = '2300-01-01T00:00:00Z'

/** The latest expiry a consent may have when created or renewed at `now`: one year ahead. */
export function maxExpiry(now: Date): Date {
  const max = new Date(now.getTime())
  max.setUTCFullYear(max.getUTCFullYear() + 1)
  return max
}

const unprocessable = (ofbCode: string, title: string, detail: string) => new DomainError('UNPROCESSABLE_ENTITY', detail, { ofbCode, title })

/** Refusal codes per channel. */
export const refusals = {
  expiryInvalid: (detail: string) => unprocessable('DATA_EXPIRACAO_INVALIDA', 'Data de expiração inválida', detail),
  deleteRejected: () => unprocessable('CONSENTIMENTO_EM_STATUS_REJEITADO', 'Consentimento em status rejeitado', 'o consentimento já está no status REJECTED'),
  extendState: (status: ConsentStatus) =>
    unprocessable('ESTADO_CONSENTIMENTO_INVALIDO', 'Estado inválido do consentimento.',
      `O consentimento informado não pode ser renovado sem redirecionamento porque está no status ${status}.`),
  extendExpiry: (detail: string) =>
    unprocessable('DATA_EXPIRACAO_INVALIDA', 'Nova data para expiração do consentimento é inválida.',
      `O consentimento informado não pode ser renovado pois a nova data de expiração não segue a convenção do ecossistema: ${detail}.`),
  internalState: (status: ConsentStatus, op: string) =>
    unprocessable('CONSENT_STATE_INVALID', 'Estado do consentimento inválido', `cannot ${op} a consent in status ${status}`),
}

/**
 * Parses a requested expiry: absent or the legacy 2300-01-01 form = indefinite (undefined); otherwise it must be
 * after `now` and at most one year ahead. Returns the date or a reason for `DATA_EXPIRACAO_INVALIDA`.
 */
export function parseRequestedExpiry(value: string | undefined, now: Date): { ok: true; value: Date | undefined } | { ok: false; detail: string } {
  if (value === undefined || value === LEGACY_INDEFINITE) return { ok: true, value: undefined }
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return { ok: false, detail: 'data inválida' }
  if (date.getTime() <= now.getTime()) return { ok: false, detail: 'a data de expiração deve estar no futuro' }
  if (date.getTime() > maxExpiry(now).getTime()) return { ok: false, detail: 'a data de expiração deve ser no máximo um ano à frente' }
  return { ok: true, value: date }
}

/** Input of {@link createConsent}, already validated by {@link resolvePermissions}. */
export type NewConsent = Pick<Consent, 'consentId' | 'clientId' | 'organisationId' | 'permissions' | 'loggedUserCpf' | 'businessEntityCnpj' | 'expirationDateTime' | 'isLinked'>

/** A new data consent, `AWAITING_AUTHORISATION`, authorisable for 60 minutes. */
export function createConsent(input: NewConsent, now: Date): Change {
  const after: Consent = {
    consentId: input.consentId,
    kind: 'data',
    status: 'AWAITING_AUTHORISATION',
    clientId: input.clientId,
    permissions: [...input.permissions],
    loggedUserCpf: input.loggedUserCpf,
    createdAt: now,
    statusUpdatedAt: now,
    authorisationDeadline: new Date(now.getTime() + DATA_AUTHORISATION_WINDOW_MS),
    resources: [],
    ...(input.organisationId ? { organisationId: input.organisationId } : {}),
    ...(input.businessEntityCnpj ? { businessEntityCnpj: input.businessEntityCnpj } : {}),
    ...(input.expirationDateTime ? { expirationDateTime: input.expirationDateTime } : {}),
    ...(input.isLinked !== undefined ? { isLinked: input.isLinked } : {}),
  }
  return { after, action: 'created', actor: { type: 'TPP', id: input.clientId } }
}

function toRejected(c: Consent, now: Date, rejectedBy: RejectedBy, reason: RejectionReason, additionalInformation?: string): Consent {
  if (c.kind === 'payment') {
    // A payment consent states its reason with the Payments API's codes and their detail.
    const code = paymentReasonFor(reason)
    return { ...c, status: 'REJECTED', statusUpdatedAt: now, rejection: { rejectedBy, reason: code, additionalInformation: PAYMENT_REJECTION_DETAILS[code] } }
  }
  return {
    ...c,
    status: 'REJECTED',
    statusUpdatedAt: now,
    rejection: { rejectedBy, reason, ...(additionalInformation ? { additionalInformation } : {}) },
  }
}

/** The Payments API's rejection code for a shared rejection reason. */
function paymentReasonFor(reason: RejectionReason): PaymentRejectionCode {
  switch (reason) {
    case 'CUSTOMER_MANUALLY_REJECTED': return 'REJEITADO_USUARIO'
    case 'CONSENT_TECHNICAL_ISSUE': return 'FALHA_INFRAESTRUTURA'
    case 'CONSENT_EXPIRED': return 'TEMPO_EXPIRADO_AUTORIZACAO'
    case 'CONSENT_MAX_DATE_REACHED': return 'TEMPO_EXPIRADO_CONSUMO'
    case 'TEMPO_EXPIRADO_AUTORIZACAO':
    case 'TEMPO_EXPIRADO_CONSUMO':
    case 'REJEITADO_USUARIO':
    case 'FALHA_INFRAESTRUTURA':
    case 'NAO_INFORMADO':
      return reason
    default: return 'NAO_INFORMADO'
  }
}

/**
 * The time-based transition due at `now`, if any: an `AWAITING_AUTHORISATION` consent past its authorisation
 * deadline is rejected (`CONSENT_EXPIRED`); an `AUTHORISED` consent past its expiry is rejected
 * (`CONSENT_MAX_DATE_REACHED`). Applied by the scheduler and, lazily, by every read and write of the consent.
 */
export function dueTransition(c: Consent, now: Date): Change | undefined {
  const t = now.getTime()
  const payment = c.kind === 'payment'
  // A PARTIALLY_ACCEPTED consent's deadline is its approval deadline (set by authorisePayment).
  if ((c.status === 'AWAITING_AUTHORISATION' || c.status === 'PARTIALLY_ACCEPTED') && t >= c.authorisationDeadline.getTime()) {
    const reason = payment ? 'TEMPO_EXPIRADO_AUTORIZACAO' : 'CONSENT_EXPIRED'
    return { before: c, after: toRejected(c, now, 'ASPSP', reason), action: 'expired', actor: { type: 'SYSTEM' }, reason }
  }
  if (c.status === 'AUTHORISED' && c.expirationDateTime && t >= c.expirationDateTime.getTime()) {
    // For a payment consent this is the 60-minute consumption window (its expirationDateTime).
    const reason = payment ? 'TEMPO_EXPIRADO_CONSUMO' : 'CONSENT_MAX_DATE_REACHED'
    return { before: c, after: toRejected(c, now, 'ASPSP', reason), action: 'expired', actor: { type: 'SYSTEM' }, reason }
  }
  return undefined
}

/** Applies the due time-based transition first; a due expiry is recorded and the operation refused with `refuse`. */
function guarded(c: Consent, now: Date, refuse: (after: Consent) => DomainError, decide: () => Decision): Decision {
  const due = dueTransition(c, now)
  if (due) return { change: due, refusal: refuse(due.after) }
  return decide()
}

/** Input of {@link authorise}: what the customer chose and who they are (from auth-server). */
export interface AuthoriseInput {
  resources: ConsentResource[]
  authenticatedUser: { cpf: string; cnpj?: string }
  acr?: string
}

/**
 * The customer approves: only `AWAITING_AUTHORISATION` within its window, only by the `loggedUser` (CPF) and, for a
 * business consent, for its `businessEntity` (CNPJ); resources must be of types the permissions cover.
 */
export function authorise(c: Consent, input: AuthoriseInput, now: Date): Decision {
  if (c.kind === 'payment') {
    return { refusal: new DomainError('UNPROCESSABLE_ENTITY', 'a payment consent is authorised through /internal/payment-consents', { ofbCode: 'CONSENT_STATE_INVALID', title: 'Estado do consentimento inválido' }) }
  }
  return guarded(c, now, (after) => refusals.internalState(after.status, 'authorise'), () => {
    if (c.status !== 'AWAITING_AUTHORISATION') return { refusal: refusals.internalState(c.status, 'authorise') }
    if (input.authenticatedUser.cpf !== c.loggedUserCpf) {
      return { refusal: new DomainError('FORBIDDEN', 'the authenticated customer is not the consent\'s loggedUser') }
    }
    if (c.businessEntityCnpj ? input.authenticatedUser.cnpj !== c.businessEntityCnpj : input.authenticatedUser.cnpj !== undefined) {
      return { refusal: new DomainError('FORBIDDEN', 'the authenticated business is not the consent\'s businessEntity') }
    }
    const allowed = resourceTypesOf(c.permissions)
    const outside = input.resources.filter((r) => !allowed.has(r.type))
    if (outside.length) {
      return { refusal: new DomainError('INVALID_PARAMETER', `resource types not covered by the consent's permissions: ${[...new Set(outside.map((r) => r.type))].join(', ')}`) }
    }
    const seen = new Set<string>()
    const resources = input.resources.filter((r) => {
      const key = `${r.type}:${r.resourceId}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    if (resources.length === 0 && allowed.size > 0) {
      return { refusal: new DomainError('INVALID_PARAMETER', 'at least one resource must be chosen for these permissions') }
    }
    const after: Consent = {
      ...c,
      status: 'AUTHORISED',
      statusUpdatedAt: now,
      resources,
      authorisedCpf: input.authenticatedUser.cpf,
      ...(input.authenticatedUser.cnpj ? { authorisedCnpj: input.authenticatedUser.cnpj } : {}),
      ...(input.acr ? { acr: input.acr } : {}),
    }
    return { change: { before: c, after, action: 'authorised', actor: { type: 'CUSTOMER', id: input.authenticatedUser.cpf } } }
  })
}

/** Input of {@link reject} (auth-server: the customer refused, or the journey failed). */
export interface RejectInput {
  reason: 'CUSTOMER_MANUALLY_REJECTED' | 'CONSENT_TECHNICAL_ISSUE' | 'INTERNAL_SECURITY_REASON'
  additionalInformation?: string
  actor: Actor
}

/**
 * Rejection during or right after the journey. The customer refuses only an `AWAITING_AUTHORISATION` consent
 * (`rejectedBy: USER`); a technical or security failure may also end an `AUTHORISED` one (`rejectedBy: ASPSP`).
 */
export function reject(c: Consent, input: RejectInput, now: Date): Decision {
  return guarded(c, now, (after) => refusals.internalState(after.status, 'reject'), () => {
    const fromAwaiting = c.status === 'AWAITING_AUTHORISATION'
    const allowed = fromAwaiting || (c.status === 'AUTHORISED' && input.reason !== 'CUSTOMER_MANUALLY_REJECTED')
    if (!allowed) return { refusal: refusals.internalState(c.status, 'reject') }
    const rejectedBy: RejectedBy = input.reason === 'CUSTOMER_MANUALLY_REJECTED' ? 'USER' : 'ASPSP'
    return {
      change: {
        before: c,
        after: toRejected(c, now, rejectedBy, input.reason, input.additionalInformation),
        action: 'rejected',
        actor: input.actor,
        reason: input.reason,
        ...(input.additionalInformation ? { additionalInformation: input.additionalInformation } : {}),
      },
    }
  })
}

/** Input of {@link revoke}. */
export interface RevokeInput {
  actor: Actor
  reason: 'CUSTOMER_MANUALLY_REVOKED' | 'INTERNAL_SECURITY_REASON' | 'CONSENT_TECHNICAL_ISSUE'
  additionalInformation?: string
}

/** Who a revocation is attributed to in the consent's `rejection.rejectedBy`. */
function revokedBy(actor: Actor): RejectedBy {
  if (actor.type === 'TPP') return 'TPP'
  if (actor.type === 'CUSTOMER') return 'USER'
  return 'ASPSP'
}

/**
 * Revocation by the customer (bank channel), bank staff or the system: any non-final consent becomes `REJECTED`.
 * A revocation of a `REJECTED` consent is refused with `refusal` (its code depends on the channel).
 */
export function revoke(c: Consent, input: RevokeInput, now: Date, refusal: (status: ConsentStatus) => DomainError = (s) => refusals.internalState(s, 'revoke')): Decision {
  return guarded(c, now, (after) => refusal(after.status), () => {
    if (c.status !== 'AWAITING_AUTHORISATION' && c.status !== 'AUTHORISED') return { refusal: refusal(c.status) }
    return {
      change: {
        before: c,
        after: toRejected(c, now, revokedBy(input.actor), input.reason, input.additionalInformation),
        action: 'revoked',
        actor: input.actor,
        reason: input.reason,
        ...(input.additionalInformation ? { additionalInformation: input.additionalInformation } : {}),
      },
    }
  })
}

/** `DELETE /consents/{consentId}` by the TPP: `rejectedBy: TPP`, `CUSTOMER_MANUALLY_REVOKED`; 422 on `REJECTED`. */
export function revokeByTpp(c: Consent, clientId: string, now: Date): Decision {
  return revoke(c, { actor: { type: 'TPP', id: clientId }, reason: 'CUSTOMER_MANUALLY_REVOKED' }, now, () => refusals.deleteRejected())
}

/** Input of {@link extend}: the renewal request and the identity in the TPP's authorization_code token. */
export interface ExtendInput {
  expirationDateTime?: string
  loggedUserCpf: string
  businessEntityCnpj?: string
  /** The customer the access token was issued to (gateway-verified). */
  tokenCustomer: { cpf: string; cnpj?: string }
  customerIpAddress: string
  customerUserAgent: string
}

function extendIdentityRefusal(c: Consent, input: ExtendInput): DomainError | undefined {
  if (c.businessEntityCnpj) {
    if (input.businessEntityCnpj !== c.businessEntityCnpj || input.tokenCustomer.cnpj !== c.businessEntityCnpj) {
      return new DomainError('FORBIDDEN', 'a renovação de um consentimento PJ exige a mesma businessEntity')
    }
    return undefined
  }
  if (input.loggedUserCpf !== c.loggedUserCpf || input.tokenCustomer.cpf !== c.loggedUserCpf || input.businessEntityCnpj !== undefined) {
    return new DomainError('FORBIDDEN', 'a renovação de um consentimento PF exige o mesmo loggedUser')
  }
  return undefined
}

/**
 * Renewal without redirect: only an `AUTHORISED` consent; a personal consent only by its `loggedUser`, a business
 * consent by a user of the same `businessEntity`; the new expiry later than the current one (or indefinite), in the
 * future and at most a year ahead. Identity mismatches are security errors (403), which take precedence over 422.
 */
export function extend(c: Consent, input: ExtendInput, now: Date): Decision {
  const identity = extendIdentityRefusal(c, input)
  return guarded(c, now, (after) => identity ?? refusals.extendState(after.status), () => {
    if (identity) return { refusal: identity }
    if (c.status !== 'AUTHORISED') return { refusal: refusals.extendState(c.status) }
    const parsed = parseRequestedExpiry(input.expirationDateTime, now)
    if (!parsed.ok) return { refusal: refusals.extendExpiry(parsed.detail) }
    if (parsed.value && (!c.expirationDateTime || parsed.value.getTime() <= c.expirationDateTime.getTime())) {
      return { refusal: refusals.extendExpiry('a nova data deve ser posterior à data de expiração atual') }
    }
    const { expirationDateTime: _previous, ...rest } = c
    const after: Consent = { ...rest, statusUpdatedAt: now, ...(parsed.value ? { expirationDateTime: parsed.value } : {}) }
    const extension: Extension = {
      requestedAt: now,
      loggedUserCpf: input.loggedUserCpf,
      customerIpAddress: input.customerIpAddress,
      customerUserAgent: input.customerUserAgent,
      ...(parsed.value ? { expirationDateTime: parsed.value } : {}),
      ...(c.expirationDateTime ? { previousExpirationDateTime: c.expirationDateTime } : {}),
      ...(input.businessEntityCnpj ? { businessEntityCnpj: input.businessEntityCnpj } : {}),
    }
    return { change: { before: c, after, action: 'extended', actor: { type: 'CUSTOMER', id: input.loggedUserCpf }, extension } }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Payment consents (docs/regulation/payments.md#payment-consent-lifecycle)
// ---------------------------------------------------------------------------------------------------------------

/** Input of {@link createPaymentConsent}: the accepted request (see payment-rules.ts) and its owner. */
export interface NewPaymentConsent {
  consentId: string
  clientId: string
  organisationId: string
  apiVersion: PaymentsApiVersion
  request: PaymentConsentRequest
}

/**
 * A new payment consent, `AWAITING_AUTHORISATION`, whose `expirationDateTime` is creation + 5 minutes
 * (docs/regulation/payments.md#payment-consent-expiry).
 */
export function createPaymentConsent(input: NewPaymentConsent, now: Date): Change {
  const deadline = new Date(now.getTime() + PAYMENT_AUTHORISATION_WINDOW_MS)
  const after: Consent = {
    consentId: input.consentId,
    kind: 'payment',
    status: 'AWAITING_AUTHORISATION',
    clientId: input.clientId,
    organisationId: input.organisationId,
    permissions: [],
    loggedUserCpf: input.request.loggedUser.document.identification,
    createdAt: now,
    statusUpdatedAt: now,
    authorisationDeadline: deadline,
    expirationDateTime: deadline,
    resources: [],
    payment: { apiVersion: input.apiVersion, request: input.request },
    ...(input.request.businessEntity ? { businessEntityCnpj: input.request.businessEntity.document.identification } : {}),
  }
  return { after, action: 'created', actor: { type: 'TPP', id: input.clientId } }
}

/** The LoA3 `acr` a payment consent requires (docs/regulation/security-profile.md#authentication-levels-acr). */
export const LOA3 = 'urn:brasil:openbanking:loa3'

/** Input of {@link authorisePayment} (auth-server, after the customer approved). */
export interface AuthorisePaymentInput {
  authenticatedUser: { cpf: string; cnpj?: string }
  acr: string
  debtorAccount: { resourceId: string; account: PaymentAccount }
  /** How many distinct customers must approve payments from that account (the core's policy); absent = 1. */
  approversRequired?: number
}

const notPayment = () => new DomainError('NOT_FOUND', 'payment consent not found')

/** Whether two Payments API accounts are the same (branch compared only when both name one). */
export function sameAccount(a: PaymentAccount, b: PaymentAccount): boolean {
  return a.ispb === b.ispb && a.number === b.number && a.accountType === b.accountType && (a.issuer ?? '') === (b.issuer ?? '')
}

/**
 * The customer approves a payment consent: only `AWAITING_AUTHORISATION` within its 5 minutes, only at LoA3, only by
 * the `loggedUser` (and for the `businessEntity`), and with the consent's own debtor account when it named one. The
 * account is fixed from then on, and the consent must be consumed within 60 minutes.
 */
export function authorisePayment(c: Consent, input: AuthorisePaymentInput, now: Date): Decision {
  if (c.kind !== 'payment' || !c.payment) return { refusal: notPayment() }
  const details = c.payment
  return guarded(c, now, (after) => refusals.internalState(after.status, 'authorise'), () => {
    if (c.status !== 'AWAITING_AUTHORISATION') return { refusal: refusals.internalState(c.status, 'authorise') }
    if (input.acr !== LOA3) return { refusal: new DomainError('FORBIDDEN', 'a payment consent must be authorised at LoA3') }
    if (input.authenticatedUser.cpf !== c.loggedUserCpf) {
      return { refusal: new DomainError('FORBIDDEN', 'the authenticated customer is not the consent\'s loggedUser') }
    }
    if (c.businessEntityCnpj ? input.authenticatedUser.cnpj !== c.businessEntityCnpj : input.authenticatedUser.cnpj !== undefined) {
      return { refusal: new DomainError('FORBIDDEN', 'the authenticated business is not the consent\'s businessEntity') }
    }
    const named = details.request.debtorAccount
    if (named && !sameAccount(named, input.debtorAccount.account)) {
      return { refusal: new DomainError('UNPROCESSABLE_ENTITY', 'the debtor account differs from the one the consent names', { ofbCode: 'DEBTOR_ACCOUNT_MISMATCH', title: 'Conta de origem divergente' }) }
    }
    const required = input.approversRequired ?? 1
    const fixed: Consent = {
      ...c,
      statusUpdatedAt: now,
      authorisedCpf: input.authenticatedUser.cpf,
      acr: input.acr,
      ...(input.authenticatedUser.cnpj ? { authorisedCnpj: input.authenticatedUser.cnpj } : {}),
      payment: {
        ...details,
        authorisedDebtorAccount: { resourceId: input.debtorAccount.resourceId, account: { ...input.debtorAccount.account } },
        ...(required > 1 ? { approversRequired: required, approvals: [{ cpf: input.authenticatedUser.cpf, at: now.toISOString() }] } : {}),
      },
    }
    if (required > 1) {
      // docs/regulation/payments.md#multiple-approvers: the first of several; the expiry is the approval deadline.
      const deadline = approvalDeadline(details.request.payment, c.createdAt)
      if (!deadline || deadline.getTime() <= now.getTime()) {
        return { refusal: new DomainError('UNPROCESSABLE_ENTITY', 'the approval deadline for the other approvers has already passed', { ofbCode: 'CONSENT_STATE_INVALID', title: 'Estado do consentimento inválido' }) }
      }
      const after: Consent = { ...fixed, status: 'PARTIALLY_ACCEPTED', authorisationDeadline: deadline, expirationDateTime: deadline }
      return { change: { before: c, after, action: 'partially_accepted', actor: { type: 'CUSTOMER', id: input.authenticatedUser.cpf } } }
    }
    const after: Consent = { ...fixed, status: 'AUTHORISED', expirationDateTime: new Date(now.getTime() + PAYMENT_CONSUMPTION_WINDOW_MS) }
    return { change: { before: c, after, action: 'authorised', actor: { type: 'CUSTOMER', id: input.authenticatedUser.cpf } } }
  })
}

/** Input of {@link approvePayment}: an approver's decision in the bank's channels. */
export interface ApprovePaymentInput {
  /** The approver, authenticated by the bank channel, which also checked they may act for the account. */
  approverCpf: string
  decision: 'APPROVE' | 'REJECT'
  /** The channel that recorded it (audit). */
  channel: string
}

/**
 * Another approver decides on a `PARTIALLY_ACCEPTED` consent (docs/regulation/payments.md#multiple-approvers).
 * An approval by a CPF already recorded changes nothing (one approver counts once); the last approval needed makes it
 * `AUTHORISED` with the 60-minute consumption window from now. A refusal makes it `REJECTED` (`REJEITADO_USUARIO`).
 */
export function approvePayment(c: Consent, input: ApprovePaymentInput, now: Date): Decision {
  if (c.kind !== 'payment' || !c.payment) return { refusal: notPayment() }
  const details = c.payment
  return guarded(c, now, (after) => refusals.internalState(after.status, 'approve'), () => {
    if (c.status !== 'PARTIALLY_ACCEPTED') return { refusal: refusals.internalState(c.status, 'approve') }
    const actor: Actor = { type: 'CUSTOMER', id: input.approverCpf }
    if (input.decision === 'REJECT') {
      const reason = 'CUSTOMER_MANUALLY_REJECTED'
      return { change: { before: c, after: toRejected(c, now, 'USER', reason), action: 'rejected', actor, reason, additionalInformation: `channel ${input.channel}` } }
    }
    const approvals = details.approvals ?? []
    if (approvals.some((a) => a.cpf === input.approverCpf)) return {}
    const recorded = [...approvals, { cpf: input.approverCpf, at: now.toISOString() }]
    const payment = { ...details, approvals: recorded }
    if (recorded.length < (details.approversRequired ?? 1)) {
      return { change: { before: c, after: { ...c, payment }, action: 'approved', actor, additionalInformation: `channel ${input.channel}` } }
    }
    const after: Consent = { ...c, status: 'AUTHORISED', statusUpdatedAt: now, expirationDateTime: new Date(now.getTime() + PAYMENT_CONSUMPTION_WINDOW_MS), payment }
    return { change: { before: c, after, action: 'authorised', actor, additionalInformation: `channel ${input.channel}` } }
  })
}

/**
 * The payments were initiated (connectors): `AUTHORISED` → `CONSUMED`, final. Consuming a `CONSUMED` consent again
 * changes nothing (idempotent: a retried call after a lost answer); any other status is refused.
 */
export function consume(c: Consent, input: { paymentIds: string[]; by: string }, now: Date): Decision {
  if (c.kind !== 'payment' || !c.payment) return { refusal: notPayment() }
  const details = c.payment
  if (c.status === 'CONSUMED') return {}
  return guarded(c, now, (after) => refusals.internalState(after.status, 'consume'), () => {
    if (c.status !== 'AUTHORISED') return { refusal: refusals.internalState(c.status, 'consume') }
    const after: Consent = { ...c, status: 'CONSUMED', statusUpdatedAt: now, payment: { ...details, paymentIds: [...input.paymentIds] } }
    return { change: { before: c, after, action: 'consumed', actor: { type: 'SYSTEM', id: input.by } } }
  })
}
