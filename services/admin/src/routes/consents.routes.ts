import { z } from 'zod'
import { ConsentAuditTrail, ConsentSearchResult, InternalConsent } from '@ponte/contracts'
import { DomainError, type InternalClient, type PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import { maskAuditActor, maskCnpj, maskCpf } from '../domain/masking.ts'
import { auditContext } from '../adapters/http-security.ts'

/** Options of {@link consentRoutes}. */
export interface ConsentRoutesOptions {
  /** The consent service's internal API (audience `consent`). */
  consent: InternalClient
  audit: AuditStore
}

const ConsentIdParams = z.object({ consentId: z.string().min(1).max(256) })
const SearchQuery = z.object({
  consentId: z.string().trim().min(1).max(256).optional(),
  cpf: z.string().trim().transform((s) => s.replace(/[.\-\s]/g, '')).pipe(z.string().regex(/^\d{11}$/, 'a CPF has 11 digits')).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
}).refine((q) => (q.consentId === undefined) !== (q.cpf === undefined), 'give either consentId or cpf')

/**
 * Revocation by staff: on the customer's request (`CUSTOMER_MANUALLY_REVOKED`, recorded as rejected by the USER) or
 * for security (`INTERNAL_SECURITY_REASON`, rejected by the ASPSP); the note is mandatory and goes to the consent's
 * `rejection.reason.additionalInformation` (docs/regulation/consents.md).
 */
const RevokeBody = z.object({
  reason: z.enum(['CUSTOMER_MANUALLY_REVOKED', 'INTERNAL_SECURITY_REASON']),
  note: z.string().trim().min(3, 'a note of at least 3 characters is required').max(140),
})

/** A consent as the console shows it: the customer's documents masked. */
export function consentView(c: InternalConsent) {
  const { loggedUser, businessEntity, ...rest } = c
  return { ...rest, loggedUser: { cpf: maskCpf(loggedUser.cpf) }, ...(businessEntity ? { businessEntity: { cnpj: maskCnpj(businessEntity.cnpj) } } : {}) }
}

/** `/api/consents`: find consents by id or CPF, see one with its lifecycle audit, revoke one. */
export async function consentRoutes(app: PonteServer, opts: ConsentRoutesOptions): Promise<void> {
  app.get('/api/consents', { schema: { querystring: SearchQuery } }, async (req) => {
    const q = req.query
    if (q.consentId) {
      const found = await opts.consent.find('GET', `/internal/consents/${encodeURIComponent(q.consentId)}`, InternalConsent)
      return { items: found ? [consentView(found)] : [], page: 1, totalPages: found ? 1 : 0, totalRecords: found ? 1 : 0 }
    }
    // Looking a customer up by CPF is access to personal data: it is audited (with the CPF masked).
    await opts.audit.append({ ...auditContext(req), action: 'consents.search', outcome: 'success', target: maskCpf(q.cpf!) })
    const r = await opts.consent.call('GET', '/internal/consents', ConsentSearchResult, { query: { document: q.cpf, page: q.page, pageSize: 50 } })
    return { items: r.items.map(consentView), page: r.page, totalPages: r.totalPages, totalRecords: r.totalRecords }
  })

  app.get('/api/consents/:consentId', { schema: { params: ConsentIdParams } }, async (req) => {
    const id = encodeURIComponent(req.params.consentId)
    const consent = await opts.consent.find('GET', `/internal/consents/${id}`, InternalConsent)
    if (!consent) throw new DomainError('NOT_FOUND', 'consent not found')
    const trail = await opts.consent.call('GET', `/internal/consents/${id}/audit`, ConsentAuditTrail)
    return { consent: consentView(consent), audit: trail.items.map(maskAuditActor) }
  })

  app.post('/api/consents/:consentId/revoke', { schema: { params: ConsentIdParams, body: RevokeBody } }, async (req) => {
    const id = encodeURIComponent(req.params.consentId)
    const staff = req.staff!.user
    const before = await opts.consent.find('GET', `/internal/consents/${id}`, InternalConsent)
    if (!before) throw new DomainError('NOT_FOUND', 'consent not found')
    const entry = { ...auditContext(req), action: 'consents.revoke', target: `consent:${req.params.consentId}`, before: { status: before.status } }
    try {
      const after = await opts.consent.call('POST', `/internal/consents/${id}/revoke`, InternalConsent, {
        // The customer's own decision, taken down by staff, is the customer's (`rejectedBy: USER`); a security
        // revocation is the bank's (`ASPSP`). The staff member is named either way, here and in this log.
        body: {
          actor: req.body.reason === 'CUSTOMER_MANUALLY_REVOKED' ? { type: 'CUSTOMER', id: `staff:${staff.email}` } : { type: 'STAFF', id: staff.email },
          reason: req.body.reason,
          additionalInformation: req.body.note,
        },
        headers: { 'x-fapi-interaction-id': req.interactionId },
      })
      await opts.audit.append({ ...entry, outcome: 'success', after: { status: after.status, rejection: after.rejection }, detail: { reason: req.body.reason, note: req.body.note } })
      return { consent: consentView(after) }
    } catch (err) {
      await opts.audit.append({ ...entry, outcome: 'failure', detail: { reason: req.body.reason, note: req.body.note, error: err instanceof Error ? err.message : String(err) } })
      throw err
    }
  })
}
