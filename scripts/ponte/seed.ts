/**
 * `pnpm ponte seed [--customers N] [--transactions-per-customer M]`: loads the reference core bank of the connectors
 * service. Always makes sure the schema is migrated and the demo bank is there (idempotent); with `--customers N`
 * also loads N synthetic customers for load tests (set-based SQL; 100 000 customers with 100 transactions each take
 * minutes), showing its progress on stderr (scripts/progress.ts). Reads DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/ponte) and DB_SCHEMA (default core).
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createPool, migrate } from '@ponte/platform'
import { seedDemoBank } from '../../services/connectors/src/seed/demo-bank.ts'
import { seedSynthetic } from '../../services/connectors/src/seed/synthetic.ts'
import { createProgress } from '../progress.ts'

/** One line for `pnpm ponte`'s help. */
export const summary = 'load the demo bank into the reference core (idempotent); --customers N adds synthetic load data'

const migrationsDir = fileURLToPath(new URL('../../services/connectors/migrations', import.meta.url))

/** Runs the seed command with its arguments (after `seed`). */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      customers: { type: 'string' },
      'transactions-per-customer': { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(`usage: pnpm ponte seed [--customers N] [--transactions-per-customer M]
  loads the demo bank (idempotent) and, with --customers, N synthetic customers (M transactions each, default 100);
  progress on stderr: a bar with the rate and the time left on a terminal, a plain line every 5 s otherwise`)
    return
  }
  // A session connection: the synthetic load holds a session advisory lock across its transactions.
  const url = process.env.DATABASE_DIRECT_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ponte'
  const schema = process.env.DB_SCHEMA ?? 'core'
  await migrate({ url, schema, dir: migrationsDir })
  const pool = createPool({ url, schema, max: 2 })
  try {
    // The demo Pix keys of the bank's own customers point at its ISPB (the connectors' PIX_ISPB).
    const demo = await seedDemoBank(pool, process.env.PIX_ISPB ? { ispb: process.env.PIX_ISPB } : {})
    console.log(demo.loaded ? 'demo bank loaded' : 'demo bank already present')
    if (values.customers !== undefined) {
      const customers = Number(values.customers)
      const per = Number(values['transactions-per-customer'])
      const bar = createProgress({ label: 'seed', unit: 'rows' })
      let phase = ''
      const result = await seedSynthetic(pool, {
        customers, transactionsPerCustomer: per,
        progress: (name, done, total) => {
          if (name !== phase) {
            phase = name
            bar.phase(name, total)
          }
          bar.update(done)
        },
      }).finally(() => bar.stop())
      console.log(JSON.stringify({ synthetic: result }))
    }
  } finally {
    await pool.end()
  }
}
