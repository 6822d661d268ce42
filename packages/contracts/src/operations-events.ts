import { z } from 'zod'
import { eventEnvelope } from './envelope.ts'

/** An API group and major version as the route table names it: `accounts/v2`, `payments/v4`. */
export const ApiVersionKey = z.string().regex(/^[a-z0-9-]+\/v\d+$/)

/**
 * An API version was enabled or disabled by an operator in the admin console (`ponte.api-catalog.v1`, compacted,
 * key = `api/vN`). The gateway reads the topic from the beginning and answers a disabled version's routes 404, as an
 * endpoint not offered (docs/decisions/admin-operations-pages.md).
 */
export const ApiVersionChanged = z.object({
  ...eventEnvelope,
  type: z.literal('api-catalog.version-changed'),
  data: z.object({ key: ApiVersionKey, enabled: z.boolean(), changedBy: z.string(), note: z.string() }),
})
/** Any event of `ponte.api-catalog.v1`. */
export const ApiCatalogEvent = z.discriminatedUnion('type', [ApiVersionChanged])
export type ApiCatalogEvent = z.infer<typeof ApiCatalogEvent>

/**
 * A registered client (DCR) was suspended or reinstated by a security administrator (`ponte.client.v1`, compacted,
 * key = client id), published by the auth-server, which refuses the client at once itself. The gateway reads the
 * topic from the beginning and refuses a suspended client's access tokens.
 */
export const ClientStatusChanged = z.object({
  ...eventEnvelope,
  type: z.literal('client.status-changed'),
  data: z.object({ clientId: z.string().min(1), organisationId: z.string(), suspended: z.boolean(), changedBy: z.string(), note: z.string() }),
})
/** Any event of `ponte.client.v1`. */
export const ClientEvent = z.discriminatedUnion('type', [ClientStatusChanged])
export type ClientEvent = z.infer<typeof ClientEvent>
