import type { Pool } from '@ponte/platform'
import { hashPassword } from '../domain/password.ts'

/** Synthetic customers have CPFs `9xxxxxxxxxx` (never a demo customer) and this password. */
export const SYNTHETIC_PASSWORD = 'P@ssw0rd-load'
export const SYNTHETIC_CPF_BASE = 90_000_000_000

/** The CPF of synthetic customer `n` (1-based). */
export const syntheticCpf = (n: number) => String(SYNTHETIC_CPF_BASE + n)

/** The account id of synthetic customer `n` (same expression as the SQL below). */
export const SYNTHETIC_ACCOUNT_SQL = `md5('ponte-synthetic-account:' || c.cpf)::uuid::text`

/** Options of {@link seedSynthetic}. */
export interface SyntheticOptions {
  customers: number
  transactionsPerCustomer?: number
  /** End of the 12-month window of generated transactions (default: now). */
  now?: Date
  log?: (message: string) => void
  /**
   * Called when a phase starts (`done` 0; `total` undefined when the phase is one statement) and as the transactions
   * go in (rows so far of `total`).
   */
  progress?: (phase: string, done: number, total?: number) => void
}

/** Transactions per INSERT statement: the load goes in slices of customers so that its progress can be shown. */
const SLICE_ROWS = 250_000

/** What {@link seedSynthetic} loaded. */
export interface SyntheticResult { loaded: boolean; customers: number; transactions: number; seconds: number }

/**
 * Loads N synthetic customers, each with one checking account and `transactionsPerCustomer` transactions spread over
 * the last 12 months, with set-based SQL (`INSERT … SELECT generate_series`): no row crosses the wire. Values come
 * from a hash of the row number, so a load is deterministic for a given `now`. For large loads the statement index is
 * dropped and rebuilt afterwards. Idempotent: the same size loads once; another size replaces the previous synthetic
 * data. Run it on an idle core: it takes the table's index offline while it loads.
 */
