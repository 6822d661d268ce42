import { z } from 'zod'
import { eventEnvelope, EventTime } from './envelope.ts'
import { Cnpj, Cpf } from './internal.ts'

/**
 * Pix payment initiation (Payments v4 and v5): what crosses a boundary between Ponte's services. The regulated bodies
 * themselves are the official schemas (specs/ofb/payments-v4.0.1.yaml, payments-v5.0.0.yaml); rules:
 * docs/regulation/payments.md.
 *
 * Who does what:
 * - gateway: verifies the request's JWS (PS256, the TPP's keys from the directory, `aud`, `iss`, `iat`, `jti` replay),
 *   forwards the JWS payload's `data` as JSON (`{"data": …}`) with the caller context in the service token, and signs
 *   the upstream's 2xx and 422 JSON answers with the bank's key (`application/jwt`, `aud` = the client's organisation).
 *   Upstream services speak JSON only and never see a JWS.
 * - consent: payment consents (`/open-banking/payments/{v4|v5}/consents[/{consentId}]`), their lifecycle and clocks,
 *   idempotency of `POST /consents` in the same transaction as the insert.
 * - connectors: Pix payments (`/pix/payments…`, and v5's `/consents/{consentId}/pix/payments`), their status machine
 *   and scheduler on the core's Pix rail, idempotency of `POST /pix/payments` in the same transaction as the insert,
 *   payment events; webhook delivery.
 * - auth-server: the customer's journey for a payment consent (LoA3 with TOTP, debtor account choice), `webhook_uris`.
 */

/** The two served versions. One implementation serves both; the differences live in one place per service. */
export const PaymentsApiVersion = z.enum(['v4', 'v5'])
export type PaymentsApiVersion = z.infer<typeof PaymentsApiVersion>

/** Payment consent statuses (`EnumAuthorisationStatusType`). */
export const PaymentConsentStatus = z.enum(['AWAITING_AUTHORISATION', 'PARTIALLY_ACCEPTED', 'AUTHORISED', 'REJECTED', 'CONSUMED'])
export type PaymentConsentStatus = z.infer<typeof PaymentConsentStatus>

/** Pix payment statuses (`EnumPaymentStatusType`). */
export const PixPaymentStatus = z.enum(['RCVD', 'CANC', 'ACCP', 'ACPD', 'RJCT', 'ACSC', 'PDNG', 'SCHD'])
export type PixPaymentStatus = z.infer<typeof PixPaymentStatus>

/** `localInstrument` (v5 adds APES and APDN). */
export const LocalInstrument = z.enum(['MANU', 'DICT', 'QRDN', 'QRES', 'INIC', 'APES', 'APDN'])
export type LocalInstrument = z.infer<typeof LocalInstrument>

/** A debtor or creditor account as the Payments API writes it. */
export const PaymentAccount = z.object({
  ispb: z.string().regex(/^[0-9]{8}$/),
  issuer: z.string().regex(/^[0-9]{1,4}$/).optional(),
  number: z.string().regex(/^[0-9]{1,20}$/),
  accountType: z.enum(['CACC', 'SVGS', 'TRAN']),
})
export type PaymentAccount = z.infer<typeof PaymentAccount>

// ---------------------------------------------------------------------------------------------------------------
// consent service (audience `consent`): payment consents for the journey and for connectors
// ---------------------------------------------------------------------------------------------------------------

/**
 * `GET /internal/payment-consents/{consentId}`: a payment consent as the journey (auth-server) and connectors need it.
 * 404 `NOT_FOUND` when it does not exist or is a data consent. Overdue clocks are applied on read (an expired consent
 * answers `REJECTED` with its reason).
 */
export const InternalPaymentConsent = z.object({
  consentId: z.string(),
  apiVersion: PaymentsApiVersion,
  status: PaymentConsentStatus,
  clientId: z.string(),
  organisationId: z.string(),
  creationDateTime: z.string(),
  statusUpdateDateTime: z.string(),
  /** While AWAITING_AUTHORISATION: creation + 5 min; PARTIALLY_ACCEPTED: the approval deadline; once AUTHORISED: authorisation + 60 min. */
  expirationDateTime: z.string(),
  loggedUser: z.object({ cpf: Cpf }),
  businessEntity: z.object({ cnpj: Cnpj }).optional(),
  creditor: z.object({ personType: z.enum(['PESSOA_NATURAL', 'PESSOA_JURIDICA']), cpfCnpj: z.string(), name: z.string() }),
  /** The debtor account the TPP named in the consent, if any. */
  debtorAccount: PaymentAccount.optional(),
  /** The consent's `payment` object exactly as accepted (amount, currency, date | schedule, details, ibgeTownCode…). */
  payment: z.record(z.string(), z.unknown()),
  /** The customer's account debited, fixed at authorisation (the consent's debtorAccount, or the one the customer chose). */
  authorisedDebtorAccount: z.object({ resourceId: z.string(), account: PaymentAccount }).optional(),
  /** The authenticated customer, set at authorisation. */
  authorisedBy: z.object({ cpf: Cpf, cnpj: Cnpj.optional() }).optional(),
  rejectionReason: z.object({ code: z.string(), detail: z.string() }).optional(),
  /** Consents that need several approvers: how many, and how many have approved so far. */
  approvals: z.object({ required: z.number().int(), received: z.number().int() }).optional(),
})
export type InternalPaymentConsent = z.infer<typeof InternalPaymentConsent>

