import { z } from 'zod'
import { OrganisationSummary } from '@ponte/contracts'
import { DomainError, type InternalClient, type PonteServer } from '@ponte/platform'

/** Options of {@link participantRoutes}. */
export interface ParticipantRoutesOptions {
  /** The directory service's internal API (audience `directory`). */
  directory: InternalClient
}

/** `/api/participants`: an organisation of the Open Finance directory, as the directory service knows it. */
export async function participantRoutes(app: PonteServer, opts: ParticipantRoutesOptions): Promise<void> {
  app.get('/api/participants/:organisationId', { schema: { params: z.object({ organisationId: z.string().trim().min(1).max(40) }) } }, async (req) => {
    const org = await opts.directory.find('GET', `/internal/organisations/${encodeURIComponent(req.params.organisationId)}`, OrganisationSummary)
    if (!org) throw new DomainError('NOT_FOUND', 'organisation not in the directory')
    return { organisation: org }
  })
}
