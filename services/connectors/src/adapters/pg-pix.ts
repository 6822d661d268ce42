import { DomainError, withTransaction, type Pool, type PoolClient } from '@ponte/platform'
import type { CoreOwner, CorePixDebit, CorePixPayment, CorePixRail } from '@ponte/contracts'
import { brasiliaDay, decideDebit, heldForAnalysis, pixKeyHasType, stripZeros } from '../domain/pix.ts'

/** Options of the reference core's Pix rail. */
export interface PgPixOptions {
  /** ISPB of this institution: creditors with it are credited here at settlement. */
  ispb: string
  /** Daily Pix limit of a customer without one of their own (Brasília calendar day). */
  dailyLimit: string
  /** How long after the debit a payment becomes due for settlement. */
  settlementDelayMs: number
  /**
   * Debits of at least this amount are held for analysis (`HELD`, Payments API PDNG) before settlement; absent: none
   * (docs/regulation/payments.md#payment-statuses).
   */
  analysisThreshold?: string | undefined
  /** How long a held debit stays in analysis before it goes to settlement. */
  analysisMs?: number
  clock?: () => Date
  /** Called after a debit with the instant it becomes due (lets the settlement job wake up on time). */
  onDebited?: (due: Date) => void
}

type Row = Record<string, unknown>

/** Owner's customer id over `$1` (CPF) and `$2` (CNPJ or null); the same scoping as every read of the core. */
const OWNER = `(select case when $2::text is null
    then (select id from customer where kind = 'PF' and cpf = $1)
    else (select b.id from customer b join representative r on r.business_id = b.id join customer p on p.id = r.person_id and p.cpf = $1 where b.kind = 'PJ' and b.cnpj = $2)
  end)`
const ownerParams = (o: CoreOwner) => [o.cpf, o.cnpj ?? null]

const PAYMENT_COLS = `p.end_to_end_id, a.account_id as debtor_account_id, p.debtor_customer_id, p.amount::text, p.creditor_ispb, p.creditor_issuer,
  p.creditor_number, p.creditor_account_type, p.creditor_document, p.creditor_name, p.remittance_information, p.status, p.rejection_code,
  p.rejection_detail, p.debit_transaction_id, p.created_at, p.status_updated_at`

export function toPixPayment(r: Row): CorePixPayment {
  const out: CorePixPayment = {
    endToEndId: r.end_to_end_id as string,
    debtorAccountId: r.debtor_account_id as string,
    amount: r.amount as string,
    currency: 'BRL',
    creditor: {
      ispb: r.creditor_ispb as string,
      issuer: r.creditor_issuer as string,
      number: r.creditor_number as string,
      accountType: r.creditor_account_type as CorePixPayment['creditor']['accountType'],
      document: r.creditor_document as string,
      name: r.creditor_name as string,
    },
    status: r.status as CorePixPayment['status'],
    createdAt: (r.created_at as Date).toISOString(),
    statusUpdatedAt: (r.status_updated_at as Date).toISOString(),
  }
  if (r.remittance_information !== null) out.remittanceInformation = r.remittance_information as string
  if (r.rejection_code !== null) out.rejectionReason = { code: r.rejection_code as NonNullable<CorePixPayment['rejectionReason']>['code'], detail: r.rejection_detail as string }
  if (r.debit_transaction_id !== null) out.debitTransactionId = String(r.debit_transaction_id)
  return out
}

/** Whether a recorded payment is the same debit as `d` (a retry) or another one reusing its end-to-end id. */
function sameDebit(r: Row, d: CorePixDebit): boolean {
  return r.debtor_account_id === d.debtorAccountId && r.amount === d.amount && r.creditor_ispb === d.creditor.ispb
    && stripZeros(r.creditor_issuer as string) === stripZeros(d.creditor.issuer) && stripZeros(r.creditor_number as string) === stripZeros(d.creditor.number)
    && r.creditor_account_type === d.creditor.accountType && r.creditor_document === d.creditor.document
}

const personType = (document: string) => (document.length === 11 ? 'PESSOA_NATURAL' : 'PESSOA_JURIDICA')
const branch4 = (issuer: string) => issuer.padStart(4, '0')
const number8 = (n: string) => n.padStart(8, '0')

/**
 * Writes a statement line and moves the balance in one step of the caller's transaction (the balance row must be
 * locked by the caller). Answers the line's id.
 */
