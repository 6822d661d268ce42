import { z } from 'zod'
import type { RefusalCode } from './refusal.ts'
import type { StoredOrganisation } from './ports.ts'

/** The SSA claims the connector relies on (DCR-BR v2.1; the rest are passed through as signed). */
export const SsaClaims = z.looseObject({
  software_id: z.string().min(1).max(40),
  org_id: z.string().min(1).max(40),
  software_jwks_uri: z.url(),
  software_jwks_transport_uri: z.url().optional(),
  software_roles: z.array(z.string().min(1)),
  software_redirect_uris: z.array(z.string()),
  org_status: z.string().optional(),
  iat: z.number().int(),
})
export type SsaClaims = z.infer<typeof SsaClaims>

/** A failed check: the refusal code and a detail safe to show. */
export interface Failure {
  code: RefusalCode
  detail: string
}

/** DCR-BR: the SSA `iat` is at most `maxAgeS` old and not in the future (beyond `skewS`). */
export function checkIat(iat: number, now: Date, maxAgeS: number, skewS: number): Failure | undefined {
  const nowS = Math.floor(now.getTime() / 1000)
  if (iat > nowS + skewS) return { code: 'FUTURE_IAT', detail: `SSA iat is ${iat - nowS} s in the future` }
  if (nowS - iat > maxAgeS) return { code: 'STALE_IAT', detail: `SSA iat is ${nowS - iat} s old; the limit is ${maxAgeS} s` }
  return undefined
}

/**
 * The organisation named by the SSA must be listed and Active, both in the directory and in the SSA; every role
 * of `software_roles` must be an Active role of the organisation in the directory.
 */
export function checkOrganisation(claims: SsaClaims, org: StoredOrganisation | undefined): Failure | undefined {
  if (!org) return { code: 'UNKNOWN_ORGANISATION', detail: `organisation ${claims.org_id} is not in the directory` }
  if (org.status !== 'Active') return { code: 'ORGANISATION_NOT_ACTIVE', detail: `organisation ${org.organisationId} is ${org.status}` }
  if (claims.org_status !== undefined && claims.org_status !== 'Active') {
    return { code: 'ORGANISATION_NOT_ACTIVE', detail: `SSA org_status is ${claims.org_status}` }
  }
  if (claims.software_roles.length === 0) return { code: 'ROLE_NOT_ACTIVE', detail: 'SSA lists no software_roles' }
  for (const role of claims.software_roles) {
    const held = org.roles.find((r) => r.role === role)
    if (!held || held.status !== 'Active') {
      return { code: 'ROLE_NOT_ACTIVE', detail: `role ${role} of organisation ${org.organisationId} is ${held ? held.status : 'not held'}` }
    }
  }
  return undefined
}

/** Organisation ids the keystore URLs are built from: never anything that could change the URL's host or path. */
export const ORG_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/
