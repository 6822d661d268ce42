import { z } from 'zod'
import { Permission } from './permissions.ts'

/**
 * Internal HTTP contracts between Ponte services. Every internal call carries a service token (header
 * `x-ponte-service-token`, audience = target service); the bodies below are what crosses the wire. Regulated routes
 * served by `consent` and `connectors` receive the caller context the gateway verified in the token's `ctx` claim,
 * shaped as {@link CallerContext}; those services trust nothing else about the caller.
 */

/** A CPF: 11 digits. */
export const Cpf = z.string().regex(/^\d{11}$/)
/** A CNPJ: 14 characters, alphanumeric root (2026 format) and numeric check digits. */
export const Cnpj = z.string().regex(/^[0-9A-Z]{12}\d{2}$/)

/** The kinds of customer resources a consent can cover (Resources API v3 `type`). */
export const ResourceType = z.enum([
  'ACCOUNT',
  'CREDIT_CARD_ACCOUNT',
  'LOAN',
  'FINANCING',
  'UNARRANGED_ACCOUNT_OVERDRAFT',
  'INVOICE_FINANCING',
  'BANK_FIXED_INCOME',
  'CREDIT_FIXED_INCOME',
  'VARIABLE_INCOME',
  'TREASURE_TITLE',
  'FUND',
  'EXCHANGE',
])
export type ResourceType = z.infer<typeof ResourceType>

/** A resource chosen by the customer for a consent. `resourceId` is the id the data APIs expose. */
export const ConsentResource = z.object({ type: ResourceType, resourceId: z.string().min(1).max(100) })
export type ConsentResource = z.infer<typeof ConsentResource>

/** The consent facts the gateway verified for a regulated call (absent for client_credentials calls). */
export const ConsentContext = z.object({
  consentId: z.string(),
  /** The customer who authorised it. */
  customer: z.object({ cpf: Cpf, cnpj: Cnpj.optional() }),
  permissions: z.array(Permission),
  resources: z.array(ConsentResource),
})
export type ConsentContext = z.infer<typeof ConsentContext>

/** The `ctx` claim of the service token on a regulated call forwarded by the gateway. */
export const CallerContext = z.object({
  /** OAuth client id of the TPP. */
  clientId: z.string().min(1),
  /** Directory organisation id of the TPP. */
  organisationId: z.string().min(1),
  /** Software statement id (certificate UID). */
  softwareStatementId: z.string().optional(),
  /** Scopes of the access token. */
  scopes: z.array(z.string()),
  /** The `x-fapi-interaction-id` of the call. */
  interactionId: z.string().optional(),
  /** Present when the access token was issued for a consent (authorization_code / refresh_token). */
  consent: ConsentContext.optional(),
  /**
   * Payments: the payment consent the access token was issued for (authorization_code with `consent:<id> payments`).
   * The gateway does not check its status (docs/regulation/payments.md): the owning service does.
   */
  paymentConsentId: z.string().optional(),
})
export type CallerContext = z.infer<typeof CallerContext>

// ---------------------------------------------------------------------------------------------------------------
// consent service (audience `consent`)
// ---------------------------------------------------------------------------------------------------------------

/** Consent statuses (data and payment consents share the lifecycle owner). */
export const ConsentStatus = z.enum(['AWAITING_AUTHORISATION', 'AUTHORISED', 'REJECTED', 'PARTIALLY_ACCEPTED', 'CONSUMED', 'REVOKED'])

/**
 * `GET /internal/consents/{consentId}`: the consent as the journey (auth-server) and admin need it.
 * 404 `NOT_FOUND` when it does not exist.
 */
export const InternalConsent = z.object({
  consentId: z.string(),
  kind: z.enum(['data', 'payment']),
  status: ConsentStatus,
  clientId: z.string(),
  organisationId: z.string().optional(),
  permissions: z.array(z.string()),
  /** RFC 3339; absent = indefinite. */
  expirationDateTime: z.string().optional(),
  creationDateTime: z.string(),
  statusUpdateDateTime: z.string(),
  loggedUser: z.object({ cpf: Cpf }),
  businessEntity: z.object({ cnpj: Cnpj }).optional(),
  resources: z.array(ConsentResource),
  rejection: z.object({ rejectedBy: z.enum(['USER', 'ASPSP', 'TPP']), reason: z.string(), additionalInformation: z.string().optional() }).optional(),
})
export type InternalConsent = z.infer<typeof InternalConsent>

