import { z } from 'zod'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { DomainError, ofbDateTime, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { PaymentsApiVersion } from '@ponte/contracts'
import { VERSION_RULES, type PaymentItem } from '../domain/payments.ts'
import type { PaymentRecord, Payments } from '../adapters/pg-payments.ts'
import { callerContext, regulatedGroup } from './common.ts'

/** What the payments routes are built from. */
export interface PaymentsRouteDeps {
  payments: Payments
  serviceAuth: ServiceTokenVerifier
  publicBaseUrl: string
  clock: () => Date
}

const dateRe = /^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])$/
const account = z.object({
  ispb: z.string().regex(/^[0-9]{8}$/),
  issuer: z.string().regex(/^[0-9]{1,4}$/).optional(),
  number: z.string().regex(/^[0-9]{1,20}$/),
  accountType: z.enum(['CACC', 'SVGS', 'TRAN']),
})

/** One item of `CreatePixPayment.data` (payments-v4.0.1.yaml / v5.0.0.yaml, identical in both). */
const PaymentItemSchema = z.object({
  endToEndId: z.string().regex(/^E[0-9]{8}[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[1-2][0-9]|3[0-1])(2[0-3]|[01][0-9])[0-5][0-9][a-zA-Z0-9]{11}$/),
  localInstrument: z.enum(['MANU', 'DICT', 'QRDN', 'QRES', 'INIC', 'APES', 'APDN']),
  payment: z.object({ amount: z.string().regex(/^\d{1,16}\.\d{2}$/), currency: z.string().regex(/^[A-Z]{3}$/) }),
  creditorAccount: account,
  remittanceInformation: z.string().max(140).optional(),
  qrCode: z.string().max(512).optional(),
  proxy: z.string().max(77).optional(),
  cnpjInitiator: z.string().regex(/^\d{14}$/),
  transactionIdentification: z.string().regex(/^[a-zA-Z0-9]{1,35}$/).optional(),
  ibgeTownCode: z.string().regex(/^\d{7}$/).optional(),
  authorisationFlow: z.enum(['HYBRID_FLOW', 'CIBA_FLOW', 'FIDO_FLOW']).optional(),
  consentId: z.string().max(256).optional(),
})
const CreateBody = z.object({ data: z.array(PaymentItemSchema).min(1).max(60) })
const PatchBody = z.object({
  data: z.object({
    status: z.literal('CANC'),
    cancellation: z.object({ cancelledBy: z.object({ document: z.object({ identification: z.string().regex(/^\d{11}$/), rel: z.string().regex(/^[A-Z]{3}$/) }) }) }),
  }),
})
const IdempotencyKey = z.string().min(1).max(40).regex(/^(?!\s)(.*)(\S)$/)
const paymentIdParams = z.object({ paymentId: z.string().min(1).max(100).regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$/) })
const consentIdParams = z.object({ consentId: z.string().min(1).max(256) })

/**
 * A body that breaks the schema: 422 `PARAMETRO_NAO_INFORMADO` when a required field is missing, otherwise
 * `PARAMETRO_INVALIDO` (docs/regulation/payments.md#payment-errors).
 */
function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const where = issue.path.join('.') || 'data'
  const missing = issue.code === 'invalid_type' && issue.message.includes('undefined')
  throw new DomainError('UNPROCESSABLE_ENTITY', `Parâmetro ${where} ${missing ? 'não informado' : 'inválido'}.`, {
    ofbCode: missing ? 'PARAMETRO_NAO_INFORMADO' : 'PARAMETRO_INVALIDO', title: missing ? 'Parâmetro não informado.' : 'Parâmetro inválido.',
  })
}

/** `x-idempotency-key` (docs/regulation/payments.md#idempotency): missing → PARAMETRO_NAO_INFORMADO, malformed → PARAMETRO_INVALIDO. */
function idempotencyKey(req: FastifyRequest): string {
  const raw = req.headers['x-idempotency-key']
  if (raw === undefined) {
    throw new DomainError('UNPROCESSABLE_ENTITY', 'Parâmetro [x-idempotency-key] obrigatório não informado.', { ofbCode: 'PARAMETRO_NAO_INFORMADO', title: 'Parâmetro não informado.' })
  }
  const parsed = IdempotencyKey.safeParse(raw)
  if (!parsed.success) {
    throw new DomainError('UNPROCESSABLE_ENTITY', 'Parâmetro [x-idempotency-key] não obedece as regras de formatação esperadas.', { ofbCode: 'PARAMETRO_INVALIDO', title: 'Parâmetro inválido.' })
  }
  return parsed.data
}

