import { z } from 'zod'
import { CONSENT_ID_RE, Permission, type CallerContext } from '@ponte/contracts'
import { DomainError, ofbDateTime, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { FastifyRequest } from 'fastify'
import type { CallMeta, ConsentService } from '../adapters/consent-service.ts'
import { callerOf, regulatedCallerHook } from './regulated-caller.ts'
import { consentData, consentReadData, extensionItem } from './views.ts'

/** The Consents API version served (the `x-v` response header). */
export const CONSENTS_API_VERSION = '3.3.1'

/** The spec's date-time pattern of request fields. */
const DATE_TIME_RE = /^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])T(?:[01]\d|2[0123]):(?:[012345]\d):(?:[012345]\d)Z$/
/** Trimmed text, as the response patterns of the extension headers require. */
const TRIMMED_RE = /^[^\s](.*[^\s])?$/

export const ConsentIdParams = z.object({ consentId: z.string().min(6).max(256).regex(CONSENT_ID_RE) })

const LoggedUser = z.object({ document: z.object({ identification: z.string().regex(/^\d{11}$/), rel: z.literal('CPF') }) })
const BusinessEntity = z.object({ document: z.object({ identification: z.string().regex(/^[0-9A-Z]{12}[0-9]{2}$/), rel: z.literal('CNPJ') }) })
const ExpirationDateTime = z.string().max(20).regex(DATE_TIME_RE)

/** `CreateConsent` (unknown permissions and repeated ones are a 400). */
const CreateConsentBody = z.object({
  data: z.object({
    loggedUser: LoggedUser,
    businessEntity: BusinessEntity.optional(),
    permissions: z.array(Permission).min(1).refine((ps) => new Set(ps).size === ps.length, 'permissions must not repeat'),
    expirationDateTime: ExpirationDateTime.optional(),
    isLinked: z.boolean().optional(),
  }),
})

/** `CreateConsentExtensions`. */
const ExtendConsentBody = z.object({
  data: z.object({ loggedUser: LoggedUser, businessEntity: BusinessEntity.optional(), expirationDateTime: ExpirationDateTime.optional() }),
})

const ExtendHeaders = z.object({
  'x-fapi-customer-ip-address': z.string().min(1).max(100).regex(TRIMMED_RE),
  'x-customer-user-agent': z.string().min(1).max(255).regex(TRIMMED_RE),
})

const ExtensionsQuery = z.object({
  page: z.coerce.number().int().min(1).max(2_147_483_647).default(1),
  // docs/regulation/data-apis.md#pagination: below 25 counts as 25; above 1000 is refused.
  'page-size': z.coerce.number().int().min(1).max(1000).default(25).transform((n) => Math.max(25, n)),
})

/** Options of {@link consentsRoutes}. */
export interface ConsentsRoutesOptions {
  consents: ConsentService
  serviceAuth: ServiceTokenVerifier
  /** Services whose tokens may carry a TPP caller context (the gateway). */
  regulatedCallers: readonly string[]
  /** Public base URL for `links` (no trailing slash). */
  publicBaseUrl: string
}

function requireScope(caller: CallerContext, scope: string): void {
  if (!caller.scopes.includes(scope)) throw new DomainError('FORBIDDEN', `o token não tem o escopo ${scope}`)
}

/**
 * `/open-banking/consents/v3`: the regulated Consents API (docs/regulation/consents.md#consent-endpoints).
 * Requests arrive through the gateway, which verified the TPP's certificate and access token and forwards the caller
 * in the service token's `ctx`; this plugin trusts nothing else. Order of checks: service token and caller context (401), `x-fapi-interaction-id` (400), scope
 * (403), request schema (400), ownership (403), business rules (422).
 */