export async function bookPixLine(c: PoolClient, l: { accountId: number; at: Date; creditDebit: 'CREDITO' | 'DEBITO'; name: string; amount: string; partie: { document: string; ispb: string; issuer: string; number: string } }): Promise<number> {
  const { rows } = await c.query(
    `insert into account_transaction (account_id, booked_at, status, credit_debit, name, type, amount, partie_document, partie_person_type, partie_branch_code, partie_number, partie_ispb)
     values ($1, $2, 'TRANSACAO_EFETIVADA', $3, $4, 'PIX', $5, $6, $7, $8, $9, $10) returning id`,
    [l.accountId, l.at, l.creditDebit, l.name.slice(0, 200), l.amount, l.partie.document, personType(l.partie.document), branch4(l.partie.issuer), number8(l.partie.number), l.partie.ispb],
  )
  await c.query(
    `update balance set available = available ${l.creditDebit === 'CREDITO' ? '+' : '-'} $2::numeric, updated_at = date_trunc('second', $3::timestamptz) where account_id = $1`,
    [l.accountId, l.amount, l.at],
  )
  return Number(rows[0].id)
}

/**
 * The reference core's Pix rail on PostgreSQL. A debit runs in one transaction: the customer row is locked (their
 * daily limit spans all their accounts), then the account's balance row; the payment record and the statement line
 * are written with the balance update. The unique end-to-end id is the last word when two calls race.
 */
