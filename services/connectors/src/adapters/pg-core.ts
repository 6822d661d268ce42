import { ofbDateTime, type Pool } from '@ponte/platform'
import type {
  ConsentResource,
  CoreAccount,
  CoreAccountTransaction,
  CoreBill,
  CoreCardAccount,
  CoreCardLimit,
  CoreCardTransaction,
  CoreConnector,
  CoreLoanContract,
  CoreOwner,
  CoreResourceState,
  SelectableResource,
} from '@ponte/contracts'
import { DECOY_HASH, verifyPassword } from '../domain/password.ts'
import { DEFAULT_ISPB } from '../domain/pix.ts'
import { createPgPixRail, type PgPixOptions } from './pg-pix.ts'

type Row = Record<string, unknown>

/**
 * The owner's customer id as a scalar subquery over parameters `$1` (CPF) and `$2` (CNPJ or null): the person, or
 * the business the person represents. Every customer read is joined through it, so a row of another customer can
 * never match.
 */
const OWNER = `(select case when $2::text is null
    then (select id from customer where kind = 'PF' and cpf = $1)
    else (select b.id from customer b join representative r on r.business_id = b.id join customer p on p.id = r.person_id and p.cpf = $1 where b.kind = 'PJ' and b.cnpj = $2)
  end)`

/** Start of a calendar day in Brasília as an instant: `$n::date` at 00:00 America/Sao_Paulo. */
const dayStart = (n: number) => `($${n}::date)::timestamp at time zone 'America/Sao_Paulo'`
const dayEnd = (n: number) => `(($${n}::date + 1)::timestamp at time zone 'America/Sao_Paulo')`

const ownerParams = (o: CoreOwner) => [o.cpf, o.cnpj ?? null]
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v)
const iso = (v: unknown) => (v as Date).toISOString()
const isoSeconds = (v: unknown) => ofbDateTime(v as Date)
const last4 = (s: string) => `•••• ${s.slice(-4)}`

const ACCOUNT_LABELS: Record<string, string> = {
  CONTA_DEPOSITO_A_VISTA: 'Conta corrente',
  CONTA_POUPANCA: 'Conta poupança',
  CONTA_PAGAMENTO_PRE_PAGA: 'Conta de pagamento pré-paga',
}

function toAccount(r: Row): CoreAccount {
  return {
    accountId: r.account_id as string,
    type: r.type as CoreAccount['type'],
    subtype: r.subtype as CoreAccount['subtype'],
    compeCode: r.compe_code as string,
    branchCode: opt(r.branch_code as string | null),
    number: r.number as string,
    checkDigit: opt(r.check_digit as string | null),
    currency: r.currency as string,
    status: r.status as CoreAccount['status'],
  }
}

function toTransaction(r: Row): CoreAccountTransaction {
  const t: CoreAccountTransaction = {
    transactionId: String(r.id),
    status: r.status as CoreAccountTransaction['status'],
    creditDebit: r.credit_debit as CoreAccountTransaction['creditDebit'],
    name: r.name as string,
    type: r.type as CoreAccountTransaction['type'],
    amount: r.amount as string,
    currency: 'BRL',
    bookedAt: iso(r.booked_at),
  }
  if (r.partie_document) {
    t.counterparty = {
      document: r.partie_document as string,
      personType: r.partie_person_type as 'PESSOA_NATURAL' | 'PESSOA_JURIDICA',
      compeCode: opt(r.partie_compe_code as string | null),
      branchCode: opt(r.partie_branch_code as string | null),
      number: opt(r.partie_number as string | null),
      checkDigit: opt(r.partie_check_digit as string | null),
      ispb: opt(r.partie_ispb as string | null),
    }
  }
  return t
}

function toCardAccount(r: Row): CoreCardAccount {
  return {
    creditCardAccountId: r.card_account_id as string,
    name: r.name as string,
    productType: r.product_type as CoreCardAccount['productType'],
    network: r.network as CoreCardAccount['network'],
    status: r.status as CoreCardAccount['status'],
    paymentMethods: (r.cards as Array<{ n: string; m: boolean }>).map((c) => ({ identificationNumber: c.n, isMultipleCreditCard: c.m })),
  }
}

