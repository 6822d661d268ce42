import { DomainError } from '@ponte/platform'
import { resourceTypesOf, type ConsentResource, type Permission } from '@ponte/contracts'

/**
 * The consent lifecycle, in one place (docs/regulation/consents.md#consent-statuses). Every state change of a consent is decided here by a pure
 * function of the current consent, the request and the time; the service persists the decision atomically with its
 * audit row and its event. No function here does I/O.
 *
 *   AWAITING_AUTHORISATION ─authorise─▶ AUTHORISED ─extend─▶ AUTHORISED
 *            │                               │
 *            ├─reject / revoke / expire──▶ REJECTED ◀── revoke / reject (technical, security) / expire
 *
 * REJECTED is final.
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
}

/** Who caused a change. */
export interface Actor {
  type: 'TPP' | 'CUSTOMER' | 'STAFF' | 'SYSTEM'
  id?: string
}

export type Action = 'created' | 'authorised' | 'rejected' | 'revoked' | 'expired' | 'extended'

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
  return {
    ...c,
    status: 'REJECTED',
    statusUpdatedAt: now,
    rejection: { rejectedBy, reason, ...(additionalInformation ? { additionalInformation } : {}) },
  }
}

/**
 * The time-based transition due at `now`, if any: an `AWAITING_AUTHORISATION` consent past its authorisation
 * deadline is rejected (`CONSENT_EXPIRED`); an `AUTHORISED` consent past its expiry is rejected
 * (`CONSENT_MAX_DATE_REACHED`). Applied by the scheduler and, lazily, by every read and write of the consent.
 */
export function dueTransition(c: Consent, now: Date): Change | undefined {
  const t = now.getTime()
  if (c.status === 'AWAITING_AUTHORISATION' && t >= c.authorisationDeadline.getTime()) {
    return { before: c, after: toRejected(c, now, 'ASPSP', 'CONSENT_EXPIRED'), action: 'expired', actor: { type: 'SYSTEM' }, reason: 'CONSENT_EXPIRED' }
  }
  if (c.status === 'AUTHORISED' && c.expirationDateTime && t >= c.expirationDateTime.getTime()) {
    return { before: c, after: toRejected(c, now, 'ASPSP', 'CONSENT_MAX_DATE_REACHED'), action: 'expired', actor: { type: 'SYSTEM' }, reason: 'CONSENT_MAX_DATE_REACHED' }
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
