import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { CoreAccountType, CoreCardTransactionType, CoreChannelKind, CoreCreditDebit, CoreOfferSegment, ConsentResource, CorePixDebit, CorePixKeyType, VerifyCustomerTotpRequest, type CoreConnector, type CoreOwner } from '@ponte/contracts'
import { DomainError } from '@ponte/platform'
import type { CustomerTotp } from './pg-totp.ts'
import { z } from 'zod'

/**
 * A server speaking `core-api.yaml` on top of any {@link CoreConnector}: the reference "external core" that the HTTP
 * connector is tested against, and a starting point for a bank writing an adapter in front of its own core. It has
 * no authentication of its own; put it on a private network or behind mTLS.
 */
export function createCoreApiServer(core: CoreConnector, options: { logger?: boolean; totp?: CustomerTotp } = {}): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false })
  const int = (v: unknown, d: number) => (v === undefined ? d : Number(v))
  const owner = (req: FastifyRequest): CoreOwner => {
    const cpf = req.headers['x-core-owner-cpf']
    const cnpj = req.headers['x-core-owner-cnpj']
    if (typeof cpf !== 'string' || !/^\d{11}$/.test(cpf)) throw Object.assign(new Error('x-core-owner-cpf is required'), { statusCode: 400 })
    return typeof cnpj === 'string' ? { cpf, cnpj } : { cpf }
  }
  type Q = Record<string, string | undefined>
  const slice = (q: Q) => ({ offset: int(q.offset, 0), limit: int(q.limit, 25) })
  const ids = (q: Q) => (q.ids ? q.ids.split(',') : [])
  const found = <T>(v: T | undefined, reply: { code(n: number): { send(b: unknown): unknown } }) => (v === undefined ? reply.code(404).send({ error: 'not_found' }) : v)
  const txFilter = (q: Q) => ({
    transactionType: q.transactionType ? CoreCardTransactionType.parse(q.transactionType) : undefined,
    payeeMCC: q.payeeMCC ? Number(q.payeeMCC) : undefined,
  })
  const P = (req: FastifyRequest) => req.params as Record<string, string>
  const Qy = (req: FastifyRequest) => req.query as Q

  app.post('/customers/authenticate', async (req, reply) => {
    const body = z.object({ cpf: z.string(), password: z.string() }).parse(req.body)
    return found(await core.authenticateCustomer(body.cpf, body.password), { code: () => reply.code(401) })
  })
  // The customer's TOTP check (LoA3 of payment consents), when the core holds the customers' secrets.
  const totp = options.totp
  if (totp) {
    app.post('/customers/verify-totp', async (req) => {
      const { cpf, code } = VerifyCustomerTotpRequest.parse(req.body)
      return { valid: await totp.verify(cpf, code, new Date()) }
    })
  }
  app.get('/customers/:cpf/resources', async (req, reply) => {
    const resources = await core.selectableResources({ cpf: P(req).cpf!, cnpj: Qy(req).cnpj })
    return resources ? { resources } : reply.code(404).send({ error: 'not_found' })
  })
  app.post('/resource-states', async (req) => ({ resources: await core.resourceStates(owner(req), z.object({ resources: z.array(ConsentResource) }).parse(req.body).resources) }))

  app.get('/accounts', async (req) => core.accounts(owner(req), ids(Qy(req)), { type: Qy(req).type ? CoreAccountType.parse(Qy(req).type) : undefined, ...slice(Qy(req)) }))
  app.get('/accounts/:id', async (req, reply) => found(await core.account(owner(req), P(req).id!), reply))
  app.get('/accounts/:id/balances', async (req, reply) => found(await core.balances(owner(req), P(req).id!), reply))
  app.get('/accounts/:id/overdraft-limits', async (req, reply) => found(await core.overdraftLimits(owner(req), P(req).id!), reply))
  app.get('/accounts/:id/transactions', async (req) => {
    const q = Qy(req)
    return core.accountTransactions(owner(req), P(req).id!, { fromDate: q.fromDate!, toDate: q.toDate!, creditDebit: q.creditDebit ? CoreCreditDebit.parse(q.creditDebit) : undefined, ...slice(q) })
  })

  app.get('/card-accounts', async (req) => core.cardAccounts(owner(req), ids(Qy(req)), slice(Qy(req))))
  app.get('/card-accounts/:id', async (req, reply) => found(await core.cardAccount(owner(req), P(req).id!), reply))
  app.get('/card-accounts/:id/limits', async (req) => ({ limits: await core.cardLimits(owner(req), P(req).id!) }))
  app.get('/card-accounts/:id/bills', async (req) => core.bills(owner(req), P(req).id!, { fromDueDate: Qy(req).fromDueDate, toDueDate: Qy(req).toDueDate, ...slice(Qy(req)) }))
  app.get('/card-accounts/:id/bills/:billId', async (req, reply) => found(await core.bill(owner(req), P(req).id!, P(req).billId!), reply))
  app.get('/card-accounts/:id/bills/:billId/transactions', async (req) => {
    const q = Qy(req)
    return core.billTransactions(owner(req), P(req).id!, P(req).billId!, { fromDate: q.fromDate, toDate: q.toDate, ...txFilter(q), ...slice(q) })
  })
  app.get('/card-accounts/:id/transactions', async (req) => {
    const q = Qy(req)
    return core.cardTransactions(owner(req), P(req).id!, { fromDate: q.fromDate!, toDate: q.toDate!, ...txFilter(q), ...slice(q) })
  })

  app.get('/registration', async (req, reply) => found(await core.registration(owner(req)), reply))

  app.get('/loan-contracts', async (req) => core.loanContracts(owner(req), ids(Qy(req)), slice(Qy(req))))
  app.get('/loan-contracts/:id', async (req, reply) => found(await core.loanContract(owner(req), P(req).id!), reply))
  app.get('/loan-contracts/:id/warranties', async (req) => core.warranties(owner(req), P(req).id!, slice(Qy(req))))
  app.get('/loan-contracts/:id/instalments', async (req, reply) => found(await core.instalments(owner(req), P(req).id!), reply))
  app.get('/loan-contracts/:id/payments', async (req, reply) => found(await core.loanPayments(owner(req), P(req).id!), reply))

  app.get('/open-data/channels/:kind', async (req) => core.channels(CoreChannelKind.parse(P(req).kind), slice(Qy(req))))
  app.get('/open-data/account-offers/:segment', async (req) => core.accountOffers(CoreOfferSegment.parse(P(req).segment), slice(Qy(req))))

  // Pix rail. A debit is a PUT under its end-to-end id: repeating it is harmless (the core answers the recorded payment).
  app.get('/pix/keys/:key', async (req) => core.pixKeyLookup(P(req).key!, CorePixKeyType.parse(Qy(req).keyType)))
  app.put('/pix/payments/:endToEndId', async (req, reply) => {
    const debit = CorePixDebit.parse(req.body)
    if (debit.endToEndId !== P(req).endToEndId) return reply.code(400).send({ error: 'invalid_request', error_description: 'the body endToEndId differs from the path' })
    return found(await core.initiatePix(owner(req), debit), reply)
  })
  app.get('/pix/payments/:endToEndId', async (req, reply) => found(await core.pixPayment(owner(req), P(req).endToEndId!), reply))
  app.post('/pix/payments/:endToEndId/cancel', async (req, reply) => found(await core.cancelPix(owner(req), P(req).endToEndId!), reply))

  // Malformed input is the caller's fault (400); a reused end-to-end id is a conflict (409); the rest is a failure.
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof z.ZodError) return reply.code(400).send({ error: 'invalid_request', error_description: err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') })
    if (err instanceof DomainError && err.code === 'CONFLICT') return reply.code(409).send({ error: 'conflict', error_description: err.message })
    const status = (err as { statusCode?: number }).statusCode
    if (status && status < 500) return reply.code(status).send({ error: 'invalid_request', error_description: (err as Error).message })
    return reply.code(500).send({ error: 'core_failure' })
  })
  return app
}
