import { randomUUID } from 'node:crypto'
import type { OrganisationChanged, SoftwareStatementRevoked } from '@ponte/contracts'
import type { z } from 'zod'
import type { OrganisationRole, OrganisationStatus } from './participants.ts'

const SOURCE = 'directory'

/** `directory.organisation.changed` for `ponte.directory.v1`. */
export function organisationChangedEvent(
  org: { organisationId: string; status: OrganisationStatus; roles: OrganisationRole[] },
  changes: ('status' | 'roles' | 'keys')[],
  now: Date,
): z.input<typeof OrganisationChanged> {
  return {
    id: randomUUID(),
    source: SOURCE,
    occurredAt: now.toISOString(),
    version: 1,
    type: 'directory.organisation.changed',
    data: { organisationId: org.organisationId, status: org.status, roles: org.roles, changes },
  }
}

/** `directory.software-statement.revoked` for `ponte.directory.v1`. */
export function softwareStatementRevokedEvent(organisationId: string, softwareStatementId: string, now: Date): z.input<typeof SoftwareStatementRevoked> {
  return {
    id: randomUUID(),
    source: SOURCE,
    occurredAt: now.toISOString(),
    version: 1,
    type: 'directory.software-statement.revoked',
    data: { organisationId, softwareStatementId },
  }
}
