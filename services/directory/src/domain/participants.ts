import { createHash } from 'node:crypto'
import { z } from 'zod'

/** Organisation statuses of the directory. */
export const OrganisationStatus = z.enum(['Active', 'Pending', 'Withdrawn'])
export type OrganisationStatus = z.infer<typeof OrganisationStatus>

/** A regulatory role of an organisation (from `OrgDomainRoleClaims`), e.g. `DADOS` Active. */
export interface OrganisationRole {
  role: string
  status: 'Active' | 'Inactive'
}

/** What the connector keeps about a participant. */
export interface DirectoryOrganisation {
  organisationId: string
  name: string
  cnpj: string
  status: OrganisationStatus
  roles: OrganisationRole[]
  logoUri?: string | undefined
  /** The entry as published (kept for audit and for fields added later). */
  document: Record<string, unknown>
}

// The participants list is parsed leniently: only the fields the connector relies on are checked; unknown fields
// are kept in `document`. One malformed entry is skipped, not the whole list.
const RoleClaim = z.looseObject({ Role: z.string().min(1), Status: z.string().optional() })
const AuthorisationServer = z.looseObject({ CustomerFriendlyLogoUri: z.string().optional() })
const ParticipantEntry = z.looseObject({
  OrganisationId: z.string().min(1).max(40),
  Status: OrganisationStatus.optional(),
  OrganisationName: z.string().optional(),
  RegisteredName: z.string().optional(),
  LegalEntityName: z.string().optional(),
  RegistrationNumber: z.string().optional(),
  OrgDomainRoleClaims: z.array(RoleClaim).nullish(),
  AuthorisationServers: z.array(AuthorisationServer).nullish(),
})

/** Result of {@link parseParticipants}. */
export interface ParsedParticipants {
  organisations: DirectoryOrganisation[]
  /** Entries that could not be read, with the reason (for logs). */
  skipped: { index: number; reason: string }[]
}

/**
 * Reads the directory's `GET /participants` body (an array of `OrganisationExportOpenData`). A role is Active when
 * any of its claims is Active (an organisation may hold a role in several authorisation domains). Throws when the
 * body is not an array, so a broken answer never replaces a good snapshot.
 */
export function parseParticipants(body: unknown): ParsedParticipants {
  if (!Array.isArray(body)) throw new Error('participants list is not a JSON array')
  const organisations: DirectoryOrganisation[] = []
  const skipped: ParsedParticipants['skipped'] = []
  const seen = new Set<string>()
  body.forEach((raw, index) => {
    const parsed = ParticipantEntry.safeParse(raw)
    if (!parsed.success) {
      skipped.push({ index, reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') })
      return
    }
    const p = parsed.data
    if (seen.has(p.OrganisationId)) {
      skipped.push({ index, reason: `duplicate OrganisationId ${p.OrganisationId}` })
      return
    }
    seen.add(p.OrganisationId)
    const roles = new Map<string, OrganisationRole['status']>()
    for (const claim of p.OrgDomainRoleClaims ?? []) {
      const active = (claim.Status ?? 'Active') === 'Active'
      if (active || !roles.has(claim.Role)) roles.set(claim.Role, active ? 'Active' : 'Inactive')
    }
    organisations.push({
      organisationId: p.OrganisationId,
      name: p.RegisteredName ?? p.OrganisationName ?? p.LegalEntityName ?? p.OrganisationId,
      cnpj: p.RegistrationNumber ?? '',
      status: p.Status ?? 'Active',
      roles: [...roles].map(([role, status]) => ({ role, status })).sort((a, b) => a.role.localeCompare(b.role)),
      logoUri: p.AuthorisationServers?.find((a) => a.CustomerFriendlyLogoUri)?.CustomerFriendlyLogoUri,
      document: raw as Record<string, unknown>,
    })
  })
  return { organisations, skipped }
}

/** Hash of what other services react to (status and roles); equal fingerprints mean nothing to announce. */
export function organisationFingerprint(org: Pick<DirectoryOrganisation, 'status' | 'roles'>): string {
  return createHash('sha256').update(JSON.stringify({ status: org.status, roles: org.roles })).digest('base64url')
}

/** What changed between the stored and the fetched entry of an organisation. */
export function organisationChanges(
  previous: Pick<DirectoryOrganisation, 'status' | 'roles'>,
  next: Pick<DirectoryOrganisation, 'status' | 'roles'>,
): ('status' | 'roles')[] {
  const changes: ('status' | 'roles')[] = []
  if (previous.status !== next.status) changes.push('status')
  const key = (roles: OrganisationRole[]) => JSON.stringify([...roles].sort((a, b) => a.role.localeCompare(b.role)))
  if (key(previous.roles) !== key(next.roles)) changes.push('roles')
  return changes
}

/**
 * The freshness the directory asks for in `Cache-Control` (`max-age`, seconds); `no-store` / `no-cache` give 0.
 * Undefined when the header says nothing usable.
 */
export function cacheMaxAge(header: string | null | undefined): number | undefined {
  if (!header) return undefined
  const directives = header.toLowerCase().split(',').map((d) => d.trim())
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0
  const maxAge = directives.find((d) => d.startsWith('max-age='))
  if (!maxAge) return undefined
  const n = Number(maxAge.slice('max-age='.length))
  return Number.isInteger(n) && n >= 0 ? n : undefined
}
