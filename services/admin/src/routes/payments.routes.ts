import { z } from 'zod'
import { CancelPaymentResult, ConsentAuditTrail, ConsentSearchResult, InternalPaymentConsent, InternalPaymentDetail, InternalPaymentSearchResult, type InternalPayment } from '@ponte/contracts'
import { DomainError, type InternalClient, type PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import { audited } from '../adapters/audited.ts'
import { auditContext } from '../adapters/http-security.ts'
import { maskAuditActor, maskCnpj, maskCpf } from '../domain/masking.ts'
import { consentView } from './consents.routes.ts'

/** Options of {@link paymentRoutes}. */
export interface PaymentRoutesOptions {
  /** The connectors service's internal API (audience `connectors`): payments, their history, webhooks, cancellation. */
  connectors: InternalClient
  /** The consent service's internal API (audience `consent`): payment consents and their lifecycle. */
  consent: InternalClient
  audit: AuditStore
}

const Digits = z.string().trim().transform((s) => s.replace(/[.\-\s]/g, ''))
const SearchQuery = z.object({
  paymentId: z.string().trim().min(1).max(100).optional(),
  consentId: z.string().trim().min(1).max(256).optional(),
  cpf: Digits.pipe(z.string().regex(/^\d{11}$/, 'a CPF has 11 digits')).optional(),
  organisationId: z.string().trim().min(1).max(100).optional(),
}).refine((q) => [q.paymentId, q.consentId, q.cpf, q.organisationId].filter((v) => v !== undefined).length === 1, 'give one of paymentId, consentId, cpf or organisationId')
const PaymentIdParams = z.object({ paymentId: z.string().min(1).max(100) })
const ConsentIdParams = z.object({ consentId: z.string().min(1).max(256) })
/** The customer's request, as the staff member took it: the note is mandatory and kept in the audit trail. */
const CancelBody = z.object({ note: z.string().trim().min(3, 'a note of at least 3 characters is required').max(140) })
const Webhooks = z.object({ data: z.array(z.record(z.string(), z.unknown())) })

/** A payment as the console shows it: the payer's documents masked. */
export function paymentView(p: InternalPayment) {
  const { ownerCpf, ownerCnpj, cancellation, ...rest } = p
  const by = (cancellation?.cancelledBy as { document?: { identification?: string; rel?: string } } | undefined)?.document
  return {
    ...rest,
    ownerCpf: maskCpf(ownerCpf),
    ...(ownerCnpj ? { ownerCnpj: maskCnpj(ownerCnpj) } : {}),
    ...(cancellation ? { cancellation: { ...cancellation, ...(by ? { cancelledBy: { document: { rel: by.rel, identification: by.rel === 'CNPJ' ? maskCnpj(by.identification ?? '') : maskCpf(by.identification ?? '') } } } : {}) } } : {}),
  }
}

/** A payment consent as the console shows it: the customer's and the payer's documents masked. */
export function paymentConsentView(c: InternalPaymentConsent) {
  const { loggedUser, businessEntity, authorisedBy, ...rest } = c
  return {
    ...rest,
    loggedUser: { cpf: maskCpf(loggedUser.cpf) },
    ...(businessEntity ? { businessEntity: { cnpj: maskCnpj(businessEntity.cnpj) } } : {}),
    ...(authorisedBy ? { authorisedBy: { cpf: maskCpf(authorisedBy.cpf), ...(authorisedBy.cnpj ? { cnpj: maskCnpj(authorisedBy.cnpj) } : {}) } } : {}),
  }
}

/**
 * `/api/payments` and `/api/payment-consents`: find Pix payments and payment consents, a payment's status history and
 * the webhooks sent about it, and cancel a PDNG or SCHD payment on the customer's request
 * (docs/regulation/payments.md#payment-cancellation: `CANC`, `CANCELADO_PENDENCIA` or `CANCELADO_AGENDAMENTO`, from the
 * `DETENTORA`). Payment consents are not revoked here: Payments v4/v5 define no revocation of a Pix payment consent
 * (docs/decisions/admin-operations-pages.md).
 */
export async function paymentRoutes(app: PonteServer, opts: PaymentRoutesOptions): Promise<void> {
  const searchPayments = (query: Record<string, string | undefined>) =>
    opts.connectors.call('GET', '/internal/payments', InternalPaymentSearchResult, { query: { ...query, limit: 100 } })
  // Connectors serves no webhook list while its webhooks are off: `null`, not an empty list.
  const webhooksOf = async (resourceId: string) => (await opts.connectors.find('GET', '/internal/webhooks', Webhooks, { query: { resourceId, limit: 50 } }))?.data ?? null

  app.get('/api/payments', { schema: { querystring: SearchQuery } }, async (req) => {
    const q = req.query
    if (q.cpf) {
      // Looking a customer up by CPF is access to personal data: audited, with the CPF masked.
      await opts.audit.append({ ...auditContext(req), action: 'payments.search', outcome: 'success', target: maskCpf(q.cpf) })
      const [payments, consents] = await Promise.all([
        searchPayments({ cpf: q.cpf }),
        opts.consent.call('GET', '/internal/consents', ConsentSearchResult, { query: { kind: 'payment', document: q.cpf, pageSize: 50 } }),
      ])
      return { payments: payments.data.map(paymentView), consents: consents.items.map(consentView) }
    }
    if (q.consentId) {
      const [payments, consent] = await Promise.all([
        searchPayments({ consentId: q.consentId }),
        opts.consent.find('GET', `/internal/payment-consents/${encodeURIComponent(q.consentId)}`, InternalPaymentConsent),
      ])
      return { payments: payments.data.map(paymentView), consents: consent ? [paymentConsentView(consent)] : [] }
    }
    const payments = await searchPayments(q.paymentId ? { paymentId: q.paymentId } : { organisationId: q.organisationId })
    return { payments: payments.data.map(paymentView), consents: [] }
  })

  app.get('/api/payments/:paymentId', { schema: { params: PaymentIdParams } }, async (req) => {
    const found = await opts.connectors.find('GET', `/internal/payments/${encodeURIComponent(req.params.paymentId)}`, InternalPaymentDetail)
    if (!found) throw new DomainError('NOT_FOUND', 'payment not found')
    return { payment: paymentView(found.payment), history: found.history, webhooks: await webhooksOf(found.payment.paymentId) }
  })

  app.get('/api/payment-consents/:consentId', { schema: { params: ConsentIdParams } }, async (req) => {
    const id = req.params.consentId
    const consent = await opts.consent.find('GET', `/internal/payment-consents/${encodeURIComponent(id)}`, InternalPaymentConsent)
    if (!consent) throw new DomainError('NOT_FOUND', 'payment consent not found')
    const [trail, payments, webhooks] = await Promise.all([
      opts.consent.call('GET', `/internal/consents/${encodeURIComponent(id)}/audit`, ConsentAuditTrail),
      searchPayments({ consentId: id }),
      webhooksOf(id),
    ])
    return { consent: paymentConsentView(consent), audit: trail.items.map(maskAuditActor), payments: payments.data.map(paymentView), webhooks }
  })

  app.post('/api/payments/:paymentId/cancel', { schema: { params: PaymentIdParams, body: CancelBody } }, async (req) => {
    const id = req.params.paymentId
    const before = await opts.connectors.find('GET', `/internal/payments/${encodeURIComponent(id)}`, InternalPaymentDetail)
    if (!before) throw new DomainError('NOT_FOUND', 'payment not found')
    const result = await audited(opts.audit, req, { action: 'payments.cancel', target: `payment:${id}`, before: { status: before.payment.status }, detail: { note: req.body.note, consentId: before.payment.consentId } },
      () => opts.connectors.call('POST', `/internal/payments/${encodeURIComponent(id)}/cancel`, CancelPaymentResult, {
        body: { requestedBy: req.staff!.user.email }, headers: { 'x-fapi-interaction-id': req.interactionId },
      }),
      (r) => ({ status: r.payment.status, cancellation: { reason: r.payment.cancellation?.reason, cancelledFrom: r.payment.cancellation?.cancelledFrom } }))
    return { payment: paymentView(result.payment) }
  })
}
