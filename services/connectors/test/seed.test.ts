import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, migrate, type Pool } from '@ponte/platform'
import { testSchema } from '@ponte/testkit'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { seedDemoBank } from '../src/seed/demo-bank.ts'
import { seedSynthetic, syntheticCpf, SYNTHETIC_PASSWORD } from '../src/seed/synthetic.ts'
import { migrationsDir } from './support.ts'

describe('seeding the reference core', () => {
  const schema = testSchema('connectors_seed')
  let pool: Pool
  const now = new Date('2026-05-20T15:00:00Z')
  beforeAll(async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 2 })
  })
  afterAll(async () => {
    await pool?.end()
    await schema.drop()
  })

  it('the demo bank is deterministic: the same day gives the same data', async () => {
    await seedDemoBank(pool, { now })
    const digest = async () => (await pool.query(`select md5(string_agg(booked_at::text || amount::text || name, ',' order by id)) as d, count(*)::int as n from account_transaction`)).rows[0]
    const first = await digest()
    expect(first.n).toBeGreaterThan(500)
    await pool.query(`truncate customer, account_transaction, channel, account_offer, seed_run cascade`)
    await seedDemoBank(pool, { now })
    const second = await digest()
    expect(second.d).toBe(first.d)
  })

  it('loads synthetic customers set-based, idempotently, next to the demo bank, and they are readable through the core', async () => {
    const first = await seedSynthetic(pool, { customers: 50, transactionsPerCustomer: 20, now })
    expect(first).toMatchObject({ loaded: true, customers: 50, transactions: 1000 })
    expect((await seedSynthetic(pool, { customers: 50, transactionsPerCustomer: 20, now })).loaded).toBe(false)
    const counts = (await pool.query(`select (select count(*)::int from customer where cpf >= '90000000000') as c, (select count(*)::int from account_transaction t join account a on a.id = t.account_id join customer c on c.id = a.owner_id where c.cpf >= '90000000000') as t`)).rows[0]
    expect(counts).toEqual({ c: 50, t: 1000 })
    const resized = await seedSynthetic(pool, { customers: 10, transactionsPerCustomer: 5, now })
    expect(resized.loaded).toBe(true)
    expect((await pool.query(`select count(*)::int as n from customer where cpf >= '90000000000'`)).rows[0].n).toBe(10)
    expect((await pool.query(`select count(*)::int as n from customer where cpf is null or cpf < '90000000000'`)).rows[0].n).toBe(7)

    const core = createPgCore(pool)
    const who = await core.authenticateCustomer(syntheticCpf(3), SYNTHETIC_PASSWORD)
    expect(who?.cpf).toBe(syntheticCpf(3))
    const [res] = (await core.selectableResources({ cpf: syntheticCpf(3) }))!
    const today = brasiliaToday(now)
    const tx = await core.accountTransactions({ cpf: syntheticCpf(3) }, res!.resourceId, { fromDate: addDays(today, -366), toDate: today, offset: 0, limit: 100 })
    expect(tx.items).toHaveLength(5)
    expect(await core.account({ cpf: syntheticCpf(4) }, res!.resourceId)).toBeUndefined()
  })
})
