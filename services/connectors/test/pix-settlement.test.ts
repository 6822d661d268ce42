import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, migrate, type Pool } from '@ponte/platform'
import { serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, waitFor, type ServiceProcess } from '@ponte/testkit'
import type { CoreOwner } from '@ponte/contracts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPixSettlement } from '../src/adapters/pix-settlement.ts'
import { fromCents, toCents } from '../src/domain/pix.ts'
import { demoId, DEMO_CUSTOMERS, seedDemoBank } from '../src/seed/demo-bank.ts'
import { available, DELAY_MS, ISPB, REJECTED_ACCOUNT, toMariana } from './pix-support.ts'
import { migrationsDir } from './support.ts'

const ana: CoreOwner = { cpf: DEMO_CUSTOMERS.ana.cpf }
const anaChecking = demoId('ana:checking')
const marianaChecking = demoId('mariana:checking')
const plus = (a: string, b: string) => fromCents(toCents(a) + toCents(b))

/** Statement lines of an account carrying `amount` on one side. */
async function lines(pool: Pool, accountId: string, creditDebit: 'CREDITO' | 'DEBITO', amount: string): Promise<number> {
  const { rows } = await pool.query(
    `select count(*)::int as n from account_transaction t join account a on a.id = t.account_id where a.account_id = $1 and t.credit_debit = $2 and t.amount = $3::numeric`,
    [accountId, creditDebit, amount],
  )
  return rows[0].n as number
}

describe('Pix settlement of the reference core', () => {
  const schema = testSchema('connectors_pix_settle')
  let pool: Pool
  const processes: ServiceProcess[] = []
  beforeAll(async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 8 })
    await seedDemoBank(pool)
  })
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL').catch(() => undefined)
    await pool?.end()
    await schema.drop()
  })

  it('two settlement jobs racing over the same due payments settle each exactly once', async () => {
    const clock = { now: new Date() }
    const core = createPgCore(pool, { pix: { ispb: ISPB, dailyLimit: '100000.00', settlementDelayMs: DELAY_MS, clock: () => clock.now } })
    const job = () => createPixSettlement(pool, { ispb: ISPB, pollMs: 60_000, rejectAll: false, rejectedCreditorAccount: REJECTED_ACCOUNT, clock: () => clock.now })
    const before = await available(pool, marianaChecking)
    const payments = []
    for (let i = 0; i < 30; i++) payments.push(await core.initiatePix(ana, toMariana(anaChecking, '2.03')))
    clock.now = new Date(clock.now.getTime() + DELAY_MS)
    const [a, b] = await Promise.all([job().settleDue(), job().settleDue()])
    expect(a + b).toBe(30)
    for (const p of payments) expect((await core.pixPayment(ana, p!.endToEndId))?.status).toBe('SETTLED')
    expect(await lines(pool, marianaChecking, 'CREDITO', '2.03')).toBe(30)
    expect(await available(pool, marianaChecking)).toBe(plus(before, '60.90'))
  })

  it('a connector process killed after the debit and before settlement: the payment settles after restart, exactly once', async () => {
    const auth = testServiceAuth()
    const env = { ...(await serviceTestEnv(auth.env)), DB_SCHEMA: schema.name, HOST: '127.0.0.1', PORT: '0', PIX_SETTLEMENT_POLL_MS: '100' }
    // 1. A connector process runs the settlement job.
    const first = await startServiceProcess('connectors', env)
    processes.push(first)
    // 2. A debit is made, due in 5 s.
    const core = createPgCore(pool, { pix: { ispb: ISPB, settlementDelayMs: 5_000 } })
    const before = { ana: await available(pool, anaChecking), mariana: await available(pool, marianaChecking) }
    const p = await core.initiatePix(ana, toMariana(anaChecking, '37.19'))
    expect(p?.status).toBe('PENDING')
    // 3. The process dies before the payment is due; the payment is still pending and the money has left Ana's account.
    await first.stop('SIGKILL')
    expect((await core.pixPayment(ana, p!.endToEndId))?.status).toBe('PENDING')
    expect(await available(pool, anaChecking)).toBe(plus(before.ana, '-37.19'))
    // 4. Two fresh processes (replicas) start; one of them settles it.
    const [second, third] = await Promise.all([startServiceProcess('connectors', env), startServiceProcess('connectors', env)])
    processes.push(second, third)
    await waitFor(async () => (await core.pixPayment(ana, p!.endToEndId))?.status === 'SETTLED', { timeoutMs: 30_000, intervalMs: 100, what: 'the settlement after restart' })
    // 5. Exactly once: one debit, one credit, balances moved once.
    expect(await lines(pool, anaChecking, 'DEBITO', '37.19')).toBe(1)
    expect(await lines(pool, marianaChecking, 'CREDITO', '37.19')).toBe(1)
    expect(await available(pool, anaChecking)).toBe(plus(before.ana, '-37.19'))
    expect(await available(pool, marianaChecking)).toBe(plus(before.mariana, '37.19'))
    const settledBy = [...second.output, ...third.output].filter((l) => l.includes(p!.endToEndId) && l.includes('pix settlement'))
    expect(settledBy).toHaveLength(1)
  })
})
