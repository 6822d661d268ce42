import { randomBytes, randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT, type JWK } from 'jose'
import { DomainError, ofbDateTime } from '@ponte/platform'
import { generateEncryptionKey, issueClientCertificate, issueServerCertificate, issueSigningCertificate, type DevCa, type RsaPrivateJwk } from '@ponte/pki'
import type { SandboxKey, SandboxOrganisation, SandboxSoftwareStatement, SandboxStore } from './sandbox-store.ts'
import { bankParticipant, type BankIdentity } from './bank-participant.ts'
import { randomCnpj } from './cnpj.ts'

/** The SSA signer of the sandbox, unsealed in memory. */
export interface SsaSigner {
  kid: string
  privateKey: KeyObject
  publicJwk: JWK
}

/** Options of {@link createSandboxDirectory}. */
export interface SandboxDirectoryOptions {
  store: SandboxStore
  /** The CA that issues participant certificates (the dev CA). */
  ca: DevCa
  signer: SsaSigner
  /** Base URL of the sandbox as participants reach it (no trailing slash). */
  publicUrl: string
  /** `iss` of the SSAs. */
  ssaIssuer: string
  bank: BankIdentity
  /**
   * Told after every change the participants list or a keystore shows (organisation created or changed, software
   * statement created or revoked), before the change is answered. `main.ts` points it at the connector of the same
   * process when that connector's directory is this sandbox, so a participant onboarded here is known at once.
   */
  onChange?: (change: SandboxChange) => Promise<void>
  /**
   * The bank's public payload-signing keys (current first, then previous ones still published), served at
   * `/{bank organisation id}/application.jwks` and named in the participants list as its `PayloadSigningCertLocationUri`.
   */
  bankSigningKeys?: () => Promise<JWK[]>
  now?: () => Date
}

/** A change of the sandbox directory that the connector should apply at once. */
export type SandboxChange =
  | { kind: 'organisation'; organisationId: string }
  | { kind: 'software-statement'; organisationId: string; softwareStatementId: string }

/** What onboarding a software statement hands back once: private keys are never stored. */
export interface OnboardedSoftwareStatement {
  softwareStatementId: string
  clientId: string
  ssa: string
  transport: { certificatePem: string; chainPem: string; privateKeyPem: string; caBundlePem: string }
  signing: { privateJwk: RsaPrivateJwk; certificatePem: string }
  encryption: { privateJwk: RsaPrivateJwk }
  /**
   * TLS server certificate for the TPP's webhook receiver (SAN = the hosts of its webhook URIs), issued by the dev CA
   * the bank trusts for webhook deliveries; absent when the software statement has no webhook URI.
   */
  webhookServer?: { hostnames: string[]; certificatePem: string; chainPem: string; privateKeyPem: string; caBundlePem: string }
  jwksUri: string
  transportJwksUri: string
}

/**
 * The distinct hosts of a software statement's webhook URIs (`software_api_webhook_uris`), split into DNS names and IP
 * addresses for a server certificate's SAN (docs/regulation/webhooks.md#transport-security).
 */
export function webhookServerNames(webhookUris: readonly string[]): { hostnames: string[]; ips: string[] } {
  const hostnames = new Set<string>()
  const ips = new Set<string>()
  for (const uri of webhookUris) {
    // WHATWG URL parsing has already normalised IPv4 literals to dotted quads and bracketed IPv6 ones.
    const host = new URL(uri).hostname.toLowerCase()
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) ips.add(host)
    else if (host.startsWith('[')) ips.add(host.slice(1, -1))
    else hostnames.add(host)
  }
  return { hostnames: [...hostnames], ips: [...ips] }
}

const HOSTNAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i
const AUTHORISATION_DOMAIN = 'Open Banking'

/** ICP naming rules: no accents or cedilla in certificate names. */
function icpName(name: string): string {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9 .,&()/-]/g, '').trim() || 'Sandbox Participant'
}

function notFound(what: string): DomainError {
  return new DomainError('NOT_FOUND', `${what} not found`)
}

