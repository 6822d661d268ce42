import { z } from 'zod'
import { CancelPaymentRequest } from '@ponte/contracts'
import { DomainError, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { Payments } from '../adapters/pg-payments.ts'

/** An id as the payments are stored with: PostgreSQL text cannot hold NUL, so an id with one is refused, not looked up. */
const Id = (max: number) => z.string().min(1).max(max).refine((v) => !v.includes('\u0000'), 'must not contain a NUL character')

const Query = z
  .object({
    paymentId: Id(100).optional(),
    consentId: Id(256).optional(),
    cpf: z.string().regex(/^\d{11}$/).optional(),
    organisationId: Id(100).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => q.paymentId ?? q.consentId ?? q.cpf ?? q.organisationId, 'give paymentId, consentId, cpf or organisationId')
const Params = z.object({ paymentId: Id(100) })

/**
 * The admin console's payment routes (service token, issuer `admin` only): find Pix payments, read one with its status
 * history, and cancel a PDNG or SCHD payment on the payer's request (docs/regulation/payments.md#payment-cancellation).
 */
export async function internalPaymentRoutes(app: PonteServer, deps: { payments: Payments; serviceAuth: ServiceTokenVerifier }): Promise<void> {
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.addHook('onRequest', async (req) => {
      if (req.serviceCaller?.iss !== 'admin') throw new DomainError('FORBIDDEN', 'only the admin console may use the payment administration routes')
    })
    r.get('/internal/payments', { schema: { querystring: Query } }, async (req) => ({ data: await deps.payments.search(req.query) }))
    r.get('/internal/payments/:paymentId', { schema: { params: Params } }, async (req) => {
      const [payment] = await deps.payments.search({ paymentId: req.params.paymentId, limit: 1 })
      if (!payment) throw new DomainError('NOT_FOUND', 'Pagamento não encontrado.')
      return { payment, history: await deps.payments.history(payment.paymentId) }
    })
    r.post('/internal/payments/:paymentId/cancel', { schema: { params: Params, body: CancelPaymentRequest } }, async (req) => {
      const out = await deps.payments.cancelForCustomer(req.params.paymentId)
      req.log.info({ paymentId: req.params.paymentId, requestedBy: req.body.requestedBy, previousStatus: out.before }, 'payment cancelled on the payer request by staff')
      return { previousStatus: out.before, payment: out.payment }
    })
  })
}
