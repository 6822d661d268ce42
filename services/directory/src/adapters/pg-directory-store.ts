import { enqueueEvent, withTransaction, type Pool } from '@ponte/platform'
import { DirectoryEvent, topics } from '@ponte/contracts'
import { organisationChangedEvent, softwareStatementRevokedEvent } from '../domain/events.ts'
import { organisationChanges, organisationFingerprint, type OrganisationRole, type OrganisationStatus } from '../domain/participants.ts'
import type { DirectoryStore, KnownSoftwareStatement, SnapshotResult, StoredOrganisation } from '../domain/ports.ts'

interface OrganisationRow {
  organisation_id: string
  name: string
  cnpj: string
  status: OrganisationStatus
  roles: OrganisationRole[]
  logo_uri: string | null
  fingerprint: string
}

interface SoftwareStatementRow {
  software_statement_id: string
  organisation_id: string
  jwks_uri: string
  transport_jwks_uri: string | null
  status: 'Active' | 'Revoked'
  kids: string[]
}

const toOrganisation = (r: OrganisationRow): StoredOrganisation => ({
  organisationId: r.organisation_id,
  name: r.name,
  cnpj: r.cnpj,
  status: r.status,
  roles: r.roles,
  ...(r.logo_uri ? { logoUri: r.logo_uri } : {}),
})

const toSoftwareStatement = (r: SoftwareStatementRow): KnownSoftwareStatement => ({
  softwareStatementId: r.software_statement_id,
  organisationId: r.organisation_id,
  jwksUri: r.jwks_uri,
  ...(r.transport_jwks_uri ? { transportJwksUri: r.transport_jwks_uri } : {}),
  status: r.status,
  kids: r.kids,
})

