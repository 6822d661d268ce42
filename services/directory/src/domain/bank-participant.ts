import { createHash } from 'node:crypto'

/** The bank running Ponte, as configured. */
export interface BankIdentity {
  organisationId: string
  name: string
  cnpj: string
  authorisationServerId: string
  /** Issuer of the authorisation server (no trailing slash). */
  authServerIssuer: string
  /** Public base URL of the regulated APIs (the gateway, no trailing slash). */
  gatewayUrl: string
}

/** The APIs Ponte serves, by directory family: major version and endpoint paths (from the official specs). */
export const PONTE_APIS: readonly { family: string; version: number; base: string; paths: readonly string[] }[] = [
  { family: 'payments-consents', version: 4, base: '/open-banking/payments/v4', paths: ['/consents', '/consents/{consentId}'] },
  { family: 'payments-pix', version: 4, base: '/open-banking/payments/v4', paths: ['/pix/payments', '/pix/payments/{paymentId}', '/pix/payments/consents/{consentId}'] },
  { family: 'payments-consents', version: 5, base: '/open-banking/payments/v5', paths: ['/consents', '/consents/{consentId}'] },
  { family: 'payments-pix', version: 5, base: '/open-banking/payments/v5', paths: ['/pix/payments', '/pix/payments/{paymentId}', '/consents/{consentId}/pix/payments'] },
  { family: 'consents', version: 3, base: '/open-banking/consents/v3', paths: ['/consents', '/consents/{consentId}', '/consents/{consentId}/extensions', '/consents/{consentId}/extends'] },
  { family: 'resources', version: 3, base: '/open-banking/resources/v3', paths: ['/resources'] },
  {
    family: 'accounts',
    version: 2,
    base: '/open-banking/accounts/v2',
    paths: ['/accounts', '/accounts/{accountId}', '/accounts/{accountId}/balances', '/accounts/{accountId}/transactions', '/accounts/{accountId}/transactions-current', '/accounts/{accountId}/overdraft-limits', '/accounts/{accountId}/reserved-balances'],
  },
  {
    family: 'credit-cards-accounts',
    version: 2,
    base: '/open-banking/credit-cards-accounts/v2',
    paths: ['/accounts', '/accounts/{creditCardAccountId}', '/accounts/{creditCardAccountId}/bills', '/accounts/{creditCardAccountId}/bills/{billId}/transactions', '/accounts/{creditCardAccountId}/limits', '/accounts/{creditCardAccountId}/transactions', '/accounts/{creditCardAccountId}/transactions-current'],
  },
  { family: 'customers-personal', version: 2, base: '/open-banking/customers/v2', paths: ['/personal/identifications', '/personal/qualifications', '/personal/financial-relations'] },
  { family: 'customers-business', version: 2, base: '/open-banking/customers/v2', paths: ['/business/identifications', '/business/qualifications', '/business/financial-relations'] },
  { family: 'loans', version: 2, base: '/open-banking/loans/v2', paths: ['/contracts', '/contracts/{contractId}', '/contracts/{contractId}/warranties', '/contracts/{contractId}/scheduled-instalments', '/contracts/{contractId}/payments'] },
  { family: 'channels', version: 2, base: '/open-banking/channels/v2', paths: ['/banking-agents', '/branches', '/electronic-channels', '/phone-channels', '/shared-automated-teller-machines'] },
  { family: 'opendata-accounts', version: 1, base: '/open-banking/opendata-accounts/v1', paths: ['/personal-accounts', '/business-accounts'] },
  { family: 'admin', version: 2, base: '/open-banking/admin/v2', paths: ['/metrics'] },
  { family: 'discovery', version: 2, base: '/open-banking/discovery/v2', paths: ['/status', '/outages'] },
]

/** A stable UUID-shaped id derived from names (so the bank's entry is identical across restarts and replicas). */
export function stableId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('|')).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * A discovery endpoint URL. Path parameters are kept as `{name}` templates, percent-encoded so the value is a valid
 * URI (the participants schema declares `format: uri`).
 */
function endpoint(base: string, path: string): string {
  return base + path.replaceAll('{', '%7B').replaceAll('}', '%7D')
}

/**
 * The bank running Ponte as a participants-list entry (`OrganisationExportOpenData`): roles CONTA and DADOS, one
 * authorisation server whose discovery document is `<issuer>/.well-known/openid-configuration`, and an
 * `ApiResources` entry with `ApiDiscoveryEndpoints` for every API Ponte serves.
 */
export function bankParticipant(bank: BankIdentity, createdOn: string, payloadSigningJwksUrl?: string): Record<string, unknown> {
  const org = bank.organisationId
  return {
    OrganisationId: org,
    Status: 'Active',
    OrganisationName: bank.name,
    LegalEntityName: bank.name,
    RegisteredName: bank.name,
    CountryOfRegistration: 'BR',
    Country: 'BR',
    CompanyRegister: 'Cadastro Nacional da Pessoa Juridica',
    RegistrationNumber: bank.cnpj,
    RegistrationId: bank.cnpj,
    CreatedOn: createdOn,
    Contacts: [],
    OrgDomainClaims: [
      { OrganisationAuthorityDomainClaimId: stableId(org, 'domain'), AuthorisationDomainName: 'Open Banking', AuthorityName: 'BCB', AuthorityId: stableId('BCB'), RegistrationId: bank.cnpj, Status: 'Active' },
    ],
    OrgDomainRoleClaims: ['CONTA', 'DADOS'].map((role) => ({
      OrganisationId: org,
      OrganisationAuthorityClaimId: stableId(org, 'role', role),
      AuthorityId: stableId('BCB'),
      AuthorisationDomain: 'Open Banking',
      Role: role,
      RegistrationId: bank.cnpj,
      Status: 'Active',
      Authorisations: [],
      UniqueTechnicalIdenifier: [],
    })),
    AuthorisationServers: [
      {
        AuthorisationServerId: bank.authorisationServerId,
        OrganisationId: org,
        AutoRegistrationSupported: true,
        CustomerFriendlyName: bank.name,
        CustomerFriendlyDescription: `${bank.name} (Ponte)`,
        OpenIDDiscoveryDocument: `${bank.authServerIssuer}/.well-known/openid-configuration`,
        // Where the bank's payload-signing keys (signed payment answers) are published; the auth-server's JWKS without one.
        PayloadSigningCertLocationUri: payloadSigningJwksUrl ?? `${bank.authServerIssuer}/jwks`,
        ApiResources: PONTE_APIS.map((api) => ({
          ApiResourceId: stableId(org, 'api', api.family, String(api.version)),
          ApiFamilyType: api.family,
          ApiVersion: api.version,
          ApiDiscoveryEndpoints: api.paths.map((p) => ({
            ApiDiscoveryId: stableId(org, 'endpoint', api.family, p),
            ApiEndpoint: endpoint(`${bank.gatewayUrl}${api.base}`, p),
          })),
        })),
      },
    ],
  }
}
