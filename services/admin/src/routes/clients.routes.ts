import { z } from 'zod'
import { ParticipantCertificates } from '@ponte/contracts'
import type { InternalClient, PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import { audited } from '../adapters/audited.ts'

/** Options of {@link clientRoutes}. */
export interface ClientRoutesOptions {
  /** The auth-server's internal API (audience `auth-server`): registered clients and their suspension. */
  authServer: InternalClient
  /** The directory connector's internal API (audience `directory`): the TPPs' certificates and their expiry. */
  directory: InternalClient
  audit: AuditStore
}

const RegisteredClient = z.object({
  clientId: z.string(),
  clientName: z.string().nullable(),
  organisationId: z.string(),
  softwareStatementId: z.string().nullable(),
  subjectDn: z.string().nullable(),
  jwksUri: z.string().nullable(),
  active: z.boolean(),
  suspension: z.object({ by: z.string(), note: z.string(), at: z.string() }).nullable(),
})
const ClientList = z.object({ clients: z.array(RegisteredClient) })
const StatusResult = z.object({ clientId: z.string(), suspended: z.boolean() })
const Params = z.object({ clientId: z.string().min(1).max(200) })
const Body = z.object({ note: z.string().trim().min(3, 'a note of at least 3 characters is required').max(140) })

/**
 * `/api/clients`: every client registered by DCR (the auth-server's), with its software statement's certificates and
 * their expiry (the directory connector's keystore view); suspend and reinstate one (security administrator, note
 * mandatory, audited). The auth-server refuses a suspended client at once and tells the gateway (`ponte.client.v1`).
 */
export async function clientRoutes(app: PonteServer, opts: ClientRoutesOptions): Promise<void> {
  app.get('/api/clients', async () => {
    const [list, certs] = await Promise.all([
      opts.authServer.call('GET', '/internal/clients', ClientList),
      // The certificates are a view of the directory's keystores: when the directory does not answer, the clients
      // are still listed, with their certificates unknown.
      opts.directory.call('GET', '/internal/certificates/expiry', ParticipantCertificates).catch(() => undefined),
    ])
    return {
      certificatesKnown: certs !== undefined,
      clients: list.clients.map((c) => ({
        ...c,
        certificates: (certs?.certificates ?? [])
          .filter((x) => x.organisationId === c.organisationId && x.softwareStatementId === c.softwareStatementId)
          .map(({ kid, subjectDn, notAfter, jwksUri }) => ({ kid, subjectDn, notAfter, jwksUri })),
      })),
    }
  })

  for (const action of ['suspend', 'reinstate'] as const) {
    app.post(`/api/clients/:clientId/${action}`, { schema: { params: Params, body: Body } }, async (req) => {
      const { clientId } = req.params
      const { note } = req.body
      return audited(opts.audit, req, { action: `clients.${action}`, target: `client:${clientId}`, before: { suspended: action === 'reinstate' }, detail: { note } },
        () => opts.authServer.call('POST', `/internal/clients/${encodeURIComponent(clientId)}/${action}`, StatusResult, { body: { note, by: req.staff!.user.email } }),
        (r) => ({ suspended: r.suspended }))
    })
  }
}
