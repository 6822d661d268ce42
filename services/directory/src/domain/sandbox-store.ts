import type { JWK } from 'jose'

/** A role of a sandbox organisation. */
export interface SandboxRole {
  role: string
  status: 'Active' | 'Inactive'
  claimId: string
  registrationId: string
}

/** A sandbox organisation (a TPP onboarded for development). */
export interface SandboxOrganisation {
  organisationId: string
  name: string
  cnpj: string
  status: 'Active' | 'Pending' | 'Withdrawn'
  roles: SandboxRole[]
  createdAt: Date
}

/** A sandbox software statement. */
export interface SandboxSoftwareStatement {
  softwareStatementId: string
  organisationId: string
  clientId: string
  clientName: string
  redirectUris: string[]
  webhookUris: string[]
  status: 'Active' | 'Inactive'
}

/** A public key of a participant, as published in its keystores. */
export interface SandboxKey {
  kid: string
  softwareStatementId: string
  organisationId: string
  kind: 'transport' | 'signing' | 'encryption'
  publicJwk: JWK
  certificatePem?: string | undefined
  thumbprintS256?: string | undefined
  active: boolean
}

/** The sandbox's SSA signer as stored (private key sealed). */
export interface StoredSigner {
  kid: string
  alg: string
  privateKeySealed: string
  publicJwk: JWK
}

/** The sandbox directory's storage (PostgreSQL in production, its own schema). */
export interface SandboxStore {
  activeSigner(): Promise<StoredSigner | undefined>
  /** Inserts a signer unless another replica created one first (then the caller re-reads the active one). */
  insertSignerIfNone(signer: StoredSigner): Promise<void>
  signerPublicKeys(): Promise<JWK[]>
  createOrganisation(org: Omit<SandboxOrganisation, 'createdAt' | 'status'>): Promise<void>
  getOrganisation(organisationId: string): Promise<SandboxOrganisation | undefined>
  listOrganisations(): Promise<SandboxOrganisation[]>
  /** Changes an organisation's status and/or role statuses; false when it does not exist. */
  updateOrganisation(organisationId: string, patch: { status?: SandboxOrganisation['status'] | undefined; roles?: { role: string; status: 'Active' | 'Inactive' }[] | undefined }): Promise<boolean>
  createSoftwareStatement(ss: Omit<SandboxSoftwareStatement, 'status'>, keys: Omit<SandboxKey, 'active'>[]): Promise<void>
  getSoftwareStatement(organisationId: string, softwareStatementId: string): Promise<SandboxSoftwareStatement | undefined>
  keys(filter: { organisationId: string; softwareStatementId?: string | undefined; kinds: SandboxKey['kind'][]; active: boolean }): Promise<SandboxKey[]>
  activeTransportKeyByThumbprint(organisationId: string, thumbprint: string): Promise<SandboxKey | undefined>
  /** Moves every key of a software statement to the inactive keystores; false when it does not exist. */
  revokeSoftwareStatement(organisationId: string, softwareStatementId: string): Promise<boolean>
}
