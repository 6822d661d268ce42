import { randomUUID } from 'node:crypto'
import { ApiVersionChanged } from '@ponte/contracts'
import { enqueueEvent, withTransaction, type Pool } from '@ponte/platform'
import type { AuditInput, AuditStore } from './audit-store.ts'

/** The operator's decision about one API version. */
export interface ApiVersionState { key: string; enabled: boolean; changedBy: string; changedAt: string; note: string }

/** The API versions turned off or on, and their changes. */
export interface CatalogStore {
  states(): Promise<Map<string, ApiVersionState>>
  /**
   * Records the change, its `ponte.api-catalog.v1` event (outbox) and its audit entry in one transaction; answers the
   * state before (undefined: never changed, so enabled).
   */
  set(change: { key: string; enabled: boolean; changedBy: string; note: string }, audit: (before: ApiVersionState | undefined) => AuditInput): Promise<ApiVersionState | undefined>
}

/** The catalog on the admin schema; `topic` is `ponte.api-catalog.v1` (tests use their own). */
export function createCatalogStore(pool: Pool, audit: AuditStore, topic: string, clock: { now(): Date }): CatalogStore {
  const view = (r: Record<string, unknown>): ApiVersionState => ({
    key: r.key as string, enabled: r.enabled as boolean, changedBy: r.changed_by as string, changedAt: (r.changed_at as Date).toISOString(), note: r.note as string,
  })
  return {
    async states() {
      const { rows } = await pool.query('select key, enabled, changed_by, changed_at, note from api_versions')
      return new Map(rows.map((r) => [r.key as string, view(r)]))
    },
    async set(change, auditOf) {
      const now = clock.now()
      return withTransaction(pool, async (c) => {
        const { rows } = await c.query('select key, enabled, changed_by, changed_at, note from api_versions where key = $1 for update', [change.key])
        const before = rows[0] ? view(rows[0]) : undefined
        await c.query(
          `insert into api_versions (key, enabled, changed_by, changed_at, note) values ($1, $2, $3, $4, $5)
           on conflict (key) do update set enabled = excluded.enabled, changed_by = excluded.changed_by, changed_at = excluded.changed_at, note = excluded.note`,
          [change.key, change.enabled, change.changedBy, now, change.note],
        )
        await enqueueEvent(c, {
          topic, key: change.key, schema: ApiVersionChanged,
          event: { id: randomUUID(), source: 'admin', occurredAt: now.toISOString(), version: 1, type: 'api-catalog.version-changed', data: change },
        })
        await audit.append(auditOf(before), c)
        return before
      })
    },
  }
}