/** A payment as `ResponsePixPaymentData` (and the items of the create and list answers) writes it. */
export function paymentData(p: PaymentRecord): Record<string, unknown> {
  return {
    paymentId: p.paymentId,
    endToEndId: p.endToEndId,
    consentId: p.consentId,
    creationDateTime: ofbDateTime(p.createdAt),
    statusUpdateDateTime: ofbDateTime(p.statusUpdatedAt),
    ...(p.proxy !== undefined ? { proxy: p.proxy } : {}),
    ...(p.ibgeTownCode !== undefined ? { ibgeTownCode: p.ibgeTownCode } : {}),
    status: p.status,
    ...(p.rejectionReason ? { rejectionReason: p.rejectionReason } : {}),
    localInstrument: p.localInstrument,
    cnpjInitiator: p.cnpjInitiator,
    payment: { amount: p.amount, currency: p.currency },
    ...(p.transactionIdentification !== undefined ? { transactionIdentification: p.transactionIdentification } : {}),
    ...(p.remittanceInformation !== undefined ? { remittanceInformation: p.remittanceInformation } : {}),
    creditorAccount: p.creditorAccount,
    ...(p.cancellation ? { cancellation: p.cancellation } : {}),
    debtorAccount: p.debtorAccount,
    ...(p.authorisationFlow !== undefined ? { authorisationFlow: p.authorisationFlow } : {}),
  }
}

/**
 * Payments API v4 and v5 (`/open-banking/payments/{v4|v5}`): Pix payments. One implementation serves both; what
 * differs lives in {@link VERSION_RULES} and in the cancel-all path below. Bodies are JSON: the gateway verifies the
 * request JWS and forwards its `data`, and signs these answers (docs/regulation/payments.md#signed-request-and-response-bodies).
 */
export function paymentsRoutes(version: PaymentsApiVersion) {
  return async function register(app: PonteServer, deps: PaymentsRouteDeps): Promise<void> {
    const base = `/open-banking/payments/${version}`
    const rules = VERSION_RULES[version]
    const self = (req: FastifyRequest) => `${deps.publicBaseUrl.replace(/\/$/, '')}${req.url.split('?')[0]}`
    const meta = () => ({ requestDateTime: ofbDateTime(deps.clock()) })
    const groupDeps = { serviceAuth: deps.serviceAuth } as Parameters<typeof regulatedGroup>[1]

    regulatedGroup(app, groupDeps, rules.version, (r) => {
      r.post(`${base}/pix/payments`, async (req, reply) => {
        const ctx = callerContext(req)
        const key = idempotencyKey(req)
        const body = parseBody(CreateBody, req.body)
        const out = await deps.payments.create({ version, ctx, idempotencyKey: key, data: body.data as PaymentItem[] })
        if (out.status === 422) return reply.code(422).send(out.body)
        return reply.code(201).send({ data: out.payments.map(paymentData), links: { self: self(req) }, meta: meta() })
      })

      r.get(`${base}/pix/payments/:paymentId`, { schema: { params: paymentIdParams } }, async (req) => {
        const p = await deps.payments.get(callerContext(req), req.params.paymentId)
        if (!p) throw new DomainError('NOT_FOUND', 'Pagamento não encontrado.')
        return { data: paymentData(p), links: { self: self(req) }, meta: meta() }
      })

      r.patch(`${base}/pix/payments/:paymentId`, { schema: { params: paymentIdParams } }, async (req) => {
        const body = parseBody(PatchBody, req.body)
        const p = await deps.payments.cancel(callerContext(req), req.params.paymentId, body.data.cancellation.cancelledBy.document)
        return { data: paymentData(p), links: { self: self(req) }, meta: meta() }
      })

      const cancelAll = async (req: FastifyRequest<{ Params: { consentId: string } }>, reply: FastifyReply) => {
        const ctx = callerContext(req)
        const key = idempotencyKey(req)
        const body = parseBody(PatchBody, req.body)
        const out = await deps.payments.cancelAll({
          version, ctx, consentId: req.params.consentId, idempotencyKey: key, data: body.data, cancelledBy: body.data.cancellation.cancelledBy.document,
        })
        if (out.status === 422) return reply.code(422).send(out.body)
        // v5 answers 202 without a body (payments-v5.0.0.yaml); v4 answers 200 with the cancelled payments.
        if (rules.cancelAllStatus === 202) return reply.code(202).send()
        return reply.code(200).send({
          data: out.payments.map((p) => ({ paymentId: p.paymentId, statusUpdateDateTime: ofbDateTime(p.statusUpdatedAt) })),
          links: { self: self(req) },
          meta: meta(),
        })
      }

      if (version === 'v4') {
        r.patch(`${base}/pix/payments/consents/:consentId`, { schema: { params: consentIdParams } }, cancelAll)
      } else {
        r.patch(`${base}/consents/:consentId/pix/payments`, { schema: { params: consentIdParams } }, cancelAll)
        r.get(`${base}/consents/:consentId/pix/payments`, {
          schema: { params: consentIdParams, querystring: z.object({ startDate: z.string().regex(dateRe).optional(), endDate: z.string().regex(dateRe).optional() }) },
        }, async (req) => {
          const list = await deps.payments.list(callerContext(req), req.params.consentId, req.query)
          return { data: list.map(paymentData), links: { self: self(req) }, meta: meta() }
        })
      }
    })
  }
}
