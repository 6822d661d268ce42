import {
  AuthenticatedCustomer,
  CheckedCertificate,
  InternalConsent,
  InternalPaymentConsent,
  VerifyCustomerTotpResult,
  OrganisationSummary,
  SelectableResources,
  VerifiedSsa,
  type AuthoriseConsentRequest,
  type AuthorisePaymentConsentRequest,
  type ConsentResource,
  type RejectConsentRequest,
  type SelectableResource,
} from '@ponte/contracts'
import { createInternalClient, DomainError, type InternalClient, type ServiceTokenIssuer } from '@ponte/platform'
import type { z } from 'zod'

/** The directory connector, as the auth-server uses it (contracts `internal.ts`, audience `directory`). */
export interface DirectoryPort {
  /** Verified SSA claims, or a DomainError 422 whose `ofbCode` is an `SsaRefusal`. */
  verifySsa(ssa: string): Promise<Record<string, unknown>>
  /** Checks a client certificate against a software statement; 422 `CertificateRefusal` otherwise. */
  checkCertificate(input: { certificatePem: string; softwareStatementId?: string; organisationId?: string }): Promise<z.output<typeof CheckedCertificate>>
  /** The organisation summary, or undefined when unknown (404). */
  organisation(orgId: string): Promise<OrganisationSummary | undefined>
}

/** The consent service, as the journey uses it (audience `consent`). */
export interface ConsentPort {
  /** The consent, or undefined when it does not exist. */
  get(consentId: string): Promise<InternalConsent | undefined>
  authorise(consentId: string, body: AuthoriseConsentRequest): Promise<InternalConsent>
  reject(consentId: string, body: RejectConsentRequest): Promise<InternalConsent>
  /** The payment consent's details (contracts `payments.ts`), or undefined when it does not exist or is a data consent. */
  getPayment(consentId: string): Promise<InternalPaymentConsent | undefined>
  /** Authorises a payment consent after the customer approved with LoA3. */
  authorisePayment(consentId: string, body: AuthorisePaymentConsentRequest): Promise<InternalPaymentConsent>
}

/** The connectors service, as the login and account selection use it (audience `connectors`). */
export interface ConnectorsPort {
  /** The customer when the credentials are right, undefined when they are not (same answer whether the CPF exists). */
  authenticate(cpf: string, password: string): Promise<AuthenticatedCustomer | undefined>
  resources(cpf: string, cnpj?: string): Promise<SelectableResource[]>
  /** Whether the code is the customer's current TOTP code, not used before (the core holds the secret). */
  verifyTotp(cpf: string, code: string): Promise<boolean>
}

/** Options shared by the internal clients. */
export interface InternalPortOptions {
  baseUrl: string
  issuer: ServiceTokenIssuer
  timeoutMs: number
}

function client(audience: string, o: InternalPortOptions): InternalClient {
  return createInternalClient({ baseUrl: o.baseUrl, audience, issuer: o.issuer, timeoutMs: o.timeoutMs })
}

const enc = encodeURIComponent

/** Creates the directory port over HTTP. */
export function createDirectoryPort(o: InternalPortOptions): DirectoryPort & { close(): Promise<void> } {
  const http = client('directory', o)
  return {
    async verifySsa(ssa) {
      const res = await http.call('POST', '/internal/ssa/verify', VerifiedSsa, { body: { ssa } })
      return res.claims
    },
    checkCertificate: (input) => http.call('POST', '/internal/certificates/check', CheckedCertificate, { body: input }),
    organisation: (orgId) => http.find('GET', `/internal/organisations/${enc(orgId)}`, OrganisationSummary),
    close: () => http.close(),
  }
}

/** Creates the consent port over HTTP. */
export function createConsentPort(o: InternalPortOptions): ConsentPort & { close(): Promise<void> } {
  const http = client('consent', o)
  return {
    get: (consentId) => http.find('GET', `/internal/consents/${enc(consentId)}`, InternalConsent),
    authorise: (consentId, body) => http.call('POST', `/internal/consents/${enc(consentId)}/authorise`, InternalConsent, { body }),
    reject: (consentId, body) => http.call('POST', `/internal/consents/${enc(consentId)}/reject`, InternalConsent, { body }),
    getPayment: (consentId) => http.find('GET', `/internal/payment-consents/${enc(consentId)}`, InternalPaymentConsent),
    authorisePayment: (consentId, body) => http.call('POST', `/internal/payment-consents/${enc(consentId)}/authorise`, InternalPaymentConsent, { body }),
    close: () => http.close(),
  }
}

/** Creates the connectors port over HTTP. */
export function createConnectorsPort(o: InternalPortOptions): ConnectorsPort & { close(): Promise<void> } {
  const http = client('connectors', o)
  return {
    async authenticate(cpf, password) {
      try {
        return await http.call('POST', '/internal/customers/authenticate', AuthenticatedCustomer, { body: { cpf, password } })
      } catch (err) {
        if (err instanceof DomainError && err.status === 401) return undefined
        throw err
      }
    },
    async resources(cpf, cnpj) {
      const res = await http.call('GET', `/internal/customers/${enc(cpf)}/resources`, SelectableResources, { query: { cnpj } })
      return res.resources
    },
    async verifyTotp(cpf, code) {
      const res = await http.call('POST', '/internal/customers/verify-totp', VerifyCustomerTotpResult, { body: { cpf, code } })
      return res.valid
    },
    close: () => http.close(),
  }
}

/** The resources a customer chose, checked against what the connectors offered. */
export type ChosenResources = ConsentResource[]
