import { z } from 'zod'
import { ConsentStatus, InternalConsent } from './internal.ts'

/**
 * Consent admin contracts beyond `internal.ts` (audience `consent`): search and audit trail, for the admin console.
 */

/**
 * `GET /internal/consents` query: every filter is optional and they combine with AND. `document` matches the logged
 * user's CPF, the business entity's CNPJ or the CPF of the customer who authorised. `from`/`to` bound the creation
 * time (RFC 3339, `from` inclusive, `to` exclusive). Results are newest first.
 */
export const ConsentSearchQuery = z.object({
  clientId: z.string().min(1).max(200).optional(),
  status: ConsentStatus.optional(),
  kind: z.enum(['data', 'payment']).optional(),
  document: z.string().regex(/^(\d{11}|[0-9A-Z]{12}\d{2})$/).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
})
export type ConsentSearchQuery = z.infer<typeof ConsentSearchQuery>

/** `GET /internal/consents` answer: one page of consents and the totals. */
export const ConsentSearchResult = z.object({
  items: z.array(InternalConsent),
  page: z.number().int(),
  pageSize: z.number().int(),
  totalRecords: z.number().int(),
  totalPages: z.number().int(),
})
export type ConsentSearchResult = z.infer<typeof ConsentSearchResult>

/** One entry of a consent's audit trail: who changed what, when, why, and the interaction that caused it. */
export const ConsentAuditEntry = z.object({
  at: z.string(),
  action: z.enum(['created', 'authorised', 'partially_accepted', 'approved', 'rejected', 'revoked', 'expired', 'extended', 'consumed']),
  actor: z.object({ type: z.enum(['TPP', 'CUSTOMER', 'STAFF', 'SYSTEM']), id: z.string().optional() }),
  /** The internal service that made the call (`gateway`, `auth-server`, `admin`), or `scheduler`. */
  via: z.string(),
  fromStatus: ConsentStatus.optional(),
  toStatus: ConsentStatus,
  reason: z.string().optional(),
  additionalInformation: z.string().optional(),
  interactionId: z.string().optional(),
})
export type ConsentAuditEntry = z.infer<typeof ConsentAuditEntry>

/** `GET /internal/consents/{consentId}/audit` answer, oldest first. */
export const ConsentAuditTrail = z.object({ consentId: z.string(), items: z.array(ConsentAuditEntry) })
export type ConsentAuditTrail = z.infer<typeof ConsentAuditTrail>
