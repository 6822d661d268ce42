import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, migrate, type Pool } from '@ponte/platform'
import { loadOrCreateDevPki } from '@ponte/pki'
import { freePort, repoRoot, serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, waitFor, type ServiceProcess } from '@ponte/testkit'
import type { CoreConnector } from '@ponte/contracts'
import { createCoreApiServer } from '../src/adapters/core-api-server.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPixSettlement } from '../src/adapters/pix-settlement.ts'
import { brasiliaToday } from '../src/domain/dates.ts'
import { seedDemoBank } from '../src/seed/demo-bank.ts'
import { ISPB, REJECTED_ACCOUNT } from './pix-support.ts'
import { aConsent, anaChecking, itemsFor, startConsentStub, type ConsentStub } from './payments-support.ts'
import { migrationsDir } from './support.ts'
import { startFakeAuthServer, startReceiver, type FakeAuthServer, type Receiver } from './webhooks-support.ts'

/**
 * Crash safety with real processes: connectors runs against the reference core over HTTP (core-api), served here, so
 * the test can SIGKILL the process at an exact point of the payment: before the core debit (the idempotency record
 * and the payment are committed), after it (the core has debited; connectors has not recorded it), and before its
 * events left (every change committed to the outbox, none published). Webhooks are delivered by another connectors
 * process that stays up (a replica, on a schema of its own so that only the killed process touches the payments): each
 * status change must reach the TPP's server exactly once, whatever the crash.
 */
