import type { DirectoryEvent, OrganisationSummary } from '@ponte/contracts'
import type { Logger } from '@ponte/platform'
import { createSingleFlight } from './single-flight.ts'
import { createLru } from './lru.ts'

/** Reads an organisation from the directory connector (`undefined` when unknown). */
export type OrganisationSource = (organisationId: string) => Promise<OrganisationSummary | undefined>

/** Whether an organisation (and its software statement) may call. */
export type OrganisationVerdict = 'active' | 'suspended' | 'revoked'

/** Options of {@link createOrganisationStatus}. */
export interface OrganisationStatusOptions {
  source: OrganisationSource
  /** How long a directory answer is used before asking again (events update it sooner). */
  ttlMs: number
  /** When the directory cannot be asked and nothing is known: let the call through (default) or refuse it. */
  onDirectoryDown: 'allow' | 'deny'
  logger: Logger
  now?: () => number
}

/** Organisation status, from `ponte.directory.v1` events and the directory connector. */
export interface OrganisationStatus {
  check(organisationId: string, softwareStatementId: string | undefined): Promise<OrganisationVerdict>
  /** The verdict when it is known and fresh, without waiting; `undefined` when {@link check} must ask the directory. */
  peek(organisationId: string, softwareStatementId: string | undefined): OrganisationVerdict | undefined
  apply(event: DirectoryEvent): void
  /** Cache hits and misses (a miss asks the directory, merged with concurrent ones), directory lookups and failures. */
  readonly stats: { hits: number; misses: number; lookups: number; directoryFailures: number }
}

/** Creates the status cache. */
export function createOrganisationStatus(options: OrganisationStatusOptions): OrganisationStatus {
  const now = options.now ?? Date.now
  const known = createLru<string, { active: boolean; at: number }>(50_000)
  const revokedStatements = new Set<string>()
  const stats = { hits: 0, misses: 0, lookups: 0, directoryFailures: 0 }

  async function lookup(organisationId: string): Promise<boolean> {
    stats.lookups++
    try {
      const org = await options.source(organisationId)
      const active = org?.status === 'Active'
      known.set(organisationId, { active, at: now() })
      return active
    } catch (err) {
      stats.directoryFailures++
      const stale = known.get(organisationId)
      options.logger.warn({ organisationId, err: err instanceof Error ? err.message : String(err), onDirectoryDown: options.onDirectoryDown }, 'directory unavailable for the organisation check')
      if (stale) return stale.active
      return options.onDirectoryDown === 'allow'
    }
  }
  const lookups = createSingleFlight(lookup)

  return {
    stats,
    peek(organisationId, softwareStatementId) {
      if (softwareStatementId && revokedStatements.has(softwareStatementId)) return 'revoked'
      const entry = known.get(organisationId)
      if (!entry || now() - entry.at >= options.ttlMs) return undefined
      stats.hits++
      return entry.active ? 'active' : 'suspended'
    },
    async check(organisationId, softwareStatementId) {
      if (softwareStatementId && revokedStatements.has(softwareStatementId)) return 'revoked'
      const entry = known.get(organisationId)
      let active: boolean
      if (entry && now() - entry.at < options.ttlMs) {
        stats.hits++
        active = entry.active
      } else {
        stats.misses++
        active = await lookups.run(organisationId)
      }
      return active ? 'active' : 'suspended'
    },
    apply(event) {
      if (event.type === 'directory.organisation.changed') known.set(event.data.organisationId, { active: event.data.status === 'Active', at: now() })
      else revokedStatements.add(event.data.softwareStatementId)
    },
  }
}
