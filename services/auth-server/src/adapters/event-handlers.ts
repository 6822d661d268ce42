import type { ConsentEvent, DirectoryEvent } from '@ponte/contracts'
import type { PoolClient } from '@ponte/platform'
import { announceClientChange } from './client-cache.ts'

/**
 * `ponte.consent.v1`: a consent that reached REJECTED (refused, expired, revoked) loses every grant it produced, and
 * with them its refresh tokens (FAPI-BR §8.1). Runs inside the idempotent handler's transaction.
 */
export async function onConsentEvent(event: ConsentEvent, client: PoolClient): Promise<void> {
  if (event.type !== 'consent.rejected') return
  const { rows } = await client.query<{ grant_id: string }>('delete from consent_grants where consent_id = $1 returning grant_id', [event.data.consentId])
  const grants = rows.map((r) => r.grant_id)
  if (grants.length === 0) return
  await client.query("delete from oidc_model where grant_id = any($1) or (model = 'Grant' and id = any($1))", [grants])
}

/**
 * `ponte.directory.v1`: a withdrawn organisation's clients (or a revoked software statement's) can no longer be loaded,
 * so they obtain no tokens and start no authorization; an organisation made active again is restored. Every replica
 * forgets its cached clients when the transaction commits.
 */
export async function onDirectoryEvent(event: DirectoryEvent, client: PoolClient): Promise<void> {
  if (event.type === 'directory.software-statement.revoked') {
    await client.query('insert into revoked_software_statements (software_id, org_id) values ($1, $2) on conflict do nothing',
      [event.data.softwareStatementId, event.data.organisationId])
    await announceClientChange(client)
    return
  }
  if (event.data.status === 'Withdrawn') {
    await client.query('insert into withdrawn_organisations (org_id) values ($1) on conflict do nothing', [event.data.organisationId])
    await announceClientChange(client)
  } else if (event.data.status === 'Active') {
    await client.query('delete from withdrawn_organisations where org_id = $1', [event.data.organisationId])
    await announceClientChange(client)
  }
}