describe('Pix payments survive a connectors process killed mid-payment', { timeout: 120_000 }, () => {
  const schema = testSchema('connectors_payments_crash')
  const webhookSchema = testSchema('connectors_payments_crash_wh')
  const auth = testServiceAuth()
  /** This run's client: the webhook replica consumes the shared topics, where only this run's events name it. */
  const clientId = `crash-${schema.name}`
  let authServer: FakeAuthServer
  let tpp: Receiver
  let pool: Pool
  let pg: CoreConnector
  let coreServer: FastifyInstance
  let consent: ConsentStub
  let env: Record<string, string>
  const processes: ServiceProcess[] = []
  /** What the stand-in core does around the next debit (PUT /pix/payments/{endToEndId}). */
  const hooks: { beforeDebit?: () => Promise<void>; afterDebit?: () => Promise<void> } = {}

  beforeAll(async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 8 })
    await seedDemoBank(pool)
    pg = createPgCore(pool, { pix: { ispb: ISPB, dailyLimit: '100000.00', settlementDelayMs: 0 } })
    const hooked: CoreConnector = {
      ...pg,
      async initiatePix(owner, debit) {
        const before = hooks.beforeDebit
        hooks.beforeDebit = undefined
        if (before) await before()
        const r = await pg.initiatePix(owner, debit)
        const after = hooks.afterDebit
        hooks.afterDebit = undefined
        if (after) await after()
        return r
      },
    }
    coreServer = createCoreApiServer(hooked)
    const coreUrl = await coreServer.listen({ host: '127.0.0.1', port: 0 })
    consent = await startConsentStub(auth.verifier('consent'))
    const shared = await serviceTestEnv(auth.env)
    env = {
      ...shared, DB_SCHEMA: schema.name, HOST: '127.0.0.1', PORT: '0', WEBHOOKS_ENABLED: 'false',
      CORE_CONNECTOR: 'http', CORE_HTTP_URL: coreUrl, CORE_HTTP_RETRIES: '0', CONSENT_URL: consent.url, PAYMENTS_POLL_MS: '100',
    }
    // The TPP's webhook server (a dev-PKI server certificate; it requires the bank's client certificate) and the
    // replica that delivers to it, reading the client's URI from a stand-in of the auth-server's internal route.
    const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
    const port = await freePort()
    tpp = await startReceiver({ chainPem: pki.server.chainPem, privateKeyPem: pki.server.privateKeyPem, clientCa: pki.caBundlePem, port, behaviour: () => 202 })
    authServer = await startFakeAuthServer(auth.verifier('auth-server'))
    authServer.clients.set(clientId, { clientId, organisationId: 'org-tpp-1', webhookUris: [`https://127.0.0.1:${port}/wh`], active: true })
    const webhooks = await startServiceProcess('connectors', {
      ...shared, DB_SCHEMA: webhookSchema.name, HOST: '127.0.0.1', PORT: '0', AUTH_SERVER_INTERNAL_URL: authServer.url,
      WEBHOOK_CONSUMER_GROUP: `connectors-crash-${schema.name}`, WEBHOOK_POLL_MS: '100', WEBHOOK_INITIAL_BACKOFF_MS: '100',
    })
    processes.push(webhooks)
    await waitFor(() => webhooks.output.some((l) => l.includes('webhook consumers joined their groups')), { timeoutMs: 60_000, what: 'the webhook replica joined its groups' })
  }, 120_000)
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL').catch(() => undefined)
    await coreServer?.close()
    await consent?.close()
    await tpp?.close()
    await authServer?.close()
    await pool?.end()
    await schema.drop()
    await webhookSchema.drop()
  })

  async function start(over: Record<string, string> = {}): Promise<ServiceProcess> {
    const p = await startServiceProcess('connectors', { ...env, ...over }, 60_000)
    processes.push(p)
    return p
  }

  async function postTo(p: ServiceProcess, consentId: string, data: unknown, key: string) {
    const token = await auth.issuer('gateway').sign('connectors', { clientId, organisationId: 'org-tpp-1', scopes: ['payments'], paymentConsentId: consentId })
    return request(`${p.address}/open-banking/payments/v4/pix/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ponte-service-token': token, 'x-idempotency-key': key },
      body: JSON.stringify({ data }),
    })
  }

  async function state(e2e: string) {
    const debits = await pool.query(`select count(*)::int as n from pix_payment where end_to_end_id = $1`, [e2e])
    const lines = await pool.query(`select count(*)::int as n from account_transaction t join pix_payment p on p.debit_transaction_id = t.id where p.end_to_end_id = $1`, [e2e])
    const { rows } = await pool.query(`select payment_id, status from pix_payment_initiation where end_to_end_id = $1`, [e2e])
    const events = rows[0]
      ? (await pool.query(`select payload->'data'->>'status' as status, published_at from outbox where key = $1 order by seq`, [rows[0].payment_id])).rows
      : []
    return { debits: debits.rows[0].n as number, lines: lines.rows[0].n as number, payment: rows[0] as { payment_id: string; status: string } | undefined, events }
  }

  /** An authorised consent of this run's client. */
  function given(now: Date, over: Parameters<typeof aConsent>[1] = {}) {
    const c = { ...aConsent(now, over), clientId }
    consent.consents.set(c.consentId, c)
    return c
  }

  /**
   * The webhooks of a payment at the TPP's server once every status is published: one per status change, each
   * delivered once (one attempt, answered 202), whatever the crash.
   */
  async function deliveredOnce(paymentId: string, changes: number) {
    const mine = () => tpp.received.filter((r) => r.path === `/wh/open-banking/webhook/v1/payments/v4/pix/payments/${paymentId}`)
    await waitFor(() => mine().length >= changes, { timeoutMs: 60_000, intervalMs: 100, what: `${changes} webhooks of the payment` })
    // Give a duplicate the time to show up: the delivery job polls every 100 ms.
    await new Promise((r) => setTimeout(r, 1_000))
    expect(mine()).toHaveLength(changes)
    expect(new Set(mine().map((r) => r.headers['x-webhook-interaction-id'])).size).toBe(changes)
  }

  /** Settles the debit, then checks the end state: ACSC, one debit and one statement line, each event and webhook once. */
  async function settledOnce(e2e: string) {
    await createPixSettlement(pool, { ispb: ISPB, pollMs: 60_000, rejectAll: false, rejectedCreditorAccount: REJECTED_ACCOUNT }).settleDue()
    await waitFor(async () => (await state(e2e)).payment?.status === 'ACSC', { timeoutMs: 30_000, intervalMs: 100, what: 'the payment to reach ACSC' })
    await waitFor(async () => (await state(e2e)).events.every((e) => e.published_at !== null), { timeoutMs: 30_000, intervalMs: 200, what: 'the events to be published' })
    const end = await state(e2e)
    expect(end.debits).toBe(1)
    expect(end.lines).toBe(1)
    expect(end.events.map((e) => e.status)).toEqual(['RCVD', 'ACCP', 'ACPD', 'ACSC'])
    await deliveredOnce(end.payment!.payment_id, 4)
    return end
  }

  it('killed after the idempotency record and before the debit: after restart, one debit, ACSC, each event and webhook once', async () => {
    const now = new Date()
    const c = given(now)
    const data = itemsFor(c, [brasiliaToday(now)], now)
    const e2e = data[0]!.endToEndId as string
    const first = await start()
    // The process dies while its debit request is in flight: the core never carries it out (as if the request was lost
    // with the connection), so nothing was debited when connectors restarts.
    hooks.beforeDebit = async () => {
      await first.stop('SIGKILL')
      throw new Error('the debit request was lost with the connection')
    }
    await postTo(first, c.consentId, data, randomUUID()).catch(() => undefined)
    const mid = await state(e2e)
    expect(mid.payment?.status).toBe('RCVD')
    expect(mid.debits).toBe(0)

    const second = await start()
    await waitFor(async () => (await state(e2e)).payment?.status === 'ACPD', { timeoutMs: 30_000, intervalMs: 100, what: 'the restarted scheduler to debit' })
    await settledOnce(e2e)
    await second.stop('SIGTERM')
  })

  it('killed after the core debit and before recording it: after restart, still one debit, ACSC, each event and webhook once; a retry answers the original', async () => {
    const now = new Date()
    const c = given(now, { amount: '7.77' })
    const data = itemsFor(c, [brasiliaToday(now)], now)
    const e2e = data[0]!.endToEndId as string
    const key = randomUUID()
    const first = await start()
    hooks.afterDebit = async () => { await first.stop('SIGKILL') }
    await postTo(first, c.consentId, data, key).catch(() => undefined)
    const mid = await state(e2e)
    expect(mid.debits).toBe(1)
    // The status change and its event were in the transaction the kill rolled back.
    expect(mid.payment?.status).toBe('RCVD')
    expect(mid.events.map((e) => e.status)).toEqual(['RCVD'])

    const second = await start()
    await waitFor(async () => (await state(e2e)).payment?.status === 'ACPD', { timeoutMs: 30_000, intervalMs: 100, what: 'the restarted scheduler to record the debit' })
    const end = await settledOnce(e2e)
    // The TPP retries with the same key: the original payment, in its current state.
    const retry = await postTo(second, c.consentId, data, key)
    expect(retry.statusCode).toBe(201)
    const body = await retry.body.json() as { data: Array<{ paymentId: string; status: string }> }
    expect(body.data).toEqual([expect.objectContaining({ paymentId: end.payment!.payment_id, status: 'ACSC' })])
    expect(await pool.query(`select count(*)::int as n from account_transaction t join account a on a.id = t.account_id where a.account_id = $1 and t.amount = 7.77 and t.credit_debit = 'DEBITO'`, [anaChecking]).then((r) => r.rows[0].n)).toBe(1)
    await second.stop('SIGTERM')
  })

  it('killed before its events left (debited and recorded, Kafka unreachable): after restart, each event published once, one debit, each webhook delivered once', async () => {
    const now = new Date()
    const c = given(now, { amount: '3.33' })
    const data = itemsFor(c, [brasiliaToday(now)], now)
    const e2e = data[0]!.endToEndId as string
    // Nothing listens on the broker address this process is given: its outbox relay cannot publish.
    const first = await start({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}` })
    const res = await postTo(first, c.consentId, data, randomUUID())
    expect(res.statusCode).toBe(201)
    // Debited within the request, or by this process's scheduler when it locked the row first (then the answer says
    // RCVD or ACCP): either way the process records ACPD before it is killed.
    expect(['RCVD', 'ACCP', 'ACPD']).toContain((await res.body.json() as { data: Array<{ status: string }> }).data[0]!.status)
    await waitFor(async () => (await state(e2e)).payment?.status === 'ACPD', { timeoutMs: 30_000, intervalMs: 100, what: 'the payment recorded as ACPD' })
    await first.stop('SIGKILL')
    const mid = await state(e2e)
    expect(mid.debits).toBe(1)
    expect(mid.events.map((e) => [e.status, e.published_at])).toEqual([['RCVD', null], ['ACCP', null], ['ACPD', null]])
    expect(tpp.received.some((r) => r.path.endsWith(mid.payment!.payment_id))).toBe(false)

    const second = await start()
    await settledOnce(e2e)
    await second.stop('SIGTERM')
  })
})
