import { randomBytes, randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { createPool, migrate, type Pool, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { testLogger, testSchema, testServiceAuth, type TestSchema } from '@ponte/testkit'
import type { CallerContext, CoreConnector, InternalPaymentConsent } from '@ponte/contracts'
import { buildApp } from '../src/app.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createConsentClient } from '../src/adapters/consent-client.ts'
import { createPayments, type Payments } from '../src/adapters/pg-payments.ts'
import { createPixSettlement, type PixSettlement } from '../src/adapters/pix-settlement.ts'
import { createPgWebhookStore } from '../src/adapters/pg-webhooks.ts'
import { createPaginationKeys } from '../src/domain/pagination.ts'
import { brasiliaToday } from '../src/domain/dates.ts'
import { demoId, DEMO_CUSTOMERS, DEMO_PIX_KEYS, seedDemoBank } from '../src/seed/demo-bank.ts'
import { ISPB, REJECTED_ACCOUNT } from './pix-support.ts'
import { migrationsDir, PUBLIC, SECRET } from './support.ts'

export const ORG = 'org-tpp-1'
export const CLIENT = 'client-tpp-1'
export const CNPJ_INITIATOR = '11222333000181'
export const merchant = DEMO_PIX_KEYS.merchant
export const anaChecking = demoId('ana:checking')

/**
 * A stand-in for the consent service at the HTTP boundary: it serves the internal payment-consent contract
 * (`GET /internal/payment-consents/{id}`, `POST …/consume`) from fixtures, verifying the service token as consent does.
 */
export interface ConsentStub {
  url: string
  consents: Map<string, InternalPaymentConsent>
  consumed: Array<{ consentId: string; paymentIds: string[] }>
  /** While true, every call answers 503 (consent unreachable). */
  down: boolean
  close(): Promise<void>
}

export async function startConsentStub(verifier: ServiceTokenVerifier): Promise<ConsentStub> {
  const consents = new Map<string, InternalPaymentConsent>()
  const consumed: ConsentStub['consumed'] = []
  const app: FastifyInstance = Fastify()
  const stub = { url: '', consents, consumed, down: false, close: () => app.close() }
  app.addHook('onRequest', async (req, reply) => {
    if (stub.down) return reply.code(503).send({ errors: [{ code: 'UPSTREAM_UNAVAILABLE', title: 'down', detail: 'down' }], meta: { requestDateTime: new Date().toISOString() } })
    try {
      await verifier.verify(String(req.headers['x-ponte-service-token'] ?? ''))
    } catch {
      return reply.code(401).send({ errors: [{ code: 'UNAUTHORIZED', title: 'x', detail: 'x' }], meta: { requestDateTime: new Date().toISOString() } })
    }
  })
  app.get<{ Params: { id: string } }>('/internal/payment-consents/:id', async (req, reply) => {
    const c = consents.get(req.params.id)
    if (!c) return reply.code(404).send({ errors: [{ code: 'NOT_FOUND', title: 'x', detail: 'x' }], meta: { requestDateTime: new Date().toISOString() } })
    return c
  })
  app.post<{ Params: { id: string }; Body: { paymentIds: string[] } }>('/internal/payment-consents/:id/consume', async (req, reply) => {
    const c = consents.get(req.params.id)
    if (!c) return reply.code(404).send({ errors: [{ code: 'NOT_FOUND', title: 'x', detail: 'x' }], meta: { requestDateTime: new Date().toISOString() } })
    if (c.status !== 'AUTHORISED' && c.status !== 'CONSUMED') return reply.code(422).send({ errors: [{ code: 'CONSENT_STATE_INVALID', title: 'x', detail: 'x' }], meta: { requestDateTime: new Date().toISOString() } })
    c.status = 'CONSUMED'
    consumed.push({ consentId: req.params.id, paymentIds: req.body.paymentIds })
    return c
  })
  stub.url = await app.listen({ host: '127.0.0.1', port: 0 })
  return stub
}

/** An AUTHORISED payment consent of Ana to the demo merchant (Pix key), paying `amount` on `payment`'s date or schedule. */
export function aConsent(now: Date, over: { amount?: string; schedule?: Record<string, unknown>; date?: string; localInstrument?: string; proxy?: string | null; status?: InternalPaymentConsent['status'] } = {}): InternalPaymentConsent {
  const consentId = `urn:bancoponte:${randomUUID()}`
  const details: Record<string, unknown> = {
    localInstrument: over.localInstrument ?? 'DICT',
    creditorAccount: { ispb: merchant.ispb, issuer: merchant.issuer, number: merchant.number, accountType: merchant.accountType },
  }
  if (over.proxy !== null) details.proxy = over.proxy ?? merchant.key
  const payment: Record<string, unknown> = { type: 'PIX', amount: over.amount ?? '10.50', currency: 'BRL', details }
  if (over.schedule) payment.schedule = over.schedule
  else payment.date = over.date ?? brasiliaToday(now)
  return {
    consentId,
    apiVersion: 'v4',
    status: over.status ?? 'AUTHORISED',
    clientId: CLIENT,
    organisationId: ORG,
    creationDateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    statusUpdateDateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    expirationDateTime: new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    loggedUser: { cpf: DEMO_CUSTOMERS.ana.cpf },
    creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: merchant.document, name: merchant.name },
    payment,
    authorisedDebtorAccount: { resourceId: anaChecking, account: { ispb: ISPB, issuer: '0001', number: '000123456', accountType: 'CACC' } },
    authorisedBy: { cpf: DEMO_CUSTOMERS.ana.cpf },
  }
}

/** An end-to-end id for a payment at `at` (UTC date and time in the id). */
export function e2e(at: Date): string {
  const stamp = at.toISOString().replace(/[-T:]/g, '').slice(0, 12)
  return `E${ISPB}${stamp}${randomBytes(8).toString('hex').slice(0, 11)}`
}

/** The items a TPP sends for `consent`: one per date, each with an end-to-end id of that date (15:00 UTC). */
export function itemsFor(consent: InternalPaymentConsent, dates: string[], now: Date): Record<string, unknown>[] {
  const d = consent.payment.details as Record<string, unknown>
  const today = brasiliaToday(now)
  return dates.map((date) => ({
    endToEndId: e2e(date === today ? now : new Date(`${date}T15:00:00Z`)),
    localInstrument: d.localInstrument,
    payment: { amount: consent.payment.amount, currency: 'BRL' },
    creditorAccount: d.creditorAccount,
    ...(d.proxy !== undefined ? { proxy: d.proxy } : {}),
    cnpjInitiator: CNPJ_INITIATOR,
    remittanceInformation: 'Pedido 42',
  }))
}

/** The payments app on a migrated, seeded schema; the consent stand-in; the reference core's settlement job. */
export interface PaymentsFixture {
  schema: TestSchema
  pool: Pool
  app: PonteServer
  core: CoreConnector
  payments: Payments
  settlement: PixSettlement
  consent: ConsentStub
  clock: { now: Date }
  /** The service-token key pair the app trusts (to sign as another caller, e.g. `admin`). */
  auth: ReturnType<typeof testServiceAuth>
  /** Service-token header of a gateway call for `ctx` (defaults: the TPP, with a payment consent when given). */
  headers(o?: { consentId?: string; organisationId?: string; clientId?: string; key?: string }): Promise<Record<string, string>>
  /** Another payments instance on the same database (a second connectors process; on a pool of its own when given). */
  another(pool?: Pool): Payments
  close(): Promise<void>
}

/** The reference core's analysis hold (PDNG) for {@link paymentsFixture}: off unless a threshold is given. */
export interface AnalysisOptions { analysisThreshold?: string; analysisMs?: number }

/**
 * `connect` opens the service's pool on the migrated schema (default: directly); a test may go through a pooler.
 */
export async function paymentsFixture(prefix: string, options: AnalysisOptions & { connect?: (schema: TestSchema) => Promise<Pool> } = {}): Promise<PaymentsFixture> {
  const { connect, ...analysis } = options
  const schema = testSchema(prefix)
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
  const pool = await (connect?.(schema) ?? Promise.resolve(createPool({ url: schema.databaseUrl, schema: schema.name, max: 12 })))
  await seedDemoBank(pool)
  const auth = testServiceAuth()
  const gateway = auth.issuer('gateway')
  const clock = { now: new Date() }
  const coreOn = (p: Pool) => createPgCore(p, { pix: { ispb: ISPB, dailyLimit: '100000.00', settlementDelayMs: 1_000, clock: () => clock.now, ...analysis } })
  const core = coreOn(pool)
  const settlement = createPixSettlement(pool, { ispb: ISPB, pollMs: 60_000, rejectAll: false, rejectedCreditorAccount: REJECTED_ACCOUNT, clock: () => clock.now })
  const consent = await startConsentStub(auth.verifier('consent'))
  const consents = createConsentClient({ baseUrl: consent.url, issuer: auth.issuer('connectors'), timeoutMs: 3_000 })
  const logger = testLogger('connectors').logger
  const payments = createPayments({ pool, rail: core, consents, logger, clock: () => clock.now })
  const app = buildApp({
    server: { logger },
    serviceAuth: auth.verifier('connectors'),
    core,
    payments,
    paginationKeys: createPaginationKeys(SECRET),
    publicBaseUrl: PUBLIC,
    brand: { brandName: 'Banco Ponte', companyCnpj: '12345678000195' },
    webhooks: createPgWebhookStore(pool, { initialBackoffMs: 1_000, maxBackoffMs: 60_000, maxAgeMs: 3_600_000 }),
    clock: () => clock.now,
  })
  await app.ready()
  return {
    schema, pool, app, core, payments, settlement, consent, clock, auth,
    another: (p = pool) => createPayments({ pool: p, rail: p === pool ? core : coreOn(p), consents, logger, clock: () => clock.now }),
    async headers(o = {}) {
      const ctx: CallerContext = { clientId: o.clientId ?? CLIENT, organisationId: o.organisationId ?? ORG, scopes: ['openid', 'payments'], ...(o.consentId ? { paymentConsentId: o.consentId } : {}) }
      return { 'x-ponte-service-token': await gateway.sign('connectors', ctx), ...(o.key ? { 'x-idempotency-key': o.key } : {}) }
    },
    async close() {
      await app.close()
      await consents.close()
      await consent.close()
      await settlement.stop()
      await pool.end()
      await schema.drop()
    },
  }
}
