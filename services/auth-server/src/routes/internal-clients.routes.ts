import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { ClientStatusChanged, type ClientWebhookInfo } from '@ponte/contracts'
import { DomainError, enqueueEvent, requireServiceToken, withTransaction, type Pool, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { announceClientChange } from '../adapters/client-cache.ts'

const ClientParams = z.object({ clientId: z.string().min(1).max(200) })
const StatusBody = z.object({ note: z.string().trim().min(3).max(140), by: z.string().min(1).max(320) })

/** Options of {@link internalClientRoutes}. */
export interface InternalClientRoutesOptions {
  pool: Pool
  serviceAuth: ServiceTokenVerifier
  /** The topic of client suspensions (`ponte.client.v1`; tests use their own). */
  clientTopic: string
}

/** Whether the client may act: its organisation not withdrawn, its software statement not revoked, not suspended. */
const ACTIVE = `not exists (select 1 from withdrawn_organisations w where w.org_id = m.payload->>'org_id')
  and not exists (select 1 from revoked_software_statements s where s.software_id = m.payload->>'software_id')
  and not exists (select 1 from suspended_clients x where x.client_id = m.id)`

/**
 * The auth-server's internal client routes (service token):
 * - `GET /internal/clients/{clientId}/webhook` (webhook delivery): the client's registered `webhook_uris`
 *   (docs/regulation/dcr.md#webhook-uris, docs/regulation/webhooks.md), its organisation, and whether it may be
 *   notified (`active` is false while its organisation is withdrawn, its software statement revoked or it is
 *   suspended). 404 for an unknown client.
 * - `GET /internal/clients`, `POST /internal/clients/{clientId}/suspend` and `/reinstate` (the admin console only):
 *   every registered client, and the bank's suspension of one. A suspension is written with its `ponte.client.v1`
 *   event (outbox) in one transaction, and every replica forgets its cached copy at commit, so the client obtains no
 *   token from the next request on; the gateway refuses its tokens already issued on the event.
 */
export async function internalClientRoutes(app: PonteServer, deps: InternalClientRoutesOptions): Promise<void> {
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.get('/internal/clients/:clientId/webhook', { schema: { params: ClientParams } }, async (req): Promise<ClientWebhookInfo> => {
      const { rows } = await deps.pool.query<{ payload: Record<string, unknown>; active: boolean }>(
        `select m.payload, ${ACTIVE} as active from oidc_model m where m.model = 'Client' and m.id = $1`,
        [req.params.clientId],
      )
      const row = rows[0]
      if (!row) throw new DomainError('NOT_FOUND', 'unknown client')
      const uris = Array.isArray(row.payload.webhook_uris) ? row.payload.webhook_uris.filter((u): u is string => typeof u === 'string') : []
      return { clientId: req.params.clientId, organisationId: String(row.payload.org_id ?? ''), webhookUris: uris, active: row.active }
    })
  })

  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.addHook('onRequest', async (req) => {
      if (req.serviceCaller?.iss !== 'admin') throw new DomainError('FORBIDDEN', 'only the admin console manages client suspensions')
    })

    r.get('/internal/clients', async () => {
      const { rows } = await deps.pool.query(
        `select m.id, m.payload, ${ACTIVE} as active, x.suspended_by, x.note, x.suspended_at
           from oidc_model m left join suspended_clients x on x.client_id = m.id
          where m.model = 'Client' order by m.payload->>'org_id', m.id`,
      )
      return {
        clients: rows.map((row) => {
          const p = row.payload as Record<string, unknown>
          return {
            clientId: row.id as string,
            clientName: typeof p.client_name === 'string' ? p.client_name : null,
            organisationId: String(p.org_id ?? ''),
            softwareStatementId: typeof p.software_id === 'string' ? p.software_id : null,
            subjectDn: typeof p.tls_client_auth_subject_dn === 'string' ? p.tls_client_auth_subject_dn : null,
            jwksUri: typeof p.jwks_uri === 'string' ? p.jwks_uri : null,
            active: row.active as boolean,
            suspension: row.suspended_at ? { by: row.suspended_by as string, note: row.note as string, at: (row.suspended_at as Date).toISOString() } : null,
          }
        }),
      }
    })

    const change = (suspend: boolean) => async (req: { params: { clientId: string }; body: { note: string; by: string } }) => {
      const { clientId } = req.params
      return withTransaction(deps.pool, async (c) => {
        const { rows } = await c.query<{ org_id: string | null }>(`select payload->>'org_id' as org_id from oidc_model where model = 'Client' and id = $1 for update`, [clientId])
        if (!rows[0]) throw new DomainError('NOT_FOUND', 'unknown client')
        const orgId = rows[0].org_id ?? ''
        const done = suspend
          ? await c.query('insert into suspended_clients (client_id, org_id, suspended_by, note) values ($1, $2, $3, $4) on conflict do nothing', [clientId, orgId, req.body.by, req.body.note])
          : await c.query('delete from suspended_clients where client_id = $1', [clientId])
        if (done.rowCount === 0) throw new DomainError('UNPROCESSABLE_ENTITY', suspend ? 'the client is already suspended' : 'the client is not suspended')
        await enqueueEvent(c, {
          topic: deps.clientTopic, key: clientId, schema: ClientStatusChanged,
          event: {
            id: randomUUID(), source: 'auth-server', occurredAt: new Date().toISOString(), version: 1, type: 'client.status-changed',
            data: { clientId, organisationId: orgId, suspended: suspend, changedBy: req.body.by, note: req.body.note },
          },
        })
        await announceClientChange(c, clientId)
        return { clientId, suspended: suspend }
      })
    }
    r.post('/internal/clients/:clientId/suspend', { schema: { params: ClientParams, body: StatusBody } }, change(true))
    r.post('/internal/clients/:clientId/reinstate', { schema: { params: ClientParams, body: StatusBody } }, change(false))
  })
}