function toBill(r: Row): CoreBill {
  return {
    billId: r.bill_id as string,
    dueDate: r.due_date as string,
    closingDate: r.closing_date as string,
    currency: 'BRL',
    totalAmount: r.total_amount as string,
    minimumAmount: r.minimum_amount as string,
    isInstalment: r.is_instalment as boolean,
    financeCharges: r.finance_charges as CoreBill['financeCharges'],
    payments: r.payments as CoreBill['payments'],
  }
}

function toCardTransaction(r: Row): CoreCardTransaction {
  return {
    transactionId: `c${String(r.id)}`,
    identificationNumber: r.identification_number as string,
    billId: opt(r.bill_public_id as string | null),
    name: r.name as string,
    creditDebit: r.credit_debit as CoreCardTransaction['creditDebit'],
    transactionType: r.transaction_type as CoreCardTransaction['transactionType'],
    paymentType: opt(r.payment_type as CoreCardTransaction['paymentType'] | null),
    feeType: opt(r.fee_type as CoreCardTransaction['feeType'] | null),
    otherCreditsType: opt(r.other_credits_type as CoreCardTransaction['otherCreditsType'] | null),
    chargeIdentificator: opt(r.charge_identificator as number | null),
    chargeNumber: opt(r.charge_number as number | null),
    amount: r.amount as string,
    currency: r.currency as string,
    brazilianAmount: r.brazilian_amount as string,
    transactionAt: iso(r.transaction_at),
    billPostDate: r.bill_post_date as string,
    payeeMCC: opt(r.payee_mcc as number | null),
  }
}

function toLoan(r: Row): CoreLoanContract {
  return {
    contractId: r.contract_id as string,
    status: r.status as CoreLoanContract['status'],
    contractNumber: r.contract_number as string,
    ipocCode: r.ipoc_code as string,
    productName: r.product_name as string,
    productSubType: r.product_sub_type as CoreLoanContract['productSubType'],
    contractDate: r.contract_date as string,
    disbursementDates: [r.disbursement_date as string],
    settlementDate: opt(r.settlement_date as string | null),
    contractAmount: r.contract_amount as string,
    currency: r.currency as string,
    dueDate: opt(r.due_date as string | null),
    instalmentPeriodicity: r.periodicity as CoreLoanContract['instalmentPeriodicity'],
    firstInstalmentDueDate: opt(r.first_due as string | null),
    cet: r.cet as string,
    amortizationScheduled: r.amortization as CoreLoanContract['amortizationScheduled'],
    hasInsuranceContracted: r.has_insurance as boolean,
    interestRates: r.interest_rates as Array<Record<string, unknown>>,
    contractedFees: r.contracted_fees as Array<Record<string, unknown>>,
    contractedFinanceCharges: r.finance_charges as Array<Record<string, unknown>>,
    nextInstalmentAmount: opt(r.next_amount as string | null),
  }
}

const ACCOUNT_COLS = 'a.account_id, a.type, a.subtype, a.compe_code, a.branch_code, a.number, a.check_digit, a.currency, a.status'
const CARD_COLS = `c.card_account_id, c.name, c.product_type, c.network, c.status,
  coalesce((select json_agg(json_build_object('n', k.identification_number, 'm', k.is_multiple) order by k.identification_number) from card k where k.card_account_id = c.id), '[]') as cards`
const LOAN_COLS = `l.contract_id, l.status, l.contract_number, l.ipoc_code, l.product_name, l.product_sub_type, l.contract_date::text,
  l.disbursement_date::text, l.settlement_date::text, l.contract_amount::text, l.currency, l.due_date::text, l.periodicity, l.cet::text,
  l.amortization, l.has_insurance, l.interest_rates, l.contracted_fees, l.finance_charges,
  (select min(due_date)::text from loan_instalment i where i.contract_id = l.id) as first_due,
  (select amount::text from loan_instalment i where i.contract_id = l.id and i.paid_on is null order by number limit 1) as next_amount`