export async function consentsRoutes(app: PonteServer, opts: ConsentsRoutesOptions): Promise<void> {
  const base = `${opts.publicBaseUrl}/open-banking/consents/v3`
  const meta = (req: FastifyRequest): CallMeta => ({ via: req.serviceCaller?.iss ?? 'unknown', interactionId: req.interactionId })
  const selfLink = (path: string) => ({ self: `${base}${path}` })
  const now = () => ofbDateTime()

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-v', CONSENTS_API_VERSION)
    return payload
  })
  app.addHook('onRequest', requireServiceToken(opts.serviceAuth))
  app.addHook('onRequest', regulatedCallerHook(opts.regulatedCallers))

  app.post('/consents', {
    preValidation: async (req) => requireScope(callerOf(req), 'consents'),
    schema: { body: CreateConsentBody },
  }, async (req, reply) => {
    const caller = callerOf(req)
    const d = req.body.data
    const consent = await opts.consents.create({
      clientId: caller.clientId,
      organisationId: caller.organisationId,
      permissions: d.permissions,
      loggedUserCpf: d.loggedUser.document.identification,
      ...(d.businessEntity ? { businessEntityCnpj: d.businessEntity.document.identification } : {}),
      ...(d.expirationDateTime !== undefined ? { expirationDateTime: d.expirationDateTime } : {}),
      ...(d.isLinked !== undefined ? { isLinked: d.isLinked } : {}),
    }, meta(req))
    return reply.code(201).send({ data: consentData(consent), links: selfLink(`/consents/${consent.consentId}`), meta: { requestDateTime: now() } })
  })

  app.get('/consents/:consentId', {
    preValidation: async (req) => requireScope(callerOf(req), 'consents'),
    schema: { params: ConsentIdParams },
  }, async (req) => {
    const consent = await opts.consents.get(req.params.consentId, meta(req))
    if (!consent || consent.kind !== 'data') throw new DomainError('NOT_FOUND', 'consentimento não encontrado')
    if (consent.clientId !== callerOf(req).clientId) throw new DomainError('FORBIDDEN', 'o consentimento pertence a outro cliente')
    return { data: consentReadData(consent), links: selfLink(`/consents/${consent.consentId}`), meta: { requestDateTime: now() } }
  })

  app.delete('/consents/:consentId', {
    preValidation: async (req) => requireScope(callerOf(req), 'consents'),
    schema: { params: ConsentIdParams },
  }, async (req, reply) => {
    await opts.consents.revokeByTpp(req.params.consentId, callerOf(req).clientId, meta(req))
    return reply.code(204).send()
  })

  app.post('/consents/:consentId/extends', {
    // The authorization_code token must have been issued for this very consent (scope `consent:<id>`).
    preValidation: async (req) => {
      const { consentId } = req.params as { consentId?: string }
      if (callerOf(req).consent?.consentId !== consentId) throw new DomainError('FORBIDDEN', 'o token não foi emitido para este consentimento')
    },
    schema: { params: ConsentIdParams, headers: ExtendHeaders, body: ExtendConsentBody },
  }, async (req, reply) => {
    const caller = callerOf(req)
    const d = req.body.data
    const consent = await opts.consents.extend(req.params.consentId, caller.clientId, {
      loggedUserCpf: d.loggedUser.document.identification,
      tokenCustomer: caller.consent!.customer,
      customerIpAddress: req.headers['x-fapi-customer-ip-address'],
      customerUserAgent: req.headers['x-customer-user-agent'],
      ...(d.businessEntity ? { businessEntityCnpj: d.businessEntity.document.identification } : {}),
      ...(d.expirationDateTime !== undefined ? { expirationDateTime: d.expirationDateTime } : {}),
    }, meta(req))
    return reply.code(201).send({ data: consentData(consent), links: selfLink(`/consents/${consent.consentId}`), meta: { requestDateTime: now() } })
  })

  app.get('/consents/:consentId/extensions', {
    preValidation: async (req) => requireScope(callerOf(req), 'consents'),
    schema: { params: ConsentIdParams, querystring: ExtensionsQuery },
  }, async (req) => {
    const { consentId } = req.params
    const consent = await opts.consents.get(consentId, meta(req))
    if (!consent || consent.kind !== 'data') throw new DomainError('NOT_FOUND', 'consentimento não encontrado')
    if (consent.clientId !== callerOf(req).clientId) throw new DomainError('FORBIDDEN', 'o consentimento pertence a outro cliente')
    const page = req.query.page
    const size = req.query['page-size']
    const { items, total } = await opts.consents.extensions(consentId, page, size)
    const totalPages = Math.max(1, Math.ceil(total / size))
    if (page > totalPages) {
      throw new DomainError('UNPROCESSABLE_ENTITY', `a página ${page} não existe (total: ${totalPages})`, { ofbCode: 'PAGE_NOT_FOUND', title: 'Página não encontrada' })
    }
    const link = (p: number) => `${base}/consents/${consentId}/extensions?page=${p}&page-size=${size}`
    return {
      data: items.map(extensionItem),
      links: {
        self: link(page),
        ...(page > 1 ? { first: link(1), prev: link(page - 1) } : {}),
        ...(page < totalPages ? { next: link(page + 1), last: link(totalPages) } : {}),
      },
      meta: { totalRecords: total, totalPages, requestDateTime: now() },
    }
  })
}
