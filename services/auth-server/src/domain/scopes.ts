/**
 * Scopes of Open Finance Brasil as the authorization server sees them (docs/regulation/security-profile.md#consent-scopes,
 * docs/regulation/dcr.md#roles-and-allowed-scopes).
 */

import { CONSENT_ID_RE } from '@ponte/contracts'

/** FAPI-BR v2.1 §5.1.3: listed in discovery even when the product is not offered. */
export const MANDATORY_DISCOVERY_SCOPES = [
  'invoice-financings', 'financings', 'loans', 'unarranged-accounts-overdraft', 'bank-fixed-incomes',
  'credit-fixed-incomes', 'variable-incomes', 'treasure-titles', 'funds', 'exchanges',
] as const

/** DCR-BR v2.1 §7.2: the scopes each active regulatory role allows. */
export const ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  DADOS: ['openid', 'accounts', 'credit-cards-accounts', 'consents', 'customers', 'invoice-financings', 'financings', 'loans',
    'unarranged-accounts-overdraft', 'resources', 'credit-fixed-incomes', 'exchanges', 'bank-fixed-incomes', 'variable-incomes',
    'treasure-titles', 'funds', 'credit-portability'],
  PAGTO: ['openid', 'payments', 'recurring-payments', 'nrp-consents'],
  CONTA: ['openid'],
  CCORR: ['openid'],
}

/** Scopes a client may use without a customer (client_credentials). */
export const CLIENT_CREDENTIALS_SCOPES = new Set(['consents', 'payments', 'recurring-payments', 'nrp-consents', 'resources'])

/** The union of the scopes allowed by the active roles, in a stable order. */
export function scopesForRoles(roles: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const role of roles) for (const s of ROLE_SCOPES[role] ?? []) out.add(s)
  return [...out]
}

/** The consent id of a `consent:<id>` scope, or undefined when the token is not a valid consent scope. */
export function consentIdOfScope(scope: string): string | undefined {
  if (!scope.startsWith('consent:')) return undefined
  const id = scope.slice('consent:'.length)
  return id.length <= 256 && CONSENT_ID_RE.test(id) ? id : undefined
}

/** Every consent id requested in a space-separated scope string. */
export function consentIdsOfScopeString(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').map(consentIdOfScope).filter((x): x is string => x !== undefined)
}