export function createPgPixRail(pool: Pool, options: PgPixOptions): CorePixRail {
  const clock = options.clock ?? (() => new Date())

  async function read(owner: CoreOwner, endToEndId: string, c: Pool | PoolClient = pool, lock = ''): Promise<Row | undefined> {
    const { rows } = await c.query(
      `select ${PAYMENT_COLS}, p.id, p.debtor_account_id as debtor_account_pk from pix_payment p join account a on a.id = p.debtor_account_id
       where p.end_to_end_id = $3 and p.debtor_customer_id = ${OWNER} ${lock}`,
      [...ownerParams(owner), endToEndId],
    )
    return rows[0] as Row | undefined
  }

  /** The recorded payment for `debit` (a retry): the same debit answers as it stands, another debit is a conflict. */
  async function existing(owner: CoreOwner, debit: CorePixDebit): Promise<CorePixPayment | undefined | 'none'> {
    const any = await pool.query(`select 1 from pix_payment where end_to_end_id = $1`, [debit.endToEndId])
    if (!any.rowCount) return 'none'
    const r = await read(owner, debit.endToEndId)
    if (!r) return undefined // someone else's payment: never reveal it
    if (!sameDebit(r, debit)) throw new DomainError('CONFLICT', `end-to-end id ${debit.endToEndId} was already used for another debit`)
    return toPixPayment(r)
  }

  return {
    async pixKeyLookup(key, keyType) {
      if (!pixKeyHasType(key, keyType)) return { result: 'KEY_TYPE_MISMATCH' }
      const { rows } = await pool.query(`select * from pix_key where key = $1`, [key])
      const r = rows[0] as Row | undefined
      if (!r) return { result: 'NOT_FOUND' }
      if (r.key_type !== keyType) return { result: 'KEY_TYPE_MISMATCH' }
      const document = r.holder_document as string
      return {
        result: 'FOUND',
        entry: {
          key, keyType,
          account: { ispb: r.ispb as string, issuer: r.issuer as string, number: r.number as string, accountType: r.account_type as 'CACC' | 'SVGS' | 'TRAN' },
          holder: { document, personType: personType(document), name: r.holder_name as string },
        },
      }
    },

    async initiatePix(owner, debit) {
      const before = await existing(owner, debit)
      if (before !== 'none') return before
      const now = clock()
      const outcome = await withTransaction(pool, async (c) => {
        const { rows: acc } = await c.query(
          `select a.id, a.owner_id, a.branch_code, a.number, coalesce(cu.pix_daily_limit, $4::numeric)::text as daily_limit,
             coalesce(cu.cpf, cu.cnpj) as document
           from account a join customer cu on cu.id = a.owner_id where a.owner_id = ${OWNER} and a.account_id = $3 and a.status = 'AVAILABLE'`,
          [...ownerParams(owner), debit.debtorAccountId, options.dailyLimit],
        )
        const a = acc[0] as Row | undefined
        if (!a) return 'not-found' as const
        // One customer's Pix debits run one at a time: the daily limit spans all their accounts.
        await c.query(`select 1 from customer where id = $1 for no key update`, [a.owner_id])
        // A call that raced this one on the same end-to-end id and committed first wins; this one reads its result.
        if ((await c.query(`select 1 from pix_payment where end_to_end_id = $1`, [debit.endToEndId])).rowCount) return 'exists' as const
        const { rows: bal } = await c.query(`select available::text from balance where account_id = $1 for update`, [a.id])
        const day = brasiliaDay(now)
        const { rows: spent } = await c.query(
          `select coalesce(sum(amount), 0)::text as spent from pix_payment where debtor_customer_id = $1 and status in ('HELD', 'PENDING', 'SETTLED') and created_at >= $2 and created_at < $3`,
          [a.owner_id, day.start, day.end],
        )
        const sameAccount = debit.creditor.ispb === options.ispb && stripZeros(debit.creditor.issuer) === stripZeros(String(a.branch_code ?? '0'))
          && stripZeros(debit.creditor.number) === stripZeros(a.number as string)
        const decision = decideDebit({ amount: debit.amount, available: bal[0]?.available ?? '0.00', spentToday: spent[0].spent, dailyLimit: a.daily_limit as string, sameAccount })
        const held = decision.ok && heldForAnalysis(debit.amount, options.analysisThreshold)
        // A held debit is released to settlement when its analysis ends; the settlement job then settles it at once.
        const due = new Date(now.getTime() + (held ? options.analysisMs ?? 60_000 : options.settlementDelayMs))
        const status = !decision.ok ? 'REJECTED' : held ? 'HELD' : 'PENDING'
        const { rows: ins } = await c.query(
          `insert into pix_payment (end_to_end_id, debtor_customer_id, debtor_account_id, amount, creditor_ispb, creditor_issuer, creditor_number, creditor_account_type,
             creditor_document, creditor_name, remittance_information, status, rejection_code, rejection_detail, settle_after, release_after, created_at, status_updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
           on conflict (end_to_end_id) do nothing returning id`,
          [debit.endToEndId, a.owner_id, a.id, debit.amount, debit.creditor.ispb, debit.creditor.issuer, debit.creditor.number, debit.creditor.accountType,
            debit.creditor.document, debit.creditor.name, debit.remittanceInformation ?? null, status,
            decision.ok ? null : decision.code, decision.ok ? null : decision.detail, status === 'PENDING' ? due : null, held ? due : null, now],
        )
        // Another customer's call took this end-to-end id between our check and our insert.
        if (!ins.length) return 'exists' as const
        if (decision.ok) {
          const line = await bookPixLine(c, { accountId: Number(a.id), at: now, creditDebit: 'DEBITO', name: `Pix enviado - ${debit.creditor.name}`, amount: debit.amount, partie: debit.creditor })
          await c.query(`update pix_payment set debit_transaction_id = $2 where id = $1`, [ins[0].id, line])
        }
        return decision.ok ? { due } : 'refused' as const
      })
      if (outcome === 'not-found') return undefined
      if (outcome === 'exists') {
        const after = await existing(owner, debit)
        return after === 'none' ? undefined : after
      }
      if (typeof outcome === 'object') options.onDebited?.(outcome.due)
      const r = await read(owner, debit.endToEndId)
      return r ? toPixPayment(r) : undefined
    },

    async pixPayment(owner, endToEndId) {
      const r = await read(owner, endToEndId)
      return r ? toPixPayment(r) : undefined
    },

    async cancelPix(owner, endToEndId) {
      const now = clock()
      const r = await withTransaction(pool, async (c) => {
        const p = await read(owner, endToEndId, c, 'for update of p')
        if (!p || (p.status !== 'PENDING' && p.status !== 'HELD')) return p
        await c.query(`select 1 from balance where account_id = $1 for update`, [p.debtor_account_pk])
        const line = await bookPixLine(c, {
          accountId: Number(p.debtor_account_pk), at: now, creditDebit: 'CREDITO', name: `Pix cancelado - estorno - ${String(p.creditor_name)}`, amount: p.amount as string,
          partie: { document: p.creditor_document as string, ispb: p.creditor_ispb as string, issuer: p.creditor_issuer as string, number: p.creditor_number as string },
        })
        await c.query(`update pix_payment set status = 'CANCELLED', settle_after = null, release_after = null, reversal_transaction_id = $2, status_updated_at = $3 where id = $1`, [p.id, line, now])
        return read(owner, endToEndId, c)
      })
      return r ? toPixPayment(r) : undefined
    },
  }
}
