import { ofbDateTime } from '@ponte/platform'
import type { InternalPaymentConsent, PaymentConsentStatus } from '@ponte/contracts'
import { PAYMENT_REJECTION_DETAILS, type Consent } from '../domain/consent.ts'

/**
 * How a payment consent is shown: the Payments API payloads (`ResponseCreatePaymentConsent`, `ResponsePaymentConsent`;
 * the gateway signs them as the JWS payload) and the internal contract. The consent's request is echoed as accepted.
 */

/** `data` of the Payments API answers; `rejectionReason` only in the read (`ResponsePaymentConsent`). */
export function paymentConsentData(c: Consent, read: boolean) {
  const p = c.payment!
  const r = p.request
  // ConsentsDebtorAccount: required once AUTHORISED or CONSUMED (the account fixed at authorisation).
  const debtor = p.authorisedDebtorAccount?.account ?? r.debtorAccount
  return {
    consentId: c.consentId,
    creationDateTime: ofbDateTime(c.createdAt),
    expirationDateTime: ofbDateTime(c.expirationDateTime ?? c.authorisationDeadline),
    statusUpdateDateTime: ofbDateTime(c.statusUpdatedAt),
    status: c.status,
    loggedUser: r.loggedUser,
    ...(r.businessEntity ? { businessEntity: r.businessEntity } : {}),
    creditor: r.creditor,
    payment: r.payment,
    ...(debtor ? { debtorAccount: debtor } : {}),
    ...(read && c.status === 'REJECTED' && c.rejection ? { rejectionReason: rejectionReason(c) } : {}),
  }
}

function rejectionReason(c: Consent) {
  return { code: c.rejection!.reason, detail: c.rejection!.additionalInformation ?? PAYMENT_REJECTION_DETAILS.NAO_INFORMADO }
}

/** The internal contract's {@link InternalPaymentConsent}. */
export function toInternalPaymentConsent(c: Consent): InternalPaymentConsent {
  const p = c.payment!
  const r = p.request
  return {
    consentId: c.consentId,
    apiVersion: p.apiVersion,
    status: c.status as PaymentConsentStatus,
    clientId: c.clientId,
    organisationId: c.organisationId ?? '',
    creationDateTime: ofbDateTime(c.createdAt),
    statusUpdateDateTime: ofbDateTime(c.statusUpdatedAt),
    expirationDateTime: ofbDateTime(c.expirationDateTime ?? c.authorisationDeadline),
    loggedUser: { cpf: c.loggedUserCpf },
    ...(c.businessEntityCnpj ? { businessEntity: { cnpj: c.businessEntityCnpj } } : {}),
    creditor: r.creditor,
    ...(r.debtorAccount ? { debtorAccount: r.debtorAccount } : {}),
    payment: r.payment,
    ...(p.authorisedDebtorAccount ? { authorisedDebtorAccount: p.authorisedDebtorAccount } : {}),
    ...(c.authorisedCpf ? { authorisedBy: { cpf: c.authorisedCpf, ...(c.authorisedCnpj ? { cnpj: c.authorisedCnpj } : {}) } } : {}),
    ...(c.status === 'REJECTED' && c.rejection ? { rejectionReason: rejectionReason(c) } : {}),
    ...(p.approversRequired ? { approvals: { required: p.approversRequired, received: p.approvals?.length ?? 0 } } : {}),
  }
}