const CARD_TX_COLS = `t.id, t.identification_number, b.bill_id as bill_public_id, t.name, t.credit_debit, t.transaction_type, t.payment_type,
  t.fee_type, t.other_credits_type, t.charge_identificator, t.charge_number, t.amount::text, t.currency, t.brazilian_amount::text,
  t.transaction_at, t.bill_post_date::text, t.payee_mcc`

/** The Payments API form of an account (payment journey's debtor account): number with its check digit. */
const PAYMENT_ACCOUNT_TYPES: Record<string, 'CACC' | 'SVGS' | 'TRAN'> = { CONTA_DEPOSITO_A_VISTA: 'CACC', CONTA_POUPANCA: 'SVGS', CONTA_PAGAMENTO_PRE_PAGA: 'TRAN' }
function paymentAccount(a: Row, ispb: string): { paymentAccount?: NonNullable<SelectableResource['paymentAccount']> } {
  const accountType = PAYMENT_ACCOUNT_TYPES[a.type as string]
  const number = `${String(a.number ?? '')}${String(a.check_digit ?? '')}`
  const branch = a.branch_code === null || a.branch_code === undefined ? undefined : String(a.branch_code)
  if (!accountType || !/^[0-9]{1,20}$/.test(number)) return {}
  return { paymentAccount: { ispb, ...(branch && /^[0-9]{1,4}$/.test(branch) ? { issuer: branch } : {}), number, accountType } }
}

/** The account's approval policy, said only when payments from it need more than one approver. */
function approvers(a: Row): { approversRequired?: number } {
  const n = Number(a.approvers_required ?? 1)
  return n > 1 ? { approversRequired: n } : {}
}

