import { ofbDateTime } from '@ponte/platform'
import type { ConsentLookup, InternalConsent } from '@ponte/contracts'
import type { Consent, Extension } from '../domain/consent.ts'

/**
 * How a consent is shown: the Consents API v3.3.1 payloads (`ResponseConsent*`) and the internal contracts. Dates
 * are RFC 3339 UTC without fractions; an indefinite consent has no `expirationDateTime`.
 */

const expiry = (c: Consent) => (c.expirationDateTime ? { expirationDateTime: ofbDateTime(c.expirationDateTime) } : {})

/** `data` of `ResponseConsent` (201 of POST) and `ResponseConsentExtensions` (201 of extends). */
export function consentData(c: Consent) {
  return {
    consentId: c.consentId,
    creationDateTime: ofbDateTime(c.createdAt),
    status: c.status,
    statusUpdateDateTime: ofbDateTime(c.statusUpdatedAt),
    permissions: c.permissions,
    ...expiry(c),
  }
}

/** `data` of `ResponseConsentRead` (GET): adds the rejection and the optimised-journey facts. */
export function consentReadData(c: Consent) {
  return {
    ...consentData(c),
    ...(c.rejection
      ? {
        rejection: {
          rejectedBy: c.rejection.rejectedBy,
          reason: { code: c.rejection.reason, ...(c.rejection.additionalInformation ? { additionalInformation: c.rejection.additionalInformation } : {}) },
        },
      }
      : {}),
    ...(c.isLinked !== undefined || c.linkId ? { journey: { ...(c.isLinked !== undefined ? { isLinked: c.isLinked } : {}), ...(c.linkId ? { linkId: c.linkId } : {}) } } : {}),
  }
}

/** One item of `ResponseConsentReadExtensions`. */
export function extensionItem(e: Extension) {
  return {
    loggedUser: { document: { identification: e.loggedUserCpf, rel: 'CPF' } },
    requestDateTime: ofbDateTime(e.requestedAt),
    xFapiCustomerIpAddress: e.customerIpAddress,
    xCustomerUserAgent: e.customerUserAgent,
    ...(e.expirationDateTime ? { expirationDateTime: ofbDateTime(e.expirationDateTime) } : {}),
    ...(e.previousExpirationDateTime ? { previousExpirationDateTime: ofbDateTime(e.previousExpirationDateTime) } : {}),
  }
}

/** The internal contract's {@link InternalConsent}. */
export function toInternalConsent(c: Consent): InternalConsent {
  return {
    consentId: c.consentId,
    kind: c.kind,
    status: c.status,
    clientId: c.clientId,
    permissions: c.permissions,
    creationDateTime: ofbDateTime(c.createdAt),
    statusUpdateDateTime: ofbDateTime(c.statusUpdatedAt),
    loggedUser: { cpf: c.loggedUserCpf },
    resources: c.resources,
    ...(c.organisationId ? { organisationId: c.organisationId } : {}),
    ...expiry(c),
    ...(c.businessEntityCnpj ? { businessEntity: { cnpj: c.businessEntityCnpj } } : {}),
    ...(c.rejection
      ? { rejection: { rejectedBy: c.rejection.rejectedBy, reason: c.rejection.reason, ...(c.rejection.additionalInformation ? { additionalInformation: c.rejection.additionalInformation } : {}) } }
      : {}),
  }
}

/** The gateway's {@link ConsentLookup}. */
export function toLookup(c: Consent): ConsentLookup {
  return {
    consentId: c.consentId,
    status: c.status,
    clientId: c.clientId,
    permissions: c.permissions,
    resources: c.resources,
    ...expiry(c),
    ...(c.authorisedCpf ? { customer: { cpf: c.authorisedCpf, ...(c.authorisedCnpj ? { cnpj: c.authorisedCnpj } : {}) } } : {}),
  }
}