/**
 * `POST /internal/payment-consents/{consentId}/authorise` (auth-server, after the customer approved with LoA3).
 * 422 `CONSENT_STATE_INVALID` unless AWAITING_AUTHORISATION within its 5 minutes; 403 `FORBIDDEN` when the CPF differs
 * from `loggedUser` (or the CNPJ from `businessEntity`), or when `acr` is not LoA3; 422 when `debtorAccount` differs from
 * the consent's. Answers the updated {@link InternalPaymentConsent}. Rejection by the customer uses the shared
 * `POST /internal/consents/{consentId}/reject` (→ REJECTED, `REJEITADO_USUARIO`).
 */
export const AuthorisePaymentConsentRequest = z.object({
  authenticatedUser: z.object({ cpf: Cpf, cnpj: Cnpj.optional() }),
  acr: z.literal('urn:brasil:openbanking:loa3'),
  /** The customer's account to debit: its public id in the core and its Payments API form. */
  debtorAccount: z.object({ resourceId: z.string().min(1).max(100), account: PaymentAccount }),
  /**
   * How many distinct customers must approve payments from that account (the core's `approversRequired`); absent = 1.
   * More than one: the consent becomes PARTIALLY_ACCEPTED until the others approve in the bank's channels
   * (`/internal/payment-consents/{consentId}/approvals`).
   */
  approversRequired: z.number().int().min(1).max(10).optional(),
})
export type AuthorisePaymentConsentRequest = z.infer<typeof AuthorisePaymentConsentRequest>

/**
 * `POST /internal/payment-consents/{consentId}/consume` (connectors, once the payments of a `POST /pix/payments` are
 * recorded, or after a synchronous refusal that consumes the consent). AUTHORISED → CONSUMED; idempotent: consuming an
 * already CONSUMED consent again answers 200 unchanged. 422 `CONSENT_STATE_INVALID` from any other status.
 */
export const ConsumePaymentConsentRequest = z.object({
  /** The payments recorded for it (empty when a synchronous refusal consumed it). */
  paymentIds: z.array(z.string()).max(60),
})
export type ConsumePaymentConsentRequest = z.infer<typeof ConsumePaymentConsentRequest>

/**
 * `POST /internal/payment-consents/{consentId}/approvals` (a bank channel, docs/regulation/payments.md#multiple-approvers):
 * another approver of a PARTIALLY_ACCEPTED consent decides. The channel authenticated the approver and checked that
 * they may act for the debtor account. `APPROVE` by a CPF already recorded changes nothing; the last approval needed
 * makes it AUTHORISED (60 minutes to consume); `REJECT` makes it REJECTED (`REJEITADO_USUARIO`). 422
 * `CONSENT_STATE_INVALID` from any other status. Answers the updated {@link InternalPaymentConsent}.
 */
export const RecordPaymentApprovalRequest = z.object({
  approver: z.object({ cpf: Cpf }),
  decision: z.enum(['APPROVE', 'REJECT']),
})
export type RecordPaymentApprovalRequest = z.infer<typeof RecordPaymentApprovalRequest>

// ---------------------------------------------------------------------------------------------------------------
// connectors service (audience `connectors`): the customer's second factor, checked by the core
// ---------------------------------------------------------------------------------------------------------------

/**
 * `POST /internal/customers/verify-totp` (auth-server, LoA3 step). 200 `{ "valid": true|false }`; the core holds each
 * customer's TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s). A code is accepted once (no reuse within its window).
 */
export const VerifyCustomerTotpRequest = z.object({ cpf: Cpf, code: z.string().regex(/^[0-9]{6}$/) })
export const VerifyCustomerTotpResult = z.object({ valid: z.boolean() })