/**
 * `POST /internal/consents/{consentId}/authorise` (auth-server, after the customer approved). Refused with 422
 * `CONSENT_STATE_INVALID` unless `AWAITING_AUTHORISATION` and within 60 minutes, 403 `FORBIDDEN` when the CPF differs
 * from `loggedUser` or the CNPJ from `businessEntity`. Answers the updated {@link InternalConsent}.
 */
export const AuthoriseConsentRequest = z.object({
  resources: z.array(ConsentResource),
  authenticatedUser: z.object({ cpf: Cpf, cnpj: Cnpj.optional() }),
  /** `urn:brasil:openbanking:loa2` or `loa3`. */
  acr: z.string().optional(),
})
export type AuthoriseConsentRequest = z.infer<typeof AuthoriseConsentRequest>

/** `POST /internal/consents/{consentId}/reject` (auth-server: customer refused). Answers {@link InternalConsent}. */
export const RejectConsentRequest = z.object({
  reason: z.enum(['CUSTOMER_MANUALLY_REJECTED', 'CONSENT_TECHNICAL_ISSUE', 'INTERNAL_SECURITY_REASON']),
  additionalInformation: z.string().max(140).optional(),
})
export type RejectConsentRequest = z.infer<typeof RejectConsentRequest>

/** `POST /internal/consents/{consentId}/revoke` (admin staff or customer channel). Answers {@link InternalConsent}. */
export const RevokeConsentRequest = z.object({
  actor: z.object({ type: z.enum(['CUSTOMER', 'STAFF', 'SYSTEM']), id: z.string().min(1) }),
  reason: z.enum(['CUSTOMER_MANUALLY_REVOKED', 'INTERNAL_SECURITY_REASON', 'CONSENT_TECHNICAL_ISSUE']),
  additionalInformation: z.string().max(140).optional(),
})
export type RevokeConsentRequest = z.infer<typeof RevokeConsentRequest>

/**
 * `GET /internal/consents/{consentId}/lookup` (gateway, hot path, cacheable until the next `ponte.consent.v1` event
 * for the id): the minimum needed to authorise a data call.
 */
export const ConsentLookup = z.object({
  consentId: z.string(),
  status: ConsentStatus,
  clientId: z.string(),
  expirationDateTime: z.string().optional(),
  permissions: z.array(Permission),
  resources: z.array(ConsentResource),
  customer: z.object({ cpf: Cpf, cnpj: Cnpj.optional() }).optional(),
})
export type ConsentLookup = z.infer<typeof ConsentLookup>

// ---------------------------------------------------------------------------------------------------------------
// connectors service (audience `connectors`)
// ---------------------------------------------------------------------------------------------------------------

/**
 * `POST /internal/customers/authenticate` (auth-server login page). 200 {@link AuthenticatedCustomer}, or 401
 * `UNAUTHORIZED` with the same message whether the CPF exists or not.
 */
export const AuthenticateCustomerRequest = z.object({ cpf: Cpf, password: z.string().min(1).max(200) })
export const AuthenticatedCustomer = z.object({
  cpf: Cpf,
  name: z.string(),
  /** Businesses this person may act for. */
  businesses: z.array(z.object({ cnpj: Cnpj, name: z.string() })),
})
export type AuthenticatedCustomer = z.infer<typeof AuthenticatedCustomer>

/**
 * `GET /internal/customers/{cpf}/resources?cnpj=` (auth-server account selection): the resources the customer (or the
 * business, when `cnpj` is given) holds, for the consent review page.
 */
export const SelectableResource = z.object({
  type: ResourceType,
  resourceId: z.string(),
  /** Human label, e.g. "Conta corrente". */
  label: z.string(),
  /** Masked number, e.g. "•••• 1234". */
  maskedNumber: z.string(),
  /**
   * Accounts only: the account in the Payments API form (`PaymentAccount` of payments.ts: ISPB, branch, number with
   * its check digit, CACC/SVGS/TRAN), so the payment journey can offer it as the debtor account. Absent for a core that
   * does not say, and for other resource types.
   */
  paymentAccount: z.object({
    ispb: z.string().regex(/^[0-9]{8}$/),
    issuer: z.string().regex(/^[0-9]{1,4}$/).optional(),
    number: z.string().regex(/^[0-9]{1,20}$/),
    accountType: z.enum(['CACC', 'SVGS', 'TRAN']),
  }).optional(),
  /**
   * Accounts only: how many distinct customers acting for the owner must approve a payment from it (the account's
   * approval policy, docs/regulation/payments.md#multiple-approvers). Absent = 1.
   */
  approversRequired: z.number().int().min(1).max(10).optional(),
})
export const SelectableResources = z.object({ resources: z.array(SelectableResource) })
export type SelectableResource = z.infer<typeof SelectableResource>

