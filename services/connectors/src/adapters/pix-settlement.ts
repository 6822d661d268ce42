import { withTransaction, type Logger, type Pool } from '@ponte/platform'
import { settlementOutcome, stripZeros, type SettlementRules } from '../domain/pix.ts'
import { bookPixLine } from './pg-pix.ts'

/** Options of {@link createPixSettlement}. */
export interface PixSettlementOptions extends SettlementRules {
  /** ISPB of this institution: creditors with it are credited here. */
  ispb: string
  /** How often the job looks for due settlements (it also wakes up when told a debit is due). */
  pollMs: number
  clock?: () => Date
  logger?: Logger
}

/** The settlement job of the reference core's Pix rail. */
export interface PixSettlement {
  /** Settles (or rejects) every payment due now, one transaction each; answers how many it finished. */
  settleDue(): Promise<number>
  /** Wakes the job at `due` (a debit was just made); the periodic poll covers anything it misses. */
  wakeAt(due: Date): void
  /** Starts polling every `pollMs`. */
  start(): void
  /** Stops polling and waits for the running sweep. */
  stop(): Promise<void>
}

/**
 * Completes pending Pix payments once due, from the database: a payment is picked with `FOR UPDATE SKIP LOCKED`, so
 * several processes share the work without settling anything twice, and a process that dies leaves its payments
 * pending for the next sweep (nothing lives only in memory). Each payment is finished in its own transaction,
 * touching one balance row, so concurrent sweeps, debits and cancellations cannot deadlock.
 *
 * Held debits (analysis, Payments API PDNG) whose hold is over are released to settlement first.
 *
 * Settled: a creditor account of this bank is credited (statement line + balance). Rejected: the debit is returned
 * to the debtor account, with the reason (`PAGAMENTO_RECUSADO_SPI`).
 */
export function createPixSettlement(pool: Pool, options: PixSettlementOptions): PixSettlement {
  const clock = options.clock ?? (() => new Date())
  let timer: NodeJS.Timeout | undefined
  const wakers = new Set<NodeJS.Timeout>()
  let running: Promise<number> | undefined
  let stopped = true

  async function settleOne(now: Date): Promise<boolean> {
    return withTransaction(pool, async (c) => {
      const { rows } = await c.query(
        `select p.id, p.end_to_end_id, p.amount::text, p.debtor_account_id, p.creditor_ispb, p.creditor_issuer, p.creditor_number, p.creditor_document,
           p.creditor_name, a.branch_code as debtor_branch, a.number as debtor_number, coalesce(cu.cpf, cu.cnpj) as debtor_document, cu.name as debtor_name
         from pix_payment p join account a on a.id = p.debtor_account_id join customer cu on cu.id = p.debtor_customer_id
         where p.status = 'PENDING' and p.settle_after <= $1 order by p.settle_after, p.id limit 1 for update of p skip locked`,
        [now],
      )
      const p = rows[0]
      if (!p) return false
      const inBank = p.creditor_ispb === options.ispb
      let creditorId: number | undefined
      if (inBank) {
        const { rows: cr } = await c.query(
          `select a.id from account a join balance b on b.account_id = a.id
           where ltrim(a.branch_code, '0') = ltrim($1, '0') and ltrim(a.number, '0') = ltrim($2, '0') and a.status = 'AVAILABLE' for update of b`,
          [p.creditor_issuer, p.creditor_number],
        )
        creditorId = cr[0] ? Number(cr[0].id) : undefined
      }
      const outcome = settlementOutcome({ creditorNumber: p.creditor_number, creditorInBank: inBank, creditorFound: creditorId !== undefined }, options)
      if (outcome.status === 'SETTLED') {
        let credit: number | null = null
        if (creditorId !== undefined) {
          credit = await bookPixLine(c, {
            accountId: creditorId, at: now, creditDebit: 'CREDITO', name: `Pix recebido - ${String(p.debtor_name)}`, amount: p.amount,
            partie: { document: p.debtor_document, ispb: options.ispb, issuer: String(p.debtor_branch ?? '0'), number: stripZeros(p.debtor_number) },
          })
        }
        await c.query(`update pix_payment set status = 'SETTLED', settle_after = null, credit_transaction_id = $2, status_updated_at = $3 where id = $1`, [p.id, credit, now])
      } else {
        await c.query(`select 1 from balance where account_id = $1 for update`, [p.debtor_account_id])
        const reversal = await bookPixLine(c, {
          accountId: Number(p.debtor_account_id), at: now, creditDebit: 'CREDITO', name: `Pix devolvido - ${String(p.creditor_name)}`, amount: p.amount,
          partie: { document: p.creditor_document, ispb: p.creditor_ispb, issuer: p.creditor_issuer, number: p.creditor_number },
        })
        await c.query(
          `update pix_payment set status = 'REJECTED', settle_after = null, rejection_code = $2, rejection_detail = $3, reversal_transaction_id = $4, status_updated_at = $5 where id = $1`,
          [p.id, outcome.code, outcome.detail, reversal, now],
        )
      }
      options.logger?.info({ endToEndId: p.end_to_end_id, status: outcome.status }, 'pix settlement')
      return true
    })
  }

  /** Ends the analysis of held debits whose hold is over: they go to settlement (due at once). */
  async function releaseHeld(now: Date): Promise<void> {
    const { rows } = await pool.query(
      `update pix_payment set status = 'PENDING', settle_after = release_after, release_after = null, status_updated_at = $1
       where id in (select id from pix_payment where status = 'HELD' and release_after <= $1 order by release_after limit 500 for update skip locked)
       returning end_to_end_id`,
      [now],
    )
    for (const r of rows) options.logger?.info({ endToEndId: r.end_to_end_id }, 'pix analysis released')
  }

  async function sweep(): Promise<number> {
    let n = 0
    await releaseHeld(clock())
    while (await settleOne(clock())) n += 1
    return n
  }

  /** One sweep at a time per process (other processes are kept apart by SKIP LOCKED). */
  function settleDue(): Promise<number> {
    if (!running) running = sweep().finally(() => { running = undefined })
    return running
  }

  function safeSweep(): void {
    settleDue().catch((err: unknown) => options.logger?.error({ err }, 'pix settlement sweep failed; the next poll retries'))
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      safeSweep()
      schedule()
    }, options.pollMs)
    timer.unref()
  }

  return {
    settleDue,
    wakeAt(due) {
      if (stopped) return
      const t = setTimeout(() => {
        wakers.delete(t)
        safeSweep()
      }, Math.max(0, due.getTime() - clock().getTime()) + 5)
      t.unref()
      wakers.add(t)
    },
    start() {
      if (!stopped) return
      stopped = false
      schedule()
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      for (const t of wakers) clearTimeout(t)
      wakers.clear()
      await running?.catch(() => undefined)
    },
  }
}
