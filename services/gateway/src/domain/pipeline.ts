import type { RouteSpec } from './route-table.ts'

/**
 * The stages of the regulated pipeline, in the one order they may run (docs/decisions/gateway-pipeline.md). The order
 * is a rule: it decides which refusal a caller sees when several checks fail. A route runs the subsequence
 * {@link stagesFor} picks from its entry in the route table; `routes/stages.ts` implements each name. The README's
 * step list is tested against this list.
 */
export const STAGE_ORDER = [
  'certificate',
  'token',
  'binding',
  'interactionId',
  'scope',
  'consent',
  'organisation',
  'signedRequest',
  'jtiReplay',
  'limits',
  'forward',
  'openDataForward',
  'signedResponse',
  'monthlyUsage',
] as const
export type StageName = (typeof STAGE_ORDER)[number]

/** Authentication and authorisation of every protected route, before the consent. */
const AUTHENTICATED: readonly StageName[] = ['certificate', 'token', 'binding', 'interactionId', 'scope']

/**
 * The stages a route runs, in order, from its entry in the route table:
 * - open data: limits per client IP, then the open-data cache or the owning service;
 * - protected: certificate → token → binding → interaction id → scope, the consent when the token is bound to one
 *   (`tokenKind: consent`, except payment consents, checked by their owner), the organisation, the signed request and
 *   its `jti` on routes with a signed body, limits, forward, the answer signed on routes with signed answers, and the
 *   monthly usage settled when the route has a monthly limit.
 * Called once per route at start-up, never per request.
 */
export function stagesFor(route: RouteSpec): StageName[] {
  if (route.access === 'open-data') return ['limits', 'openDataForward']
  return [
    ...AUTHENTICATED,
    ...(route.tokenKind === 'consent' && !route.paymentConsent ? (['consent'] as const) : []),
    'organisation',
    ...(route.signedRequest ? (['signedRequest', 'jtiReplay'] as const) : []),
    'limits',
    'forward',
    ...(route.signedResponse ? (['signedResponse'] as const) : []),
    ...(route.tokenKind === 'consent' && route.monthly !== null ? (['monthlyUsage'] as const) : []),
  ]
}