/** The reference core bank on PostgreSQL (schema `core`, see `migrations/`); its Pix rail is `pg-pix.ts`. */
export function createPgCore(pool: Pool, options: { pix?: Partial<PgPixOptions> } = {}): CoreConnector {
  const q = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows as Row[]
  const total = (rows: Row[]) => (rows.length ? Number(rows[0]!.total) : 0)

  const ispb = options.pix?.ispb ?? DEFAULT_ISPB
  return {
    ...createPgPixRail(pool, { ispb: DEFAULT_ISPB, dailyLimit: '5000.00', settlementDelayMs: 2_000, ...options.pix }),

    async authenticateCustomer(cpf, password) {
      const rows = await q(`select c.id, c.cpf, c.name, k.password_hash from customer c join credential k on k.customer_id = c.id where c.kind = 'PF' and c.cpf = $1`, [cpf])
      const row = rows[0]
      // Unknown CPFs cost one scrypt too, so timing does not tell which CPFs exist.
      const ok = await verifyPassword(password, row ? (row.password_hash as string) : DECOY_HASH)
      if (!row || !ok) return undefined
      const businesses = await q(`select b.cnpj, b.name from representative r join customer b on b.id = r.business_id where r.person_id = $1 order by b.cnpj`, [row.id])
      return { cpf: row.cpf as string, name: row.name as string, businesses: businesses.map((b) => ({ cnpj: b.cnpj as string, name: b.name as string })) }
    },

    async selectableResources(owner) {
      const who = await q(`select ${OWNER} as id`, ownerParams(owner))
      const id = who[0]?.id
      if (id === null || id === undefined) return undefined
      const accounts = await q(`select account_id, type, branch_code, number, check_digit, approvers_required from account where owner_id = $1 and status <> 'UNAVAILABLE' order by id`, [id])
      const cards = await q(`select c.card_account_id, c.name, (select max(identification_number) from card k where k.card_account_id = c.id) as last from card_account c where c.owner_id = $1 and c.status <> 'UNAVAILABLE' order by c.id`, [id])
      const loans = await q(`select contract_id, product_name, contract_number from loan_contract where owner_id = $1 and status <> 'UNAVAILABLE' order by id`, [id])
      const out: SelectableResource[] = [
        ...accounts.map((a) => ({ type: 'ACCOUNT' as const, resourceId: a.account_id as string, label: ACCOUNT_LABELS[a.type as string] ?? 'Conta', maskedNumber: last4(a.number as string), ...paymentAccount(a, ispb), ...approvers(a) })),
        ...cards.map((c) => ({ type: 'CREDIT_CARD_ACCOUNT' as const, resourceId: c.card_account_id as string, label: c.name as string, maskedNumber: last4((c.last as string | null) ?? '0000') })),
        ...loans.map((l) => ({ type: 'LOAN' as const, resourceId: l.contract_id as string, label: l.product_name as string, maskedNumber: last4(l.contract_number as string) })),
      ]
      return out
    },

    async resourceStates(owner, resources: ConsentResource[]) {
      const ids = (type: string) => resources.filter((r) => r.type === type).map((r) => r.resourceId)
      const rows = await q(
        `select 'ACCOUNT' as type, account_id as id, status from account where owner_id = ${OWNER} and account_id = any($3::text[])
         union all select 'CREDIT_CARD_ACCOUNT', card_account_id, status from card_account where owner_id = ${OWNER} and card_account_id = any($4::text[])
         union all select 'LOAN', contract_id, status from loan_contract where owner_id = ${OWNER} and contract_id = any($5::text[])`,
        [...ownerParams(owner), ids('ACCOUNT'), ids('CREDIT_CARD_ACCOUNT'), ids('LOAN')],
      )
      return rows.map((r) => ({ type: r.type, resourceId: r.id, status: r.status }) as CoreResourceState)
    },

    async accounts(owner, ids, { type, offset, limit }) {
      const rows = await q(
        `select ${ACCOUNT_COLS}, count(*) over () as total from account a
         where a.owner_id = ${OWNER} and a.account_id = any($3::text[]) and ($4::text is null or a.type = $4) and a.status = 'AVAILABLE'
         order by a.id offset $5 limit $6`,
        [...ownerParams(owner), ids, type ?? null, offset, limit],
      )
      if (!rows.length && offset > 0) {
        const c = await q(`select count(*) as total from account a where a.owner_id = ${OWNER} and a.account_id = any($3::text[]) and ($4::text is null or a.type = $4) and a.status = 'AVAILABLE'`, [...ownerParams(owner), ids, type ?? null])
        return { items: [], total: total(c) }
      }
      return { items: rows.map(toAccount), total: total(rows) }
    },

    async account(owner, accountId) {
      const rows = await q(`select ${ACCOUNT_COLS} from account a where a.owner_id = ${OWNER} and a.account_id = $3`, [...ownerParams(owner), accountId])
      return rows[0] ? toAccount(rows[0]) : undefined
    },

    async balances(owner, accountId) {
      const rows = await q(
        `select a.currency, b.available::text, b.blocked::text, b.automatically_invested::text, b.updated_at
         from account a join balance b on b.account_id = a.id where a.owner_id = ${OWNER} and a.account_id = $3`,
        [...ownerParams(owner), accountId],
      )
      const r = rows[0]
      if (!r) return undefined
      return { currency: r.currency as string, available: r.available as string, blocked: r.blocked as string, automaticallyInvested: r.automatically_invested as string, updatedAt: isoSeconds(r.updated_at) }
    },

    async overdraftLimits(owner, accountId) {
      const rows = await q(
        `select a.currency, o.contracted::text, o.used::text, o.unarranged::text
         from account a left join overdraft_limit o on o.account_id = a.id where a.owner_id = ${OWNER} and a.account_id = $3`,
        [...ownerParams(owner), accountId],
      )
      const r = rows[0]
      if (!r) return undefined
      return { currency: r.currency as string, contracted: opt(r.contracted as string | null), used: opt(r.used as string | null), unarranged: opt(r.unarranged as string | null) }
    },

    async accountTransactions(owner, accountId, query) {
      const rows = await q(
        `select t.id, t.booked_at, t.status, t.credit_debit, t.name, t.type, t.amount::text, t.partie_document, t.partie_person_type,
           t.partie_compe_code, t.partie_branch_code, t.partie_number, t.partie_check_digit, t.partie_ispb
         from account_transaction t
         where t.account_id = (select a.id from account a where a.owner_id = ${OWNER} and a.account_id = $3)
           and t.booked_at >= ${dayStart(4)} and t.booked_at < ${dayEnd(5)} and ($6::text is null or t.credit_debit = $6)
         order by t.booked_at desc, t.id desc offset $7 limit $8`,
        [...ownerParams(owner), accountId, query.fromDate, query.toDate, query.creditDebit ?? null, query.offset, query.limit + 1],
      )
      return { items: rows.slice(0, query.limit).map(toTransaction), hasMore: rows.length > query.limit }
    },

    async cardAccounts(owner, ids, { offset, limit }) {
      const where = `c.owner_id = ${OWNER} and c.card_account_id = any($3::text[]) and c.status = 'AVAILABLE'`
      const rows = await q(`select ${CARD_COLS}, count(*) over () as total from card_account c where ${where} order by c.id offset $4 limit $5`, [...ownerParams(owner), ids, offset, limit])
      if (!rows.length && offset > 0) return { items: [], total: total(await q(`select count(*) as total from card_account c where ${where}`, [...ownerParams(owner), ids])) }
      return { items: rows.map(toCardAccount), total: total(rows) }
    },

    async cardAccount(owner, cardAccountId) {
      const rows = await q(`select ${CARD_COLS} from card_account c where c.owner_id = ${OWNER} and c.card_account_id = $3`, [...ownerParams(owner), cardAccountId])
      return rows[0] ? toCardAccount(rows[0]) : undefined
    },

    async cardLimits(owner, cardAccountId) {
      const rows = await q(
        `select l.* , l.limit_amount::text as limit_text, l.used_amount::text as used_text from card_limit l join card_account c on c.id = l.card_account_id
         where c.owner_id = ${OWNER} and c.card_account_id = $3 order by l.position`,
        [...ownerParams(owner), cardAccountId],
      )
      return rows.map((r): CoreCardLimit => {
        const limit = r.limit_text as string | null
        const used = r.used_text as string
        return {
          creditLineLimitType: r.line_limit_type as CoreCardLimit['creditLineLimitType'],
          consolidationType: r.consolidation_type as CoreCardLimit['consolidationType'],
          identificationNumber: r.identification_number as string,
          lineName: opt(r.line_name as CoreCardLimit['lineName'] | null),
          isLimitFlexible: r.is_flexible as boolean,
          currency: 'BRL',
          limitAmount: opt(limit),
          usedAmount: used,
          availableAmount: limit === null ? undefined : (Number(limit) - Number(used)).toFixed(2),
        }
      })
    },

    async bills(owner, cardAccountId, { fromDueDate, toDueDate, offset, limit }) {
      const where = `b.card_account_id = (select c.id from card_account c where c.owner_id = ${OWNER} and c.card_account_id = $3)
        and ($4::date is null or b.due_date >= $4) and ($5::date is null or b.due_date <= $5)`
      const params = [...ownerParams(owner), cardAccountId, fromDueDate ?? null, toDueDate ?? null]
      const cols = `b.bill_id, b.due_date::text, b.closing_date::text, b.total_amount::text, b.minimum_amount::text, b.is_instalment, b.finance_charges, b.payments`
      const rows = await q(`select ${cols}, count(*) over () as total from bill b where ${where} order by b.due_date desc, b.id desc offset $6 limit $7`, [...params, offset, limit])
      if (!rows.length && offset > 0) return { items: [], total: total(await q(`select count(*) as total from bill b where ${where}`, params)) }
      return { items: rows.map(toBill), total: total(rows) }
    },

    async bill(owner, cardAccountId, billId) {
      const rows = await q(
        `select b.bill_id, b.due_date::text, b.closing_date::text, b.total_amount::text, b.minimum_amount::text, b.is_instalment, b.finance_charges, b.payments
         from bill b join card_account c on c.id = b.card_account_id where c.owner_id = ${OWNER} and c.card_account_id = $3 and b.bill_id = $4`,
        [...ownerParams(owner), cardAccountId, billId],
      )
      return rows[0] ? toBill(rows[0]) : undefined
    },

    async cardTransactions(owner, cardAccountId, query) {
      const rows = await q(
        `select ${CARD_TX_COLS} from card_transaction t left join bill b on b.id = t.bill_id
         where t.card_account_id = (select c.id from card_account c where c.owner_id = ${OWNER} and c.card_account_id = $3)
           and t.transaction_at >= ${dayStart(4)} and t.transaction_at < ${dayEnd(5)}
           and ($6::text is null or t.transaction_type = $6) and ($7::int is null or t.payee_mcc = $7)
         order by t.transaction_at desc, t.id desc offset $8 limit $9`,
        [...ownerParams(owner), cardAccountId, query.fromDate, query.toDate, query.transactionType ?? null, query.payeeMCC ?? null, query.offset, query.limit + 1],
      )
      return { items: rows.slice(0, query.limit).map(toCardTransaction), hasMore: rows.length > query.limit }
    },

    async billTransactions(owner, cardAccountId, billId, query) {
      const where = `t.bill_id = (select b.id from bill b join card_account c on c.id = b.card_account_id where c.owner_id = ${OWNER} and c.card_account_id = $3 and b.bill_id = $4)
        and ($5::date is null or t.transaction_at >= ${dayStart(5)}) and ($6::date is null or t.transaction_at < ${dayEnd(6)})
        and ($7::text is null or t.transaction_type = $7) and ($8::int is null or t.payee_mcc = $8)`
      const params = [...ownerParams(owner), cardAccountId, billId, query.fromDate ?? null, query.toDate ?? null, query.transactionType ?? null, query.payeeMCC ?? null]
      const rows = await q(`select ${CARD_TX_COLS}, count(*) over () as total from card_transaction t left join bill b on b.id = t.bill_id where ${where} order by t.transaction_at desc, t.id desc offset $9 limit $10`, [...params, query.offset, query.limit])
      if (!rows.length && query.offset > 0) return { items: [], total: total(await q(`select count(*) as total from card_transaction t where ${where}`, params)) }
      return { items: rows.map(toCardTransaction), total: total(rows) }
    },

    async registration(owner) {
      const rows = await q(`select identification, qualification, financial_relations, updated_at from customer where id = ${OWNER}`, ownerParams(owner))
      const r = rows[0]
      if (!r) return undefined
      return {
        identification: r.identification as Record<string, unknown>,
        qualification: r.qualification as Record<string, unknown>,
        financialRelations: r.financial_relations as Record<string, unknown>,
        updatedAt: isoSeconds(r.updated_at),
      }
    },

    async loanContracts(owner, ids, { offset, limit }) {
      const where = `l.owner_id = ${OWNER} and l.contract_id = any($3::text[]) and l.status = 'AVAILABLE'`
      const rows = await q(`select ${LOAN_COLS}, count(*) over () as total from loan_contract l where ${where} order by l.id offset $4 limit $5`, [...ownerParams(owner), ids, offset, limit])
      if (!rows.length && offset > 0) return { items: [], total: total(await q(`select count(*) as total from loan_contract l where ${where}`, [...ownerParams(owner), ids])) }
      return { items: rows.map(toLoan), total: total(rows) }
    },

    async loanContract(owner, contractId) {
      const rows = await q(`select ${LOAN_COLS} from loan_contract l where l.owner_id = ${OWNER} and l.contract_id = $3`, [...ownerParams(owner), contractId])
      return rows[0] ? toLoan(rows[0]) : undefined
    },

    async warranties(owner, contractId, { offset, limit }) {
      const where = `w.contract_id = (select l.id from loan_contract l where l.owner_id = ${OWNER} and l.contract_id = $3)`
      const rows = await q(`select w.warranty_type, w.warranty_sub_type, w.amount::text, w.currency, count(*) over () as total from loan_warranty w where ${where} order by w.position offset $4 limit $5`, [...ownerParams(owner), contractId, offset, limit])
      if (!rows.length && offset > 0) return { items: [], total: total(await q(`select count(*) as total from loan_warranty w where ${where}`, [...ownerParams(owner), contractId])) }
      return { items: rows.map((r) => ({ currency: r.currency as string, warrantyType: r.warranty_type as string, warrantySubType: r.warranty_sub_type as string, amount: r.amount as string })), total: total(rows) }
    },

    async instalments(owner, contractId) {
      const rows = await q(
        `select count(i.number)::int as total_n,
           count(i.number) filter (where i.paid_on is not null)::int as paid,
           count(i.number) filter (where i.paid_on is null and i.due_date >= (now() at time zone 'America/Sao_Paulo')::date)::int as due,
           count(i.number) filter (where i.paid_on is null and i.due_date < (now() at time zone 'America/Sao_Paulo')::date)::int as past_due,
           count(i.number) filter (where i.due_date >= (now() at time zone 'America/Sao_Paulo')::date)::int as remaining
         from loan_contract l left join loan_instalment i on i.contract_id = l.id
         where l.owner_id = ${OWNER} and l.contract_id = $3 group by l.id`,
        [...ownerParams(owner), contractId],
      )
      const r = rows[0]
      if (!r) return undefined
      return { totalNumberOfInstalments: r.total_n as number, contractRemainingMonths: r.remaining as number, paidInstalments: r.paid as number, dueInstalments: r.due as number, pastDueInstalments: r.past_due as number }
    },

    async loanPayments(owner, contractId) {
      const head = await q(
        `select l.id, l.currency,
           coalesce((select sum(amount) from loan_instalment i where i.contract_id = l.id and i.paid_on is null), 0)::numeric(17,2)::text as remaining,
           (select count(*) from loan_instalment i where i.contract_id = l.id and i.paid_on is not null)::int as paid
         from loan_contract l where l.owner_id = ${OWNER} and l.contract_id = $3`,
        [...ownerParams(owner), contractId],
      )
      const h = head[0]
      if (!h) return undefined
      const rows = await q(
        `select p.payment_id, p.is_over_parcel, i.instalment_id, p.paid_on::text, p.amount::text from loan_payment p
         left join loan_instalment i on i.contract_id = p.contract_id and i.number = p.instalment_number where p.contract_id = $1 order by p.paid_on, p.payment_id`,
        [h.id],
      )
      return {
        paidInstalments: h.paid as number,
        contractOutstandingBalance: h.remaining as string,
        totalRemainingAmount: h.remaining as string,
        releases: rows.map((r) => ({
          paymentId: r.payment_id as string,
          isOverParcelPayment: r.is_over_parcel as boolean,
          instalmentId: opt(r.instalment_id as string | null),
          paidDate: r.paid_on as string,
          currency: h.currency as string,
          paidAmount: r.amount as string,
        })),
      }
    },

    async channels(kind, { offset, limit }) {
      const rows = await q(`select document, count(*) over () as total from channel where kind = $1 order by position offset $2 limit $3`, [kind, offset, limit])
      if (!rows.length && offset > 0) return { items: [], total: total(await q(`select count(*) as total from channel where kind = $1`, [kind])) }
      return { items: rows.map((r) => r.document as Record<string, unknown>), total: total(rows) }
    },

    async accountOffers(segment, { offset, limit }) {
      const rows = await q(`select document, count(*) over () as total from account_offer where segment = $1 order by position offset $2 limit $3`, [segment, offset, limit])
      if (!rows.length && offset > 0) return { items: [], total: total(await q(`select count(*) as total from account_offer where segment = $1`, [segment])) }
      return { items: rows.map((r) => r.document as Record<string, unknown>), total: total(rows) }
    },
  }
}