// ---------------------------------------------------------------------------------------------------------------
// connectors service (audience `connectors`): payments as the admin console finds and cancels them
// ---------------------------------------------------------------------------------------------------------------

/** A Pix payment as `GET /internal/payments` answers it; the customer's documents in clear (the console masks them). */
export const InternalPayment = z.object({
  paymentId: z.string(),
  consentId: z.string(),
  apiVersion: PaymentsApiVersion,
  clientId: z.string(),
  organisationId: z.string(),
  endToEndId: z.string(),
  ownerCpf: z.string(),
  ownerCnpj: z.string().optional(),
  localInstrument: z.string(),
  amount: z.string(),
  currency: z.string(),
  /** The Brasília calendar date on which it is (or was to be) paid. */
  paymentDate: z.string(),
  status: PixPaymentStatus,
  creditorName: z.string(),
  rejectionReason: z.object({ code: z.string(), detail: z.string() }).optional(),
  cancellation: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.string(),
  statusUpdatedAt: z.string(),
})
export type InternalPayment = z.infer<typeof InternalPayment>

/** One status a payment took (`GET /internal/payments/{id}` history, oldest first). */
export const PaymentStatusHistoryEntry = z.object({
  status: PixPaymentStatus,
  previousStatus: PixPaymentStatus.optional(),
  at: z.string(),
  /** The rejection or cancellation that came with the change. */
  detail: z.record(z.string(), z.unknown()).optional(),
})
export type PaymentStatusHistoryEntry = z.infer<typeof PaymentStatusHistoryEntry>

/** `GET /internal/payments?paymentId|consentId|cpf|organisationId&limit`: newest first. */
export const InternalPaymentSearchResult = z.object({ data: z.array(InternalPayment) })
/** `GET /internal/payments/{paymentId}`. */
export const InternalPaymentDetail = z.object({ payment: InternalPayment, history: z.array(PaymentStatusHistoryEntry) })

/**
 * `POST /internal/payments/{paymentId}/cancel` (the admin console): the payer asked the bank to cancel a PDNG or SCHD
 * payment. `requestedBy` names the staff member (kept in connectors' log; the console audits the action). Answers
 * `{ previousStatus, payment }`; 422 `PAGAMENTO_NAO_PERMITE_CANCELAMENTO` when it can no longer be cancelled.
 */
export const CancelPaymentRequest = z.object({ requestedBy: z.string().min(1).max(320) })
export const CancelPaymentResult = z.object({ previousStatus: PixPaymentStatus, payment: InternalPayment })

// ---------------------------------------------------------------------------------------------------------------
// auth-server (audience `auth-server`): what webhook delivery needs about a client
// ---------------------------------------------------------------------------------------------------------------

/** `GET /internal/clients/{clientId}/webhook`: the client's registered webhook URIs (empty when none). 404 unknown. */
export const ClientWebhookInfo = z.object({
  clientId: z.string(),
  organisationId: z.string(),
  webhookUris: z.array(z.url()),
  /** Suspended clients are not notified. */
  active: z.boolean(),
})
export type ClientWebhookInfo = z.infer<typeof ClientWebhookInfo>

// ---------------------------------------------------------------------------------------------------------------
// events: ponte.payment.v1 (key = paymentId), produced by connectors through its outbox
// ---------------------------------------------------------------------------------------------------------------

const paymentBase = {
  paymentId: z.string().min(1).max(100),
  consentId: z.string().min(1).max(256),
  clientId: z.string().min(1),
  organisationId: z.string().min(1),
  /** The API version that created the payment (webhooks use it). */
  apiVersion: PaymentsApiVersion,
  endToEndId: z.string().optional(),
  status: PixPaymentStatus,
  statusUpdateDateTime: EventTime,
}

/** A payment was recorded (status RCVD, SCHD, PDNG or RJCT). */
export const PaymentCreated = z.object({ ...eventEnvelope, type: z.literal('payment.created'), data: z.object(paymentBase) })
/** A payment changed status. */
export const PaymentStatusChanged = z.object({
  ...eventEnvelope,
  type: z.literal('payment.status-changed'),
  data: z.object({
    ...paymentBase,
    previousStatus: PixPaymentStatus,
    rejectionReason: z.object({ code: z.string(), detail: z.string() }).optional(),
    cancellation: z.object({ reason: z.string(), cancelledFrom: z.string(), cancelledBy: z.string().optional() }).optional(),
  }),
})
/** Any event of `ponte.payment.v1`. */
export const PaymentEvent = z.discriminatedUnion('type', [PaymentCreated, PaymentStatusChanged])
export type PaymentEvent = z.infer<typeof PaymentEvent>
