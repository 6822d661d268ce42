import type { Permission } from '../domain/roles.ts'

/**
 * Every console API route and what it needs, in one table: `public` (no session: the login steps), `session` (any
 * signed-in staff member: their own session) or a {@link Permission}. The app refuses to start when an `/api` route
 * is missing here, and the route × role test walks this table.
 */
export const API_ROUTES = [
  { method: 'POST', url: '/api/session/login', needs: 'public' },
  { method: 'POST', url: '/api/session/totp', needs: 'public' },
  { method: 'GET', url: '/api/session', needs: 'session' },
  { method: 'POST', url: '/api/session/logout', needs: 'session' },
  { method: 'POST', url: '/api/session/logout-all', needs: 'session' },

  { method: 'GET', url: '/api/consents', needs: 'consents:read' },
  { method: 'GET', url: '/api/consents/:consentId', needs: 'consents:read' },
  { method: 'POST', url: '/api/consents/:consentId/revoke', needs: 'consents:revoke' },

  { method: 'GET', url: '/api/traffic/policies', needs: 'traffic:read' },
  { method: 'GET', url: '/api/traffic/catalogue', needs: 'traffic:read' },
  { method: 'GET', url: '/api/traffic/usage', needs: 'traffic:read' },
  { method: 'POST', url: '/api/traffic/overrides/preview', needs: 'traffic:write' },
  { method: 'PUT', url: '/api/traffic/overrides', needs: 'traffic:write' },

  { method: 'GET', url: '/api/participants/:organisationId', needs: 'participants:read' },

  { method: 'GET', url: '/api/payments', needs: 'payments:read' },
  { method: 'GET', url: '/api/payments/:paymentId', needs: 'payments:read' },
  { method: 'POST', url: '/api/payments/:paymentId/cancel', needs: 'payments:cancel' },
  { method: 'GET', url: '/api/payment-consents/:consentId', needs: 'payments:read' },

  { method: 'GET', url: '/api/catalog', needs: 'catalog:read' },
  { method: 'PUT', url: '/api/catalog/:api/:version', needs: 'catalog:write' },
  { method: 'GET', url: '/api/outages', needs: 'catalog:read' },
  { method: 'POST', url: '/api/outages', needs: 'catalog:write' },
  { method: 'DELETE', url: '/api/outages/:outageId', needs: 'catalog:write' },

  { method: 'GET', url: '/api/clients', needs: 'participants:read' },
  { method: 'POST', url: '/api/clients/:clientId/suspend', needs: 'clients:suspend' },
  { method: 'POST', url: '/api/clients/:clientId/reinstate', needs: 'clients:suspend' },

  { method: 'GET', url: '/api/staff', needs: 'staff:read' },
  { method: 'POST', url: '/api/staff', needs: 'staff:write' },
  { method: 'PATCH', url: '/api/staff/:userId', needs: 'staff:write' },

  { method: 'GET', url: '/api/audit', needs: 'audit:read' },
  { method: 'GET', url: '/api/audit/export.csv', needs: 'audit:read' },
  { method: 'GET', url: '/api/audit/verify', needs: 'audit:read' },
] as const satisfies ReadonlyArray<{ method: string; url: string; needs: Permission | 'public' | 'session' }>

export type ApiRoute = (typeof API_ROUTES)[number]

const index = new Map<string, ApiRoute['needs']>(API_ROUTES.map((r) => [`${r.method} ${r.url}`, r.needs]))

/** What a route needs, by method and fastify route pattern; `undefined` when the route is not in the table. */
export function routeNeeds(method: string, url: string): ApiRoute['needs'] | undefined {
  return index.get(`${method} ${url}`)
}