export async function seedSynthetic(pool: Pool, options: SyntheticOptions): Promise<SyntheticResult> {
  const n = options.customers
  const per = options.transactionsPerCustomer ?? 100
  if (!Number.isInteger(n) || n < 1 || n > 9_999_999) throw new Error('customers must be an integer between 1 and 9 999 999')
  if (!Number.isInteger(per) || per < 0 || per > 10_000) throw new Error('transactionsPerCustomer must be an integer between 0 and 10 000')
  const log = options.log ?? (() => undefined)
  const progress = options.progress ?? (() => undefined)
  const now = options.now ?? new Date()
  const started = Date.now()
  const detail = { customers: n, transactionsPerCustomer: per }
  // One scrypt for all synthetic customers: they are load data, never real people.
  const hash = await hashPassword(SYNTHETIC_PASSWORD)
  const c = await pool.connect()
  try {
    await c.query(`set statement_timeout = 0`)
    await c.query(`set synchronous_commit = off`)
    await c.query(`set maintenance_work_mem = '512MB'`)
    await c.query(`select pg_advisory_lock(hashtext('ponte-core-seed:' || current_schema()))`)
    const done = await c.query(`select detail from seed_run where name = 'synthetic'`)
    const previous = done.rows[0]?.detail as { customers?: number; transactionsPerCustomer?: number; seconds?: number } | undefined
    if (previous && previous.customers === n && previous.transactionsPerCustomer === per) {
      return { loaded: false, customers: n, transactions: n * per, seconds: previous.seconds ?? 0 }
    }
    const big = n * per >= 1_000_000
    await c.query('begin')
    log('removing previous synthetic data')
    progress('removing previous synthetic data', 0)
    await c.query(`delete from account_transaction where account_id in (select a.id from account a join customer c on c.id = a.owner_id where c.kind = 'PF' and c.cpf >= '90000000000')`)
    await c.query(`delete from customer where kind = 'PF' and cpf >= '90000000000'`)
    await c.query(`delete from seed_run where name = 'synthetic'`)
    log(`inserting ${n} customers and accounts`)
    progress('customers and accounts', 0)
    await c.query(
      `insert into customer (kind, cpf, name, identification, qualification, financial_relations)
       select 'PF', ($1::bigint + g)::text, 'Cliente Sintético ' || g, '{}', '{}', '{}' from generate_series(1, $2::int) g`,
      [SYNTHETIC_CPF_BASE, n],
    )
    await c.query(`insert into credential (customer_id, password_hash) select id, $1 from customer where kind = 'PF' and cpf >= '90000000000'`, [hash])
    await c.query(
      `insert into account (account_id, owner_id, type, subtype, compe_code, branch_code, number, check_digit)
       select ${SYNTHETIC_ACCOUNT_SQL}, c.id, 'CONTA_DEPOSITO_A_VISTA', 'INDIVIDUAL', '999', '0100', substr(c.cpf, 2, 10), substr(c.cpf, 11, 1)
       from customer c where c.kind = 'PF' and c.cpf >= '90000000000'`,
    )
    await c.query(
      `insert into balance (account_id, available, updated_at)
       select a.id, ((hashint8extended(a.id, 7) & 9223372036854775807) % 5000000) / 100.0, date_trunc('second', $1::timestamptz)
       from account a join customer c on c.id = a.owner_id where c.kind = 'PF' and c.cpf >= '90000000000'`,
      [now],
    )
    if (big) await c.query(`drop index if exists account_transaction_by_account`)
    log(`inserting ${n * per} transactions`)
    progress('transactions', 0, n * per)
    // Slices of customers by CPF (fixed length, so text order is numeric order); the values depend only on the account
    // and the row number, never on the slicing.
    const slice = Math.max(1, Math.floor(SLICE_ROWS / Math.max(per, 1)))
    for (let lo = 1; lo <= n && per > 0; lo += slice) {
      const hi = Math.min(n, lo + slice - 1)
      await c.query(
        `insert into account_transaction (account_id, booked_at, status, credit_debit, name, type, amount)
         select a.id,
                $1::timestamptz - make_interval(secs => (h % 31536000)::double precision),
                'TRANSACAO_EFETIVADA',
                case when h % 8 = 0 then 'CREDITO' else 'DEBITO' end,
                (array['Pix enviado', 'Compra cartão débito', 'Pagamento de boleto', 'TED enviada', 'Saque terminal'])[1 + (h / 7) % 5],
                (array['PIX', 'CARTAO', 'BOLETO', 'TED', 'SAQUE'])[1 + (h / 7) % 5],
                1 + ((h / 1024) % 50000) / 100.0
         from account a
         join customer c on c.id = a.owner_id and c.kind = 'PF' and c.cpf between $3 and $4
         cross join lateral (select g, hashint8extended(a.id * 100003 + g, 42) & 9223372036854775807 as h from generate_series(1, $2::int) g) x`,
        [now, per, syntheticCpf(lo), syntheticCpf(hi)],
      )
      progress('transactions', hi * per, n * per)
    }
    if (big) {
      log('building the statement index')
      progress('building the statement index', 0)
      await c.query(`create index account_transaction_by_account on account_transaction (account_id, booked_at desc, id desc)`)
    }
    await c.query('commit')
    log('analysing')
    progress('analysing', 0)
    await c.query(`analyze customer, account, balance, account_transaction`)
    const seconds = (Date.now() - started) / 1000
    await c.query(`insert into seed_run (name, detail) values ('synthetic', $1)`, [JSON.stringify({ ...detail, seconds })])
    return { loaded: true, customers: n, transactions: n * per, seconds }
  } catch (err) {
    await c.query('rollback').catch(() => undefined)
    throw err
  } finally {
    await c.query(`select pg_advisory_unlock(hashtext('ponte-core-seed:' || current_schema()))`).catch(() => undefined)
    c.release()
  }
}