// ---------------------------------------------------------------------------------------------------------------
// directory service (audience `directory`)
// ---------------------------------------------------------------------------------------------------------------

/** Why a software statement was refused by the directory connector. */
export const SsaRefusal = z.enum([
  'MALFORMED',
  'BAD_SIGNATURE',
  'UNKNOWN_SIGNER',
  'STALE_IAT',
  'FUTURE_IAT',
  'UNKNOWN_ORGANISATION',
  'ORGANISATION_NOT_ACTIVE',
  'ROLE_NOT_ACTIVE',
  'SOFTWARE_STATEMENT_REVOKED',
])

/** `POST /internal/ssa/verify` body. */
export const VerifySsaRequest = z.object({ ssa: z.string().min(1) })
/** 200 answer: the verified claims (as signed), or 422 with `errors[0].code` one of {@link SsaRefusal}. */
export const VerifiedSsa = z.object({ claims: z.record(z.string(), z.unknown()) })

/** Why a client certificate does not match its software statement. */
export const CertificateRefusal = z.enum(['MALFORMED', 'UNTRUSTED_CA', 'EXPIRED', 'NOT_YET_VALID', 'BAD_SIGNATURE', 'SOFTWARE_ID_MISMATCH', 'ORG_ID_MISMATCH'])

/** `POST /internal/certificates/check` body: the presented certificate (PEM) and what it must match. */
export const CheckCertificateRequest = z.object({
  certificatePem: z.string().min(1),
  softwareStatementId: z.string().optional(),
  organisationId: z.string().optional(),
})
/** 200 answer, or 422 with `errors[0].code` one of {@link CertificateRefusal}. */
export const CheckedCertificate = z.object({
  organisationId: z.string(),
  softwareStatementId: z.string(),
  cnpj: z.string(),
  subjectDn: z.string(),
  thumbprintS256: z.string(),
})

/** One certificate (`x5c[0]`) of a key in a known software statement's keystore, with its expiry. */
export const ParticipantCertificate = z.object({
  organisationId: z.string(),
  softwareStatementId: z.string(),
  /** The keystore URL the key was read from (signing `jwks_uri` or transport). */
  jwksUri: z.string(),
  kid: z.string(),
  subjectDn: z.string(),
  notAfter: z.iso.datetime({ offset: true }),
})
/**
 * `GET /internal/certificates/expiry`: the certificates of the active software statements' keystores this bank knows,
 * and the keystores that could not be read (their certificates are then unknown, not absent).
 */
export const ParticipantCertificates = z.object({
  certificates: z.array(ParticipantCertificate),
  unreadable: z.array(z.object({ organisationId: z.string(), softwareStatementId: z.string(), jwksUri: z.string(), error: z.string() })),
})

/** `POST /internal/jws/verify` body: a compact JWS signed by an organisation's key (`iss` = org id). */
export const VerifyJwsRequest = z.object({ jws: z.string().min(1), expectedOrganisationId: z.string().optional() })
/** 200 answer: header and payload; 422 `BAD_SIGNATURE` / `UNKNOWN_SIGNER` / `MALFORMED`. */
export const VerifiedJws = z.object({ header: z.record(z.string(), z.unknown()), payload: z.record(z.string(), z.unknown()), organisationId: z.string() })

/**
 * `GET /internal/organisations/{orgId}/jwks[?kid=…]`: the organisation's payload-signing keys (`application.jwks` from
 * the directory keystore, signing keys only), for the gateway's check of signed requests. With `kid`, a set lacking
 * it is fetched again (rate-limited by the keystore). 404 `NOT_FOUND` when the organisation publishes no keystore.
 */
export const OrganisationJwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) })

/** `GET /internal/organisations/{orgId}`: what other services need about a participant. */
export const OrganisationSummary = z.object({
  organisationId: z.string(),
  name: z.string(),
  cnpj: z.string(),
  status: z.enum(['Active', 'Pending', 'Withdrawn']),
  roles: z.array(z.object({ role: z.string(), status: z.enum(['Active', 'Inactive']) })),
  logoUri: z.string().optional(),
})
export type OrganisationSummary = z.infer<typeof OrganisationSummary>
