import { z } from 'zod'
import { Permission, ResourceType } from '@ponte/contracts'

/**
 * One regulated endpoint as the gateway serves it. The table is generated from the official specs and the NFR
 * reference by `scripts/generate-routes.ts` into `src/routes.generated.json`; nothing here is written per endpoint.
 */
export const RouteSpec = z.object({
  /** Templated endpoint key `METHOD /path/{param}`: the traffic-policy `endpoint` and the api-call `endpoint`. */
  key: z.string(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  /** Public path template, e.g. `/open-banking/accounts/v2/accounts/{accountId}`. */
  path: z.string().startsWith('/open-banking/'),
  specFile: z.string(),
  /** The path template as the spec writes it (relative to its server base). */
  specPath: z.string(),
  /** Full API version: the `x-v` header when the upstream sets none. */
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  service: z.enum(['consent', 'connectors', 'trace']),
  /** `protected`: certificate + token; `open-data`: neither, cached, limited per client IP. */
  access: z.enum(['protected', 'open-data']),
  /** `consent`: authorization_code token bound to a consent; `client`: client_credentials token. */
  tokenKind: z.enum(['consent', 'client']).optional(),
  /** Non-dynamic scopes the token must carry (besides `openid` and `consent:<id>`). */
  scopes: z.array(z.string()),
  /** Consent permissions of which at least one must be granted. */
  permissions: z.array(Permission),
  /** Path parameter holding a resource id that must be among the consented resources of `resourceType`. */
  resourceParam: z.string().optional(),
  resourceType: ResourceType.optional(),
  /** Path parameter that must equal the token's consent id (e.g. `/consents/{consentId}/extends`). */
  pathConsentParam: z.string().optional(),
  /** Whether the gateway refuses a consent that is not AUTHORISED (false where the owning service answers 422). */
  checkConsentStatus: z.boolean().optional(),
  /**
   * Payments: the token's `consent:<id>` is a payment consent. The gateway neither looks it up nor checks its status
   * (its owner does, docs/regulation/payments.md#validation-order); it passes the id on as `paymentConsentId`.
   */
  paymentConsent: z.boolean().optional(),
  /** Payments: the token must be of the route's kind (a consent-bound token is refused on client_credentials routes). */
  strictTokenKind: z.boolean().optional(),
  /** The request body is a signed JWS (`application/jwt`): verified, then forwarded as `{"data": …}` JSON. */
  signedRequest: z.boolean().optional(),
  /** The 2xx and 422 answers are signed by the bank (`application/jwt`). */
  signedResponse: z.boolean().optional(),
  /** The spec requires `x-idempotency-key` (forwarded; the owning service keeps the idempotency record). */
  idempotencyKey: z.boolean().optional(),
  /** Whether the endpoint takes `pagination-key` (follow-up pages are exempt from monthly limits). */
  paginated: z.boolean(),
  frequency: z.enum(['high', 'medium-high', 'medium', 'low']),
  p95SlaMs: z.number().int(),
  /** NFR TPM floor per origin; null = exempt from per-minute limits. */
  tpm: z.number().int().positive().nullable(),
  /** NFR monthly operational limit floor; null = monthly limits do not apply. */
  monthly: z.number().int().positive().nullable(),
})
export type RouteSpec = z.infer<typeof RouteSpec>

/** Parses the generated table (throws on a malformed or duplicated entry). */
export function parseRouteTable(json: unknown): RouteSpec[] {
  const routes = z.array(RouteSpec).parse(json)
  const keys = new Set<string>()
  for (const r of routes) {
    if (keys.has(r.key)) throw new Error(`duplicate route ${r.key}`)
    keys.add(r.key)
    if (r.access === 'protected' && !r.tokenKind) throw new Error(`${r.key}: protected route without tokenKind`)
  }
  return routes
}

/** `/a/{id}/b` → `/a/:id/b` (the router's syntax). */
export function routerPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1')
}
