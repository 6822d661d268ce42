import type { Logger } from '@ponte/platform'
import { cacheMaxAge, parseParticipants } from './participants.ts'
import type { DirectoryHttp, DirectoryStore, Keystore, SnapshotResult, StoredOrganisation } from './ports.ts'

/** Options of {@link createParticipantsSync}. */
export interface ParticipantsSyncOptions {
  http: DirectoryHttp
  keystore: Keystore
  store: DirectoryStore
  participantsUrl: string
  /** Interval used when the directory sends no `Cache-Control: max-age` (900 s: docs/regulation/dcr.md#central-directory-participants-list). */
  defaultIntervalS: number
  /** Least time between two syncs forced by a lookup of an unknown organisation. */
  minForcedIntervalMs: number
  logger: Logger
  now?: () => Date
}

/** Keeps the participants list and the known software statements' keys in step with the directory. */
export interface ParticipantsSync {
  /** Fetches the list now and applies it; then re-checks known software statements' keystores. */
  syncNow(): Promise<SnapshotResult>
  /**
   * A sync that starts after this call (joining one already running could miss a change made just before): what
   * Ponte's own sandbox directory asks for after each change, so the change is applied before it is answered.
   */
  syncAfterChange(): Promise<SnapshotResult>
  /**
   * When a lookup of an unknown organisation may force a sync again (undefined: now). The real directory is polled at
   * most once per `minForcedIntervalMs` for unknown ids; refusals say when the next try can see a new organisation.
   */
  nextForcedSyncAt(): Date | undefined
  /** {@link syncNow} when the stored list is older than the directory's max-age; otherwise nothing. */
  syncIfDue(): Promise<SnapshotResult | undefined>
  /**
   * The organisation, syncing once first when it is unknown (rate-limited: a stream of unknown ids causes at most
   * one sync per `minForcedIntervalMs`). Undefined when the directory does not list it.
   */
  organisation(organisationId: string): Promise<StoredOrganisation | undefined>
}

/** Creates the sync. Nothing runs until a method is called; `main.ts` calls {@link ParticipantsSync.syncIfDue} on a timer. */
export function createParticipantsSync(options: ParticipantsSyncOptions): ParticipantsSync {
  const now = options.now ?? (() => new Date())
  const log = options.logger.child({ component: 'participants-sync' })
  let running: Promise<SnapshotResult> | undefined
  let lastForcedAt = 0

  async function recheckSoftwareStatements(at: Date): Promise<void> {
    const statements = await options.store.listActiveSoftwareStatements()
    for (const ss of statements) {
      try {
        const sets = await Promise.all([ss.jwksUri, ss.transportJwksUri].filter((u): u is string => Boolean(u)).map((u) => options.keystore.refresh(u)))
        const kids = [...new Set(sets.flatMap((s) => s.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')))].sort()
        const outcome = await options.store.updateSoftwareStatementKeys(ss.softwareStatementId, kids, at)
        if (outcome !== 'unchanged') log.info({ softwareStatementId: ss.softwareStatementId, organisationId: ss.organisationId, outcome }, 'software statement keys changed')
      } catch (err) {
        log.warn({ softwareStatementId: ss.softwareStatementId, err: (err as Error).message }, 'could not re-check software statement keys')
      }
    }
  }

  async function run(): Promise<SnapshotResult> {
    const startedAt = now()
    try {
      const { body, headers } = await options.http.getJson(options.participantsUrl)
      const parsed = parseParticipants(body)
      if (parsed.skipped.length) log.warn({ skipped: parsed.skipped.slice(0, 20), count: parsed.skipped.length }, 'participants entries skipped')
      const maxAge = cacheMaxAge(headers.get('cache-control')) ?? options.defaultIntervalS
      // Never poll faster than once a minute, whatever the header says (the directory rate-limits eager clients).
      const nextDueAt = new Date(startedAt.getTime() + Math.max(60, maxAge) * 1000)
      const result = await options.store.applySnapshot(parsed.organisations, { sourceUrl: options.participantsUrl, now: startedAt, nextDueAt })
      log.info({ total: result.total, created: result.created, changed: result.changed.length, nextDueAt: nextDueAt.toISOString() }, 'participants synced')
      await recheckSoftwareStatements(startedAt)
      return result
    } catch (err) {
      const nextDueAt = new Date(startedAt.getTime() + 60_000)
      await options.store.recordSyncFailure({ sourceUrl: options.participantsUrl, error: (err as Error).message.slice(0, 500), nextDueAt }).catch(() => undefined)
      throw err
    }
  }

  const syncNow = () => (running ??= run().finally(() => { running = undefined }))

  return {
    syncNow,
    async syncAfterChange() {
      if (running) await running.catch(() => undefined)
      return syncNow()
    },
    nextForcedSyncAt() {
      const at = lastForcedAt + options.minForcedIntervalMs
      return lastForcedAt > 0 && at > now().getTime() ? new Date(at) : undefined
    },
    async syncIfDue() {
      const due = await options.store.nextSyncDue()
      if (due && due.getTime() > now().getTime()) return undefined
      return syncNow()
    },
    async organisation(organisationId) {
      const found = await options.store.getOrganisation(organisationId)
      if (found) return found
      const t = now().getTime()
      if (t - lastForcedAt < options.minForcedIntervalMs) return undefined
      lastForcedAt = t
      try {
        await syncNow()
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'sync for an unknown organisation failed')
        return undefined
      }
      return options.store.getOrganisation(organisationId)
    },
  }
}
