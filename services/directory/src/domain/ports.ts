import type { JWK } from 'jose'
import type { DirectoryOrganisation } from './participants.ts'

/** An organisation as the connector stored it at the last sync (the published document is not kept with it). */
export type StoredOrganisation = Omit<DirectoryOrganisation, 'document'>

/** A software statement this bank has verified an SSA of; its keystores are re-checked at each sync. */
export interface KnownSoftwareStatement {
  softwareStatementId: string
  organisationId: string
  jwksUri: string
  transportJwksUri?: string | undefined
  status: 'Active' | 'Revoked'
  /** Active key ids last seen. */
  kids: string[]
}

/** What a snapshot changed, for logs and tests. */
export interface SnapshotResult {
  total: number
  created: number
  changed: { organisationId: string; changes: ('status' | 'roles')[] }[]
}

/** The connector's storage (PostgreSQL in production). Writes that change state also enqueue their events. */
export interface DirectoryStore {
  /** The organisation, or undefined when the directory does not list it. */
  getOrganisation(organisationId: string): Promise<StoredOrganisation | undefined>
  /**
   * Replaces the stored participants with a fetched snapshot, in one transaction: new organisations are added,
   * changed ones updated with a `directory.organisation.changed` event, ones no longer listed become Withdrawn.
   */
  applySnapshot(organisations: DirectoryOrganisation[], input: { sourceUrl: string; now: Date; nextDueAt: Date }): Promise<SnapshotResult>
  /** Records a failed sync attempt and when to try again. */
  recordSyncFailure(input: { sourceUrl: string; error: string; nextDueAt: Date }): Promise<void>
  /** When the next sync is due (undefined: never synced). */
  nextSyncDue(): Promise<Date | undefined>
  getSoftwareStatement(softwareStatementId: string): Promise<KnownSoftwareStatement | undefined>
  /** Records a software statement seen in a verified SSA (first sighting or new URIs). */
  rememberSoftwareStatement(input: Omit<KnownSoftwareStatement, 'status' | 'kids'>): Promise<void>
  listActiveSoftwareStatements(): Promise<KnownSoftwareStatement[]>
  /**
   * Stores the key ids now published for a software statement (the first check only records them). Empty = revoked (status Revoked and a
   * `directory.software-statement.revoked` event); different = a `directory.organisation.changed` event with `keys`.
   */
  updateSoftwareStatementKeys(softwareStatementId: string, kids: string[], now: Date): Promise<'unchanged' | 'changed' | 'revoked'>
}

/** Why a directory request failed. */
export type DirectoryFetchErrorCode = 'HOST_NOT_ALLOWED' | 'UNAVAILABLE' | 'BAD_RESPONSE'

/** A failed request to the directory. `HOST_NOT_ALLOWED` means no request was made. */
export class DirectoryFetchError extends Error {
  readonly code: DirectoryFetchErrorCode
  constructor(code: DirectoryFetchErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DirectoryFetchError'
    this.code = code
  }
}

/** A successful JSON answer of the directory. */
export interface DirectoryJson {
  body: unknown
  headers: { get(name: string): string | null }
}

/** Fetches JSON from the directory's hosts (allow-listed, with a timeout); failures are {@link DirectoryFetchError}s. */
export interface DirectoryHttp {
  getJson(url: string): Promise<DirectoryJson>
}

/** A JSON Web Key Set as published by the directory. */
export interface Jwks {
  keys: JWK[]
}

/** Cached access to the directory's keystores. */
export interface Keystore {
  /** The JWKS at `url`, from cache while fresh. Throws `DirectoryFetchError` (`HOST_NOT_ALLOWED` before any request). */
  get(url: string): Promise<Jwks>
  /**
   * The key `kid` of the JWKS at `url`. When the cached set lacks it, the set is fetched again once, unless it was
   * fetched less than `minRefreshIntervalMs` ago: a stream of unknown kids causes at most one fetch per interval.
   */
  findKey(url: string, kid: string): Promise<JWK | undefined>
  /** Fetches `url` now (subject to the same allow-list), replacing the cached set. */
  refresh(url: string): Promise<Jwks>
  /** Requests made, for metrics. */
  readonly stats: { fetches: number; failures: number }
}
