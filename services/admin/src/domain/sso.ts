import { ROLES, type Role } from './roles.ts'

/**
 * Single sign-on rules (docs/decisions/admin-single-sign-on.md), pure: which console roles an OpenID Provider's claims
 * grant, and whether the provider asserted multi-factor authentication.
 */

/** Reads a claim by dot path (`realm_access.roles`). */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let v: unknown = claims
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/**
 * The console roles in the claim at `path` (an array of strings, or one space-separated string), each value mapped by
 * `roleMap` when the map is not empty (values it does not name are ignored) or taken as a role name otherwise; values
 * that are no console role are ignored. Sorted, without duplicates.
 */
export function rolesFromClaims(claims: Record<string, unknown>, path: string, roleMap: Readonly<Record<string, string>>): Role[] {
  const raw = claimAt(claims, path)
  const values = Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : typeof raw === 'string' ? raw.split(/\s+/) : []
  const mapped = Object.keys(roleMap).length ? values.map((v) => roleMap[v]) : values
  return [...new Set(mapped.filter((r): r is Role => r !== undefined && (ROLES as readonly string[]).includes(r)))].sort()
}

/** RFC 8176 authentication methods by factor category: something known, held, or inherent. */
const FACTOR: Readonly<Record<string, 'know' | 'have' | 'are'>> = {
  pwd: 'know', pin: 'know', kba: 'know',
  otp: 'have', hwk: 'have', swk: 'have', sms: 'have', tel: 'have', sc: 'have',
  fpt: 'are', face: 'are', iris: 'are', retina: 'are', vbm: 'are', bio: 'are',
}

/**
 * Whether the provider says the person passed more than one factor: `amr` (RFC 8176) holds `mfa`, or methods of two
 * different categories (`pwd` + `otp`, `hwk` + `face`, …), or `acr` is one of the values the bank configured as
 * multi-factor. One factor (`pwd`; `otp`; `pwd` + `kba`) is not enough.
 */
export function assertsMfa(claims: Record<string, unknown>, mfaAcrValues: readonly string[]): boolean {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : []
  if (amr.includes('mfa')) return true
  if (new Set(amr.map((m) => FACTOR[m]).filter(Boolean)).size >= 2) return true
  return typeof claims.acr === 'string' && mfaAcrValues.includes(claims.acr)
}
