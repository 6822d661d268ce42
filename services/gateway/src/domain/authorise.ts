import type { ConsentLookup } from '@ponte/contracts'
import type { RouteSpec } from './route-table.ts'
import { refuse } from './refusals.ts'

/** The verified facts of an access token the gateway relies on. */
export interface AccessTokenFacts {
  clientId: string
  scopes: string[]
  /** The consent the token was issued for (`consent_id` claim or `consent:<id>` scope). */
  consentId?: string
  /** `cnf.x5t#S256`: thumbprint of the certificate the token is bound to. */
  x5tS256: string
  /** Expiry, epoch seconds. */
  exp: number
}

const CONSENT_SCOPE = 'consent:'

/**
 * The consent id a token carries: the `consent_id` claim and/or the `consent:<id>` scope. When both are present
 * they must agree; a token with two different consent scopes is not accepted.
 */
export function consentIdOf(claim: unknown, scopes: readonly string[]): string | undefined | null {
  const fromScopes = scopes.filter((s) => s.startsWith(CONSENT_SCOPE)).map((s) => s.slice(CONSENT_SCOPE.length))
  if (fromScopes.length > 1) return null
  const fromClaim = typeof claim === 'string' && claim.length > 0 ? claim : undefined
  if (fromClaim && fromScopes[0] && fromClaim !== fromScopes[0]) return null
  return fromClaim ?? fromScopes[0]
}

/** Step: the token's scopes hold every scope the route requires, and a consent when the route is consent-bound. */
export function checkScopes(route: RouteSpec, token: AccessTokenFacts): void {
  // docs/regulation/payments.md#payment-tokens: payments' client_credentials routes take no consent-bound token.
  if (route.strictTokenKind && route.tokenKind === 'client' && token.consentId) throw refuse('WRONG_TOKEN_TYPE')
  for (const s of route.scopes) if (!token.scopes.includes(s)) throw refuse('SCOPE_MISSING', `the access token lacks the scope "${s}"`)
  if (route.tokenKind === 'consent' && !token.consentId) throw refuse('SCOPE_MISSING', 'the access token carries no consent:<id> scope')
}

/**
 * Step: the consent allows this call. Order: exists → owned by the client → AUTHORISED → unexpired → permission →
 * resource. `params` are the route's path parameters.
 */
export function checkConsent(route: RouteSpec, token: AccessTokenFacts, consent: ConsentLookup | undefined, params: Record<string, string>, nowMs: number): void {
  if (!consent) throw refuse('CONSENT_UNKNOWN')
  if (consent.clientId !== token.clientId) throw refuse('CONSENT_CLIENT_MISMATCH')
  if (route.pathConsentParam && params[route.pathConsentParam] !== consent.consentId) throw refuse('CONSENT_CLIENT_MISMATCH', 'the path names another consent than the token')
  if (route.checkConsentStatus !== false) {
    if (consent.status !== 'AUTHORISED') throw refuse('CONSENT_NOT_AUTHORISED', `the consent is ${consent.status}`)
    if (consent.expirationDateTime && Date.parse(consent.expirationDateTime) <= nowMs) throw refuse('CONSENT_EXPIRED')
  }
  if (route.permissions.length > 0 && !route.permissions.some((p) => consent.permissions.includes(p))) {
    throw refuse('PERMISSION_NOT_GRANTED', `the consent does not grant ${route.permissions.join(' or ')}`)
  }
  if (route.resourceParam) {
    const id = params[route.resourceParam]
    if (!consent.resources.some((r) => r.resourceId === id && (!route.resourceType || r.type === route.resourceType))) throw refuse('RESOURCE_NOT_CONSENTED')
  }
}
