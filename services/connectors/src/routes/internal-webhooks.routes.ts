import { z } from 'zod'
import { requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { WebhookStore } from '../adapters/pg-webhooks.ts'

const Query = z
  .object({
    clientId: z.string().min(1).max(256).optional(),
    resourceId: z.string().min(1).max(256).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => q.clientId !== undefined || q.resourceId !== undefined, 'give clientId and/or resourceId')

/**
 * `GET /internal/webhooks?clientId=&resourceId=` (service token; the admin console): the webhook notifications of a
 * client and/or a consent or payment, newest first, each with every attempt (status, duration, error, interaction id).
 */
export async function internalWebhookRoutes(app: PonteServer, deps: { webhooks: Pick<WebhookStore, 'list'>; serviceAuth: ServiceTokenVerifier }): Promise<void> {
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.get('/internal/webhooks', { schema: { querystring: Query } }, async (req) => ({ data: await deps.webhooks.list(req.query) }))
  })
}
