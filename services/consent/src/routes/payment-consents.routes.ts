import type { PaymentsApiVersion } from '@ponte/contracts'
import { DomainError, ofbDateTime, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { FastifyRequest } from 'fastify'
import type { CallMeta, ConsentService } from '../adapters/consent-service.ts'
import { PAYMENTS_VERSIONS, consentError } from '../domain/payment-rules.ts'
import { ConsentIdParams } from './consents.routes.ts'
import { paymentConsentData } from './payment-views.ts'
import { callerOf, regulatedCallerHook } from './regulated-caller.ts'

/** Options of {@link paymentConsentsRoutes}. */
export interface PaymentConsentsRoutesOptions {
  /** The Payments API version this registration serves (one implementation, registered once per version). */
  apiVersion: PaymentsApiVersion
  consents: ConsentService
  serviceAuth: ServiceTokenVerifier
  /** Services whose tokens may carry a TPP caller context (the gateway). */
  regulatedCallers: readonly string[]
  /** Public base URL for `links` (no trailing slash). */
  publicBaseUrl: string
}

/** `XIdempotencyKey`: 1 to 40 characters, no leading or trailing blank. */
const IDEMPOTENCY_KEY_RE = /^(?!\s)(.*)(\S)$/

/**
 * `/open-banking/payments/{v4|v5}/consents`: payment consents (docs/regulation/payments.md#payment-endpoints-v4,
 * #payment-endpoints-v5). The gateway verified the TPP's certificate, token and signed request (JWS) and forwards the
 * JWS payload's `data` as `{"data": …}` with the caller in the service token; it signs the 2xx and 422 JSON answers.
 * Order of checks: service token and caller context (401), `x-fapi-interaction-id` (400), scope `payments` (403), body
 * shape (400), `x-idempotency-key` (422), idempotency (403 / 422 `ERRO_IDEMPOTENCIA`), body rules (422).
 */
export async function paymentConsentsRoutes(app: PonteServer, opts: PaymentConsentsRoutesOptions): Promise<void> {
  const version = PAYMENTS_VERSIONS[opts.apiVersion]
  const base = `${opts.publicBaseUrl}/open-banking/payments/${opts.apiVersion}`
  const meta = (req: FastifyRequest): CallMeta => ({ via: req.serviceCaller?.iss ?? 'unknown', interactionId: req.interactionId })
  const answer = (data: unknown, consentId: string) => ({ data, links: { self: `${base}/consents/${consentId}` }, meta: { requestDateTime: ofbDateTime() } })

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-v', version.xV)
    return payload
  })
  app.addHook('onRequest', requireServiceToken(opts.serviceAuth))
  app.addHook('onRequest', regulatedCallerHook(opts.regulatedCallers))
  app.addHook('onRequest', async (req) => {
    // docs/regulation/payments.md#payment-tokens: client_credentials with scope `payments`.
    if (!callerOf(req).scopes.includes('payments')) throw new DomainError('FORBIDDEN', 'o token não tem o escopo payments')
  })

  app.post('/consents', async (req, reply) => {
    const caller = callerOf(req)
    const body = req.body as { data?: unknown } | undefined
    if (!body || typeof body !== 'object' || !body.data || typeof body.data !== 'object' || Array.isArray(body.data)) {
      throw new DomainError('INVALID_REQUEST', 'o corpo deve ser um objeto com a claim data')
    }
    const key = req.headers['x-idempotency-key']
    if (key === undefined) throw consentError('PARAMETRO_NAO_INFORMADO', 'Parâmetro [x-idempotency-key] obrigatório não informado.')
    if (typeof key !== 'string' || key.length > 40 || !IDEMPOTENCY_KEY_RE.test(key)) {
      throw consentError('PARAMETRO_INVALIDO', 'Parâmetro [x-idempotency-key] não obedece as regras de formatação esperadas.')
    }
    const { consent } = await opts.consents.createPayment({
      apiVersion: opts.apiVersion,
      clientId: caller.clientId,
      organisationId: caller.organisationId,
      idempotencyKey: key,
      body: body as { data: Record<string, unknown> },
    }, meta(req))
    return reply.code(201).send(answer(paymentConsentData(consent, false), consent.consentId))
  })

  app.get('/consents/:consentId', { schema: { params: ConsentIdParams } }, async (req) => {
    const consent = await opts.consents.get(req.params.consentId, meta(req))
    // A data consent is not a resource of the Payments API; a payment consent is read in the version that created it.
    if (!consent || consent.kind !== 'payment' || consent.payment?.apiVersion !== opts.apiVersion) throw new DomainError('NOT_FOUND', 'consentimento não encontrado')
    if (consent.clientId !== callerOf(req).clientId) throw new DomainError('FORBIDDEN', 'o consentimento pertence a outro cliente')
    return answer(paymentConsentData(consent, true), consent.consentId)
  })
}
