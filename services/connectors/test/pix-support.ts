import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createPool, migrate, type Pool } from '@ponte/platform'
import { testLogger, testSchema, type TestSchema } from '@ponte/testkit'
import type { CoreConnector, CorePixDebit } from '@ponte/contracts'
import { createCoreApiServer } from '../src/adapters/core-api-server.ts'
import { createHttpCore, type HttpCore } from '../src/adapters/http-core.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPixSettlement, type PixSettlement } from '../src/adapters/pix-settlement.ts'
import { DEFAULT_ISPB } from '../src/domain/pix.ts'
import { DEMO_PIX_KEYS, seedDemoBank } from '../src/seed/demo-bank.ts'
import { migrationsDir } from './support.ts'

export const ISPB = DEFAULT_ISPB
export const DELAY_MS = 2_000
/** The creditor account number the reference core refuses to settle to (PIX_REJECTED_CREDITOR_ACCOUNT). */
export const REJECTED_ACCOUNT = '99999999'

/** A Pix rail under test: the core (pg, or the HTTP client in front of the core-api server), its settlement job and a clock. */
export interface PixFixture {
  core: CoreConnector
  pool: Pool
  settlement: PixSettlement
  clock: { now: Date }
  /** Base URL of the core-api server (http only). */
  url?: string
  close(): Promise<void>
}

/** A migrated, seeded schema; the Pix rail as `kind` sees it, on a controllable clock. */
export async function pixFixture(kind: 'postgres' | 'http', options: { rejectAll?: boolean } = {}): Promise<PixFixture> {
  const schema: TestSchema = testSchema(`connectors_pix_${kind}`)
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
  const pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 8 })
  await seedDemoBank(pool)
  const clock = { now: new Date() }
  const pg = createPgCore(pool, { pix: { ispb: ISPB, dailyLimit: '100000.00', settlementDelayMs: DELAY_MS, clock: () => clock.now } })
  const settlement = createPixSettlement(pool, { ispb: ISPB, pollMs: 60_000, rejectAll: options.rejectAll ?? false, rejectedCreditorAccount: REJECTED_ACCOUNT, clock: () => clock.now, logger: testLogger('pix').logger })
  let server: FastifyInstance | undefined
  let http: HttpCore | undefined
  let core: CoreConnector = pg
  let url: string | undefined
  if (kind === 'http') {
    server = createCoreApiServer(pg)
    url = await server.listen({ host: '127.0.0.1', port: 0 })
    http = createHttpCore({ baseUrl: url, timeoutMs: 5_000, retries: 2, breakerFailures: 1000, breakerResetMs: 1_000 })
    core = http
  }
  return {
    core, pool, settlement, clock, url,
    async close() {
      await settlement.stop()
      await http?.close()
      await server?.close()
      await pool.end()
      await schema.drop()
    },
  }
}

/** A fresh, well-formed end-to-end id (`E` + ISPB + yyyyMMddHHmm + 11 characters). */
export function endToEndId(at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-T:]/g, '').slice(0, 12)
  return `E${ISPB}${stamp}${randomBytes(8).toString('hex').slice(0, 11)}`
}

const merchant = DEMO_PIX_KEYS.merchant
/** A debit to the demo merchant (another institution) from `debtorAccountId`. */
export function toMerchant(debtorAccountId: string, amount: string, over: Partial<CorePixDebit> = {}): CorePixDebit {
  return {
    endToEndId: endToEndId(),
    debtorAccountId,
    amount,
    currency: 'BRL',
    creditor: { ispb: merchant.ispb, issuer: merchant.issuer, number: merchant.number, accountType: merchant.accountType, document: merchant.document, name: merchant.name },
    remittanceInformation: 'Pedido 123',
    ...over,
  }
}

/** A debit to the third demo customer's checking account, in this bank. */
export function toMariana(debtorAccountId: string, amount: string): CorePixDebit {
  const m = DEMO_PIX_KEYS.mariana
  return toMerchant(debtorAccountId, amount, { creditor: { ispb: ISPB, issuer: m.issuer, number: m.number, accountType: 'CACC', document: m.document, name: m.name } })
}

/** Available balance of an account (by public id), straight from the core's tables. */
export async function available(pool: Pool, accountId: string): Promise<string> {
  const { rows } = await pool.query(`select b.available::text from balance b join account a on a.id = b.account_id where a.account_id = $1`, [accountId])
  return rows[0].available as string
}
