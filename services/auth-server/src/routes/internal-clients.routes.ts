import { z } from 'zod'
import type { ClientWebhookInfo } from '@ponte/contracts'
import { DomainError, requireServiceToken, type Pool, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'

/**
 * `GET /internal/clients/{clientId}/webhook` (webhook delivery): the client's registered `webhook_uris`
 * (docs/regulation/dcr.md#webhook-uris, docs/regulation/webhooks.md), its organisation, and whether it may be notified
 * (`active` is false while its organisation is withdrawn or its software statement revoked). 404 for an unknown client.
 */
export async function internalClientRoutes(app: PonteServer, deps: { pool: Pool; serviceAuth: ServiceTokenVerifier }): Promise<void> {
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.get('/internal/clients/:clientId/webhook', { schema: { params: z.object({ clientId: z.string().min(1).max(200) }) } }, async (req): Promise<ClientWebhookInfo> => {
      const { rows } = await deps.pool.query<{ payload: Record<string, unknown>; active: boolean }>(
        `select m.payload,
           not exists (select 1 from withdrawn_organisations w where w.org_id = m.payload->>'org_id')
           and not exists (select 1 from revoked_software_statements s where s.software_id = m.payload->>'software_id') as active
         from oidc_model m where m.model = 'Client' and m.id = $1`,
        [req.params.clientId],
      )
      const row = rows[0]
      if (!row) throw new DomainError('NOT_FOUND', 'unknown client')
      const uris = Array.isArray(row.payload.webhook_uris) ? row.payload.webhook_uris.filter((u): u is string => typeof u === 'string') : []
      return { clientId: req.params.clientId, organisationId: String(row.payload.org_id ?? ''), webhookUris: uris, active: row.active }
    })
  })
}
