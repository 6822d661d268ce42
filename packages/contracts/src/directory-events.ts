import { z } from 'zod'
import { eventEnvelope } from './envelope.ts'

/** An organisation's status, roles or keys changed in the directory (`ponte.directory.v1`, key = org id). */
export const OrganisationChanged = z.object({
  ...eventEnvelope,
  type: z.literal('directory.organisation.changed'),
  data: z.object({
    organisationId: z.string(),
    status: z.enum(['Active', 'Pending', 'Withdrawn']),
    roles: z.array(z.object({ role: z.string(), status: z.enum(['Active', 'Inactive']) })),
    /** What changed since the previous sync. */
    changes: z.array(z.enum(['status', 'roles', 'keys'])),
  }),
})
/** A software statement's keys were revoked (moved to the inactive keystore). */
export const SoftwareStatementRevoked = z.object({
  ...eventEnvelope,
  type: z.literal('directory.software-statement.revoked'),
  data: z.object({ organisationId: z.string(), softwareStatementId: z.string() }),
})
/** Any event of `ponte.directory.v1`. */
export const DirectoryEvent = z.discriminatedUnion('type', [OrganisationChanged, SoftwareStatementRevoked])
export type DirectoryEvent = z.infer<typeof DirectoryEvent>
