import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, migrate, type Pool } from '@ponte/platform'
import { serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, waitFor, type ServiceProcess } from '@ponte/testkit'
import type { CoreConnector } from '@ponte/contracts'
import { createCoreApiServer } from '../src/adapters/core-api-server.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPixSettlement } from '../src/adapters/pix-settlement.ts'
import { brasiliaToday } from '../src/domain/dates.ts'
import { seedDemoBank } from '../src/seed/demo-bank.ts'
import { ISPB, REJECTED_ACCOUNT } from './pix-support.ts'
import { aConsent, anaChecking, itemsFor, startConsentStub, type ConsentStub } from './payments-support.ts'
import { migrationsDir } from './support.ts'

/**
 * Crash safety with real processes: connectors runs against the reference core over HTTP (core-api), served here, so
 * the test can SIGKILL the process at an exact point of the payment: before the core debit (the idempotency record
 * and the payment are committed) and after it (the core has debited; connectors has not recorded it).
 */
describe('Pix payments survive a connectors process killed mid-payment', { timeout: 120_000 }, () => {
  const schema = testSchema('connectors_payments_crash')
  const auth = testServiceAuth()
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
    env = {
      ...(await serviceTestEnv(auth.env)), DB_SCHEMA: schema.name, HOST: '127.0.0.1', PORT: '0',
      CORE_CONNECTOR: 'http', CORE_HTTP_URL: coreUrl, CORE_HTTP_RETRIES: '0', CONSENT_URL: consent.url, PAYMENTS_POLL_MS: '100',
    }
  })
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL').catch(() => undefined)
    await coreServer?.close()
    await consent?.close()
    await pool?.end()
    await schema.drop()
  })

  async function start(): Promise<ServiceProcess> {
    const p = await startServiceProcess('connectors', env)
    processes.push(p)
    return p
  }

  async function postTo(p: ServiceProcess, consentId: string, data: unknown, key: string) {
    const token = await auth.issuer('gateway').sign('connectors', { clientId: 'client-tpp-1', organisationId: 'org-tpp-1', scopes: ['payments'], paymentConsentId: consentId })
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

  async function settleAndFinish(e2e: string) {
    await createPixSettlement(pool, { ispb: ISPB, pollMs: 60_000, rejectAll: false, rejectedCreditorAccount: REJECTED_ACCOUNT }).settleDue()
    await waitFor(async () => (await state(e2e)).payment?.status === 'ACSC', { timeoutMs: 30_000, intervalMs: 100, what: 'the payment to reach ACSC' })
    await waitFor(async () => (await state(e2e)).events.every((e) => e.published_at !== null), { timeoutMs: 30_000, intervalMs: 200, what: 'the events to be published' })
  }

  it('killed after the idempotency record and before the debit: after restart, one debit, ACSC, each event once', async () => {
    const now = new Date()
    const c = aConsent(now)
    consent.consents.set(c.consentId, c)
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
    await settleAndFinish(e2e)
    const end = await state(e2e)
    expect(end.debits).toBe(1)
    expect(end.lines).toBe(1)
    expect(end.events.map((e) => e.status)).toEqual(['RCVD', 'ACCP', 'ACPD', 'ACSC'])
    await second.stop('SIGTERM')
  })

  it('killed after the core debit and before recording it: after restart, still one debit, ACSC, each event once; a retry answers the original', async () => {
    const now = new Date()
    const c = aConsent(now, { amount: '7.77' })
    consent.consents.set(c.consentId, c)
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
    await settleAndFinish(e2e)
    const end = await state(e2e)
    expect(end.debits).toBe(1)
    expect(end.lines).toBe(1)
    expect(end.events.map((e) => e.status)).toEqual(['RCVD', 'ACCP', 'ACPD', 'ACSC'])
    // The TPP retries with the same key: the original payment, in its current state.
    const retry = await postTo(second, c.consentId, data, key)
    expect(retry.statusCode).toBe(201)
    const body = await retry.body.json() as { data: Array<{ paymentId: string; status: string }> }
    expect(body.data).toEqual([expect.objectContaining({ paymentId: end.payment!.payment_id, status: 'ACSC' })])
    expect(await pool.query(`select count(*)::int as n from account_transaction t join account a on a.id = t.account_id where a.account_id = $1 and t.amount = 7.77 and t.credit_debit = 'DEBITO'`, [anaChecking]).then((r) => r.rows[0].n)).toBe(1)
    await second.stop('SIGTERM')
  })
})