/**
 * The sandbox central directory: it emulates the Open Finance Brasil directory (Raidiam) for development and tests —
 * participants list, keystores, SSAs signed with its own PS256 key — and onboards TPPs with certificates from the
 * dev CA. Never the production path: the connector talks to it exactly as it talks to the real directory.
 */
export function createSandboxDirectory(options: SandboxDirectoryOptions) {
  const { store, ca, signer } = options
  const now = options.now ?? (() => new Date())
  const base = options.publicUrl
  const uris = (orgId: string, ssId: string) => ({
    jwksUri: `${base}/${orgId}/${ssId}/application.jwks`,
    transportJwksUri: `${base}/${orgId}/${ssId}/transport.jwks`,
    inactiveJwksUri: `${base}/${orgId}/${ssId}/inactive/application.jwks`,
    inactiveTransportJwksUri: `${base}/${orgId}/${ssId}/inactive/transport.jwks`,
  })

  async function requireOrganisation(orgId: string): Promise<SandboxOrganisation> {
    const org = await store.getOrganisation(orgId)
    if (!org) throw notFound(`organisation ${orgId}`)
    return org
  }

  /** The SSA claims of DCR-BR v2.1 for a software statement, as of now. */
  function ssaClaims(org: SandboxOrganisation, ss: SandboxSoftwareStatement): Record<string, unknown> {
    const u = uris(org.organisationId, ss.softwareStatementId)
    return {
      software_id: ss.softwareStatementId,
      software_client_id: ss.clientId,
      software_client_name: ss.clientName,
      software_client_description: ss.clientName,
      software_version: '1.0',
      software_environment: 'sandbox',
      software_mode: 'Live',
      software_redirect_uris: ss.redirectUris,
      software_api_webhook_uris: ss.webhookUris,
      software_roles: org.roles.map((r) => r.role),
      software_statement_roles: org.roles.map((r) => ({ role: r.role, authorisation_domain: AUTHORISATION_DOMAIN, status: r.status })),
      software_jwks_uri: u.jwksUri,
      software_jwks_transport_uri: u.transportJwksUri,
      software_jwks_inactive_uri: u.inactiveJwksUri,
      software_jwks_transport_inactive_uri: u.inactiveTransportJwksUri,
      org_id: org.organisationId,
      org_name: org.name,
      org_number: org.cnpj,
      org_status: org.status,
      organisation_competent_authority_claims: org.roles.map((r) => ({
        authority_id: 'BCB',
        authority_name: 'Banco Central do Brasil',
        authority_code: 'BCB',
        authority_country: 'BR',
        authorisation_domain: AUTHORISATION_DOMAIN,
        authorisation_role: r.role,
        registration_id: r.registrationId,
        status: r.status,
      })),
    }
  }

  async function signSsa(claims: Record<string, unknown>): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'PS256', kid: signer.kid, typ: 'JWT' })
      .setIssuer(options.ssaIssuer)
      .setIssuedAt(Math.floor(now().getTime() / 1000))
      .sign(signer.privateKey)
  }

  const publicKey = (k: SandboxKey): JWK => k.publicJwk
  const changed = (change: SandboxChange) => options.onChange?.(change) ?? Promise.resolve()

  return {
    /** The participants list: the bank running Ponte, then every onboarded organisation. */
    async participants(): Promise<Record<string, unknown>[]> {
      const orgs = await store.listOrganisations()
      return [
        bankParticipant(options.bank, '2024-01-01T00:00:00Z', options.bankSigningKeys ? `${base}/${options.bank.organisationId}/application.jwks` : undefined),
        ...orgs.map((o) => ({
          OrganisationId: o.organisationId,
          Status: o.status,
          OrganisationName: o.name,
          LegalEntityName: o.name,
          RegisteredName: o.name,
          CountryOfRegistration: 'BR',
          Country: 'BR',
          CompanyRegister: 'Cadastro Nacional da Pessoa Juridica',
          RegistrationNumber: o.cnpj,
          RegistrationId: o.cnpj,
          CreatedOn: ofbDateTime(o.createdAt),
          Contacts: [],
          AuthorisationServers: [],
          OrgDomainClaims: [{ AuthorisationDomainName: AUTHORISATION_DOMAIN, AuthorityName: 'BCB', RegistrationId: o.cnpj, Status: 'Active' }],
          OrgDomainRoleClaims: o.roles.map((r) => ({
            OrganisationId: o.organisationId,
            OrganisationAuthorityClaimId: r.claimId,
            AuthorisationDomain: AUTHORISATION_DOMAIN,
            Role: r.role,
            RegistrationId: r.registrationId,
            Status: r.status,
            Authorisations: [],
            UniqueTechnicalIdenifier: [],
          })),
        })),
      ]
    },

    /** The SSA issuer's public keys (`openbanking.jwks`). */
    async issuerJwks(): Promise<{ keys: JWK[] }> {
      return { keys: await store.signerPublicKeys() }
    },

    /** `/{orgId}/application.jwks`: the organisation's active signing and encryption keys. 404 for an unknown organisation. */
    async organisationJwks(orgId: string): Promise<{ keys: JWK[] }> {
      if (orgId === options.bank.organisationId && options.bankSigningKeys) return { keys: await options.bankSigningKeys() }
      await requireOrganisation(orgId)
      return { keys: (await store.keys({ organisationId: orgId, kinds: ['signing', 'encryption'], active: true })).map(publicKey) }
    },

    /** A software statement's application or transport keystore, active or inactive. */
    async softwareStatementJwks(orgId: string, ssId: string, which: 'application' | 'transport', active: boolean): Promise<{ keys: JWK[] }> {
      const ss = await store.getSoftwareStatement(orgId, ssId)
      if (!ss) throw notFound(`software statement ${ssId}`)
      const kinds: SandboxKey['kind'][] = which === 'transport' ? ['transport'] : ['signing', 'encryption']
      return { keys: (await store.keys({ organisationId: orgId, softwareStatementId: ssId, kinds, active })).map(publicKey) }
    },

    /**
     * A fresh SSA (`iat` now) for a software statement. The caller authenticated with a transport certificate
     * (`callerThumbprint`) that must be an active transport key of the same organisation.
     */
    async assertion(orgId: string, ssId: string, caller: { organisationId: string; thumbprintS256: string }): Promise<string> {
      if (caller.organisationId !== orgId) throw new DomainError('FORBIDDEN', 'the client certificate belongs to another organisation')
      if (!(await store.activeTransportKeyByThumbprint(orgId, caller.thumbprintS256))) {
        throw new DomainError('FORBIDDEN', 'the client certificate is not an active transport certificate of this organisation')
      }
      const org = await requireOrganisation(orgId)
      const ss = await store.getSoftwareStatement(orgId, ssId)
      if (!ss) throw notFound(`software statement ${ssId}`)
      return signSsa(ssaClaims(org, ss))
    },

    /** Onboards an organisation with regulatory roles (all Active). */
    async createOrganisation(input: { name: string; cnpj?: string | undefined; roles: string[] }): Promise<{ organisationId: string }> {
      const organisationId = randomUUID()
      const cnpj = input.cnpj ?? randomCnpj()
      await store.createOrganisation({
        organisationId,
        name: input.name,
        cnpj,
        roles: [...new Set(input.roles)].map((role) => ({ role, status: 'Active' as const, claimId: randomUUID(), registrationId: cnpj })),
      })
      await changed({ kind: 'organisation', organisationId })
      return { organisationId }
    },

    /** Changes status and/or role statuses (suspension tests). */
    async updateOrganisation(orgId: string, patch: { status?: SandboxOrganisation['status'] | undefined; roles?: { role: string; status: 'Active' | 'Inactive' }[] | undefined }): Promise<void> {
      const org = await requireOrganisation(orgId)
      for (const r of patch.roles ?? []) {
        if (!org.roles.some((x) => x.role === r.role)) throw new DomainError('UNPROCESSABLE_ENTITY', `organisation ${orgId} does not hold role ${r.role}`)
      }
      if (!(await store.updateOrganisation(orgId, patch))) throw notFound(`organisation ${orgId}`)
      await changed({ kind: 'organisation', organisationId: orgId })
    },

    /**
     * Creates a software statement with its key material: a BRCAC-shaped transport certificate (UID = software
     * statement id, `organizationIdentifier` = `OFBBR-<orgId>`), a BRSEAL-shaped signing certificate with its PS256
     * key, and an RSA encryption key. Public keys go to the keystores; private keys are returned once.
     */
    async createSoftwareStatement(orgId: string, input: { clientName: string; redirectUris: string[]; webhookUris: string[] }): Promise<OnboardedSoftwareStatement> {
      const org = await requireOrganisation(orgId)
      const softwareStatementId = randomUUID()
      const clientId = randomBytes(16).toString('base64url')
      const firstHost = (() => {
        try {
          return new URL(input.redirectUris[0] ?? '').hostname
        } catch {
          return ''
        }
      })()
      const commonName = HOSTNAME.test(firstHost) ? firstHost : `${softwareStatementId}.sandbox.participant`
      const [transport, signing, encryption] = await Promise.all([
        issueClientCertificate(ca, { orgId, softwareStatementId, cnpj: org.cnpj, commonName, organizationName: icpName(org.name) }),
        issueSigningCertificate(ca, { orgId, softwareStatementId, cnpj: org.cnpj, commonName: icpName(org.name) }),
        generateEncryptionKey(),
      ])
      const names = webhookServerNames(input.webhookUris)
      const webhook = input.webhookUris.length === 0 ? undefined : await issueServerCertificate(ca, { hostnames: names.hostnames, ips: names.ips })
      const ss: Omit<SandboxSoftwareStatement, 'status'> = {
        softwareStatementId,
        organisationId: orgId,
        clientId,
        clientName: input.clientName,
        redirectUris: input.redirectUris,
        webhookUris: input.webhookUris,
      }
      const common = { softwareStatementId, organisationId: orgId }
      await store.createSoftwareStatement(ss, [
        { ...common, kid: transport.kid, kind: 'transport', publicJwk: { ...transport.publicJwk, x5c: [...(transport.publicJwk.x5c ?? [])], use: 'tls' }, certificatePem: transport.certificatePem, thumbprintS256: transport.x5tS256 },
        { ...common, kid: signing.kid, kind: 'signing', publicJwk: { ...signing.publicJwk, x5c: [...(signing.publicJwk.x5c ?? [])] }, certificatePem: signing.certificatePem, thumbprintS256: signing.x5tS256 },
        { ...common, kid: encryption.kid, kind: 'encryption', publicJwk: { ...(encryption.publicJwk as JWK) } },
      ])
      await changed({ kind: 'software-statement', organisationId: orgId, softwareStatementId })
      const u = uris(orgId, softwareStatementId)
      return {
        softwareStatementId,
        clientId,
        ssa: await signSsa(ssaClaims(org, { ...ss, status: 'Active' })),
        transport: { certificatePem: transport.certificatePem, chainPem: transport.chainPem, privateKeyPem: transport.privateKeyPem, caBundlePem: ca.chainPem },
        signing: { privateJwk: signing.privateJwk, certificatePem: signing.certificatePem },
        encryption: { privateJwk: encryption.privateJwk },
        ...(webhook ? { webhookServer: { hostnames: [...names.hostnames, ...names.ips], certificatePem: webhook.certificatePem, chainPem: webhook.chainPem, privateKeyPem: webhook.privateKeyPem, caBundlePem: ca.chainPem } } : {}),
        jwksUri: u.jwksUri,
        transportJwksUri: u.transportJwksUri,
      }
    },

    /** Revokes a software statement: its keys move to the inactive keystores. */
    async revokeSoftwareStatement(orgId: string, ssId: string): Promise<void> {
      if (!(await store.revokeSoftwareStatement(orgId, ssId))) throw notFound(`software statement ${ssId}`)
      await changed({ kind: 'software-statement', organisationId: orgId, softwareStatementId: ssId })
    },
  }
}

/** The sandbox directory type. */
export type SandboxDirectory = ReturnType<typeof createSandboxDirectory>