/** The connector's PostgreSQL storage (schema `directory`); events go through the schema's outbox. */
export function createPgDirectoryStore(pool: Pool): DirectoryStore {
  return {
    async getOrganisation(organisationId) {
      const { rows } = await pool.query<OrganisationRow>('select * from organisations where organisation_id = $1', [organisationId])
      return rows[0] ? toOrganisation(rows[0]) : undefined
    },

    async applySnapshot(organisations, input): Promise<SnapshotResult> {
      return withTransaction(pool, async (client) => {
        // One writer at a time across replicas; the diff is computed under the lock, so an event is never doubled.
        await client.query("select pg_advisory_xact_lock(hashtext(current_schema() || '.participants-sync'))")
        const { rows } = await client.query<OrganisationRow>('select * from organisations')
        const existing = new Map(rows.map((r) => [r.organisation_id, r]))
        if (organisations.length === 0 && existing.size > 0) throw new Error('the directory returned an empty participants list; keeping the stored one')
        const initialLoad = existing.size === 0
        const result: SnapshotResult = { total: organisations.length, created: 0, changed: [] }
        const listed = new Set<string>()
        for (const org of organisations) {
          listed.add(org.organisationId)
          const fingerprint = organisationFingerprint(org)
          const previous = existing.get(org.organisationId)
          await client.query(
            `insert into organisations (organisation_id, name, cnpj, status, roles, logo_uri, document, fingerprint, updated_at, synced_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             on conflict (organisation_id) do update set name = excluded.name, cnpj = excluded.cnpj, status = excluded.status,
               roles = excluded.roles, logo_uri = excluded.logo_uri, document = excluded.document, fingerprint = excluded.fingerprint,
               updated_at = case when organisations.fingerprint = excluded.fingerprint then organisations.updated_at else excluded.updated_at end,
               synced_at = excluded.synced_at`,
            [org.organisationId, org.name, org.cnpj, org.status, JSON.stringify(org.roles), org.logoUri ?? null, JSON.stringify(org.document), fingerprint, input.now],
          )
          if (!previous) {
            result.created++
            continue
          }
          if (previous.fingerprint === fingerprint) continue
          const changes = organisationChanges(previous, org)
          if (changes.length === 0) continue
          result.changed.push({ organisationId: org.organisationId, changes })
          await enqueueEvent(client, { topic: topics.directory, key: org.organisationId, schema: DirectoryEvent, event: organisationChangedEvent(org, changes, input.now) })
        }
        // An organisation no longer listed can no longer take part: treat it as Withdrawn.
        for (const prev of existing.values()) {
          if (listed.has(prev.organisation_id) || prev.status === 'Withdrawn') continue
          const gone = { organisationId: prev.organisation_id, status: 'Withdrawn' as const, roles: prev.roles }
          await client.query('update organisations set status = $2, fingerprint = $3, updated_at = $4, synced_at = $4 where organisation_id = $1', [
            prev.organisation_id, 'Withdrawn', organisationFingerprint(gone), input.now,
          ])
          result.changed.push({ organisationId: prev.organisation_id, changes: ['status'] })
          await enqueueEvent(client, { topic: topics.directory, key: prev.organisation_id, schema: DirectoryEvent, event: organisationChangedEvent(gone, ['status'], input.now) })
        }
        if (initialLoad) result.created = organisations.length
        await client.query(
          `insert into sync_state (id, source_url, last_success_at, next_due_at, last_error, organisations) values (1, $1, $2, $3, null, $4)
           on conflict (id) do update set source_url = excluded.source_url, last_success_at = excluded.last_success_at,
             next_due_at = excluded.next_due_at, last_error = null, organisations = excluded.organisations`,
          [input.sourceUrl, input.now, input.nextDueAt, organisations.length],
        )
        return result
      })
    },

    async recordSyncFailure(input) {
      await pool.query(
        `insert into sync_state (id, source_url, next_due_at, last_error) values (1, $1, $2, $3)
         on conflict (id) do update set next_due_at = excluded.next_due_at, last_error = excluded.last_error`,
        [input.sourceUrl, input.nextDueAt, input.error],
      )
    },

    async nextSyncDue() {
      const { rows } = await pool.query<{ next_due_at: Date; last_success_at: Date | null }>('select next_due_at, last_success_at from sync_state where id = 1')
      return rows[0]?.next_due_at
    },

    async getSoftwareStatement(softwareStatementId) {
      const { rows } = await pool.query<SoftwareStatementRow>('select * from software_statements where software_statement_id = $1', [softwareStatementId])
      return rows[0] ? toSoftwareStatement(rows[0]) : undefined
    },

    async rememberSoftwareStatement(input) {
      await pool.query(
        `insert into software_statements (software_statement_id, organisation_id, jwks_uri, transport_jwks_uri) values ($1, $2, $3, $4)
         on conflict (software_statement_id) do update set jwks_uri = excluded.jwks_uri, transport_jwks_uri = excluded.transport_jwks_uri`,
        [input.softwareStatementId, input.organisationId, input.jwksUri, input.transportJwksUri ?? null],
      )
    },

    async listActiveSoftwareStatements() {
      const { rows } = await pool.query<SoftwareStatementRow>("select * from software_statements where status = 'Active' order by software_statement_id")
      return rows.map(toSoftwareStatement)
    },

    async updateSoftwareStatementKeys(softwareStatementId, kids, now) {
      return withTransaction(pool, async (client) => {
        const { rows } = await client.query<SoftwareStatementRow>('select * from software_statements where software_statement_id = $1 for update', [softwareStatementId])
        const ss = rows[0]
        if (!ss || ss.status === 'Revoked') return 'unchanged'
        const sorted = [...new Set(kids)].sort()
        if (sorted.length === 0) {
          await client.query("update software_statements set status = 'Revoked', kids = '[]', revoked_at = $2, checked_at = $2 where software_statement_id = $1", [softwareStatementId, now])
          await enqueueEvent(client, {
            topic: topics.directory,
            key: ss.organisation_id,
            schema: DirectoryEvent,
            event: softwareStatementRevokedEvent(ss.organisation_id, softwareStatementId, now),
          })
          return 'revoked'
        }
        const firstCheck = ss.kids.length === 0
        const same = JSON.stringify(sorted) === JSON.stringify([...ss.kids].sort())
        await client.query('update software_statements set kids = $2, checked_at = $3 where software_statement_id = $1', [softwareStatementId, JSON.stringify(sorted), now])
        if (same || firstCheck) return 'unchanged'
        const org = await client.query<OrganisationRow>('select * from organisations where organisation_id = $1', [ss.organisation_id])
        const o = org.rows[0]
        if (o) {
          await enqueueEvent(client, {
            topic: topics.directory,
            key: ss.organisation_id,
            schema: DirectoryEvent,
            event: organisationChangedEvent({ organisationId: o.organisation_id, status: o.status, roles: o.roles }, ['keys'], now),
          })
        }
        return 'changed'
      })
    },
  }
}
