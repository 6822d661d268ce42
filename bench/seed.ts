/**
 * Seed-time benchmark of the connectors' reference core: `node bench/seed.ts [customers] [transactionsPerCustomer]`
 * (default 100 000 × 100 = 10 000 000 transactions) recreates schema `bench_core` in the test database, loads the
 * synthetic data with set-based SQL and prints one JSON line with the time. The data stays for
 * bench/cases/connectors-transactions.ts.
 */
import { fileURLToPath } from 'node:url'
import { createPool, migrate } from '@ponte/platform'
import { ensureDatabase, testInfra } from '@ponte/testkit'
import { seedSynthetic } from '../services/connectors/src/seed/synthetic.ts'

const customers = Number(process.argv[2] ?? process.env.BENCH_CUSTOMERS ?? 100_000)
const per = Number(process.argv[3] ?? process.env.BENCH_TX_PER_CUSTOMER ?? 100)
const { databaseUrl } = testInfra()
await ensureDatabase(databaseUrl)
const schema = 'bench_core'
const admin = createPool({ url: databaseUrl, schema: 'public', max: 1 })
await admin.query(`drop schema if exists ${schema} cascade`)
await admin.end()
await migrate({ url: databaseUrl, schema, dir: fileURLToPath(new URL('../services/connectors/migrations', import.meta.url)) })
const pool = createPool({ url: databaseUrl, schema, max: 2 })
try {
  const result = await seedSynthetic(pool, { customers, transactionsPerCustomer: per, log: (m) => console.error(`seed: ${m}`) })
  const { rows } = await pool.query(`select pg_size_pretty(pg_total_relation_size('account_transaction')) as size`)
  console.log(JSON.stringify({ case: 'connectors-seed', customers: result.customers, transactions: result.transactions, seconds: result.seconds, transactionsPerSecond: Math.round(result.transactions / result.seconds), tableSize: rows[0].size }))
} finally {
  await pool.end()
}
