import { z } from 'zod'
import {
  AuthoriseConsentRequest, ConsentAuditTrail, ConsentLookup, ConsentSearchQuery, ConsentSearchResult, InternalConsent,
  RejectConsentRequest, RevokeConsentRequest,
} from '@ponte/contracts'
import { DomainError, ofbDateTime, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { FastifyRequest } from 'fastify'
import type { CallMeta, ConsentService } from '../adapters/consent-service.ts'
import { ConsentIdParams } from './consents.routes.ts'
import { toInternalConsent, toLookup } from './views.ts'

/** Options of {@link internalConsentRoutes}. */
export interface InternalConsentRoutesOptions {
  consents: ConsentService
  serviceAuth: ServiceTokenVerifier
}

// The spec's pattern for `rejection.reason.additionalInformation`: no leading or trailing blanks.
const Trimmed = z.string().max(140).regex(/^[^\s](.*[^\s])?$/)

/**
 * `/internal/consents`: the consent as other Ponte services need it (internal.ts contracts), behind a service token.
 * auth-server reads, authorises and rejects during the journey; the gateway looks consents up on every data call;
 * the admin console searches, reads the audit trail and revokes.
 */
export async function internalConsentRoutes(app: PonteServer, opts: InternalConsentRoutesOptions): Promise<void> {
  const meta = (req: FastifyRequest): CallMeta => ({ via: req.serviceCaller?.iss ?? 'unknown', interactionId: req.interactionId })
  const found = async (req: FastifyRequest, consentId: string) => {
    const consent = await opts.consents.get(consentId, meta(req))
    if (!consent) throw new DomainError('NOT_FOUND', 'consent not found')
    return consent
  }

  app.addHook('onRequest', requireServiceToken(opts.serviceAuth))

  app.get('/', { schema: { querystring: ConsentSearchQuery, response: { 200: ConsentSearchResult } } }, async (req) => {
    const { items, total } = await opts.consents.search(req.query)
    return {
      items: items.map(toInternalConsent),
      page: req.query.page,
      pageSize: req.query.pageSize,
      totalRecords: total,
      totalPages: Math.ceil(total / req.query.pageSize),
    }
  })

  app.get('/:consentId', { schema: { params: ConsentIdParams, response: { 200: InternalConsent } } }, async (req) =>
    toInternalConsent(await found(req, req.params.consentId)))

  // The gateway's hot path: one primary-key read (plus, only when overdue, the expiry transition).
  app.get('/:consentId/lookup', { schema: { params: ConsentIdParams, response: { 200: ConsentLookup } } }, async (req) =>
    toLookup(await found(req, req.params.consentId)))

  app.get('/:consentId/audit', { schema: { params: ConsentIdParams, response: { 200: ConsentAuditTrail } } }, async (req) => {
    const consent = await found(req, req.params.consentId)
    const items = await opts.consents.audit(consent.consentId)
    return { consentId: consent.consentId, items: items.map((e) => ({ ...e, at: ofbDateTime(e.at) })) }
  })

  app.post('/:consentId/authorise', { schema: { params: ConsentIdParams, body: AuthoriseConsentRequest, response: { 200: InternalConsent } } }, async (req) => {
    const b = req.body
    return toInternalConsent(await opts.consents.authorise(req.params.consentId, {
      resources: b.resources,
      authenticatedUser: { cpf: b.authenticatedUser.cpf, ...(b.authenticatedUser.cnpj ? { cnpj: b.authenticatedUser.cnpj } : {}) },
      ...(b.acr ? { acr: b.acr } : {}),
    }, meta(req)))
  })

  app.post('/:consentId/reject', {
    schema: { params: ConsentIdParams, body: RejectConsentRequest.extend({ additionalInformation: Trimmed.optional() }), response: { 200: InternalConsent } },
  }, async (req) => {
    const b = req.body
    return toInternalConsent(await opts.consents.reject(req.params.consentId, {
      reason: b.reason,
      // The journey runs at auth-server: a refusal is the customer's; a failure there is the bank's.
      actor: b.reason === 'CUSTOMER_MANUALLY_REJECTED' ? { type: 'CUSTOMER' } : { type: 'SYSTEM', id: req.serviceCaller?.iss ?? 'unknown' },
      ...(b.additionalInformation ? { additionalInformation: b.additionalInformation } : {}),
    }, meta(req)))
  })

  app.post('/:consentId/revoke', {
    schema: { params: ConsentIdParams, body: RevokeConsentRequest.extend({ additionalInformation: Trimmed.optional() }), response: { 200: InternalConsent } },
  }, async (req) => {
    const b = req.body
    return toInternalConsent(await opts.consents.revoke(req.params.consentId, {
      actor: b.actor,
      reason: b.reason,
      ...(b.additionalInformation ? { additionalInformation: b.additionalInformation } : {}),
    }, meta(req)))
  })
}
