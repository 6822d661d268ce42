import { z } from 'zod'
import { AuthorisePaymentConsentRequest, ConsumePaymentConsentRequest, InternalPaymentConsent, RecordPaymentApprovalRequest } from '@ponte/contracts'
import { DomainError, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { FastifyRequest } from 'fastify'
import type { CallMeta, ConsentService } from '../adapters/consent-service.ts'
import { ConsentIdParams } from './consents.routes.ts'
import { toInternalPaymentConsent } from './payment-views.ts'

/** Options of {@link internalPaymentConsentRoutes}. */
export interface InternalPaymentConsentRoutesOptions {
  consents: ConsentService
  serviceAuth: ServiceTokenVerifier
}

// The contract's `acr` is LoA3 only; any other level is answered 403 by the domain rather than 400, so the caller
// learns the consent needs LoA3 (docs/regulation/payments.md#payment-tokens).
const AuthoriseBody = AuthorisePaymentConsentRequest.extend({ acr: z.string().min(1).max(200) })

/**
 * `/internal/payment-consents` (packages/contracts/src/payments.ts), behind a service token: auth-server reads and
 * authorises during the journey (the customer's refusal uses `/internal/consents/{id}/reject`); connectors reads the
 * consent at payment time and consumes it once the payments are recorded; a bank channel records the other approvers'
 * decisions on a consent that needs several.
 */
export async function internalPaymentConsentRoutes(app: PonteServer, opts: InternalPaymentConsentRoutesOptions): Promise<void> {
  const meta = (req: FastifyRequest): CallMeta => ({ via: req.serviceCaller?.iss ?? 'unknown', interactionId: req.interactionId })

  app.addHook('onRequest', requireServiceToken(opts.serviceAuth))

  app.get('/:consentId', { schema: { params: ConsentIdParams, response: { 200: InternalPaymentConsent } } }, async (req) => {
    const consent = await opts.consents.get(req.params.consentId, meta(req))
    if (!consent || consent.kind !== 'payment') throw new DomainError('NOT_FOUND', 'payment consent not found')
    return toInternalPaymentConsent(consent)
  })

  app.post('/:consentId/authorise', { schema: { params: ConsentIdParams, body: AuthoriseBody, response: { 200: InternalPaymentConsent } } }, async (req) => {
    const b = req.body
    return toInternalPaymentConsent(await opts.consents.authorisePayment(req.params.consentId, {
      authenticatedUser: { cpf: b.authenticatedUser.cpf, ...(b.authenticatedUser.cnpj ? { cnpj: b.authenticatedUser.cnpj } : {}) },
      acr: b.acr,
      debtorAccount: { resourceId: b.debtorAccount.resourceId, account: b.debtorAccount.account },
      ...(b.approversRequired ? { approversRequired: b.approversRequired } : {}),
    }, meta(req)))
  })

  // A bank channel records another approver's decision (docs/regulation/payments.md#multiple-approvers).
  app.post('/:consentId/approvals', { schema: { params: ConsentIdParams, body: RecordPaymentApprovalRequest, response: { 200: InternalPaymentConsent } } }, async (req) => {
    const channel = req.serviceCaller?.iss ?? 'unknown'
    return toInternalPaymentConsent(await opts.consents.approvePayment(req.params.consentId, {
      approverCpf: req.body.approver.cpf, decision: req.body.decision, channel,
    }, meta(req)))
  })

  app.post('/:consentId/consume', { schema: { params: ConsentIdParams, body: ConsumePaymentConsentRequest, response: { 200: InternalPaymentConsent } } }, async (req) =>
    toInternalPaymentConsent(await opts.consents.consume(req.params.consentId, { paymentIds: req.body.paymentIds, by: req.serviceCaller?.iss ?? 'unknown' }, meta(req))))
}
