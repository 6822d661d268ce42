import type { CorePixKeyType, CorePixRejectionCode } from '@ponte/contracts'
import { brasiliaToday, addDays } from './dates.ts'

/**
 * The pure rules of the reference core's Pix rail: key formats, the debit decision (balance, daily limit) and the
 * settlement outcome. Amounts are handled as integer cents (bigint), never as floating point.
 */

/** ISPB of the reference core bank unless configured otherwise (`PIX_ISPB`); the demo bank's Pix keys point at it. */
export const DEFAULT_ISPB = '99999001'

const KEY_FORMATS: Record<CorePixKeyType, RegExp> = {
  CPF: /^[0-9]{11}$/,
  CNPJ: /^[0-9A-Z]{12}[0-9]{2}$/,
  // The DICT's formats: e-mail in lower case; phone in E.164 (`+5561988887777`).
  PHONE: /^\+[1-9][0-9]{1,14}$/,
  EMAIL: /^[a-z0-9.!#$&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/,
  EVP: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
}

/** Whether `key` is written as a key of `keyType` (the formats do not overlap, so a key has at most one type). */
export function pixKeyHasType(key: string, keyType: CorePixKeyType): boolean {
  if (keyType === 'EMAIL' && key.length > 77) return false
  return KEY_FORMATS[keyType].test(key)
}

/** `"12.34"` → `1234n`. */
export function toCents(amount: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(amount)
  if (!m) throw new Error(`not an amount: ${amount}`)
  const cents = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '0').padEnd(2, '0'))
  return m[1] ? -cents : cents
}

/** `1234n` → `"12.34"`. */
export function fromCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : ''
  const abs = cents < 0n ? -cents : cents
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
}

/** The Brasília calendar day of `now` as an instant window [start, end). */
export function brasiliaDay(now: Date): { day: string; start: Date; end: Date } {
  const day = brasiliaToday(now)
  return { day, start: new Date(`${day}T00:00:00.000-03:00`), end: new Date(`${addDays(day, 1)}T00:00:00.000-03:00`) }
}

/** What a debit is checked against, read under lock. */
export interface DebitFacts {
  amount: string
  /** The debtor account's available balance. */
  available: string
  /** Pix debits of the customer today (Brasília day) that still count: pending or settled. */
  spentToday: string
  /** The customer's daily Pix limit. */
  dailyLimit: string
  /** The creditor account is the debtor account itself. */
  sameAccount: boolean
}

/** Refusal of a debit or of a settlement. */
export interface PixRefusal { code: CorePixRejectionCode; detail: string }

/** Whether the core debits the account; the refusal otherwise (nothing is debited). */
export function decideDebit(f: DebitFacts): { ok: true } | ({ ok: false } & PixRefusal) {
  const amount = toCents(f.amount)
  if (f.sameAccount) return { ok: false, code: 'CONTAS_ORIGEM_DESTINO_IGUAIS', detail: 'A conta de origem e a conta de destino são iguais.' }
  if (toCents(f.spentToday) + amount > toCents(f.dailyLimit)) {
    return { ok: false, code: 'VALOR_ACIMA_LIMITE', detail: `O valor ultrapassa o limite diário de Pix do cliente (R$ ${f.dailyLimit}; já utilizado hoje: R$ ${f.spentToday}).` }
  }
  if (amount > toCents(f.available)) return { ok: false, code: 'SALDO_INSUFICIENTE', detail: 'A conta selecionada não possui saldo suficiente para realizar o pagamento.' }
  return { ok: true }
}

/** How settlement is made to fail (configuration and the documented per-payment hook). */
export interface SettlementRules {
  /** Reject every settlement (an arrangement outage). */
  rejectAll: boolean
  /** Settlements to this creditor account number are rejected (test hook). */
  rejectedCreditorAccount: string
}

/**
 * Whether the reference core holds a debit for analysis (Payments API PDNG, docs/regulation/payments.md#payment-statuses):
 * amounts at or above the threshold, when one is set.
 */
export function heldForAnalysis(amount: string, threshold: string | undefined): boolean {
  return threshold !== undefined && toCents(amount) >= toCents(threshold)
}

/** The outcome of settling a pending payment; `creditorFound` is false for an account of this bank that does not exist. */
export function settlementOutcome(p: { creditorNumber: string; creditorInBank: boolean; creditorFound: boolean }, rules: SettlementRules): { status: 'SETTLED' } | ({ status: 'REJECTED' } & PixRefusal) {
  if (rules.rejectAll) return { status: 'REJECTED', code: 'PAGAMENTO_RECUSADO_SPI', detail: 'Liquidação recusada pelo arranjo Pix (recusa configurada no núcleo de referência).' }
  if (stripZeros(p.creditorNumber) === stripZeros(rules.rejectedCreditorAccount)) {
    return { status: 'REJECTED', code: 'PAGAMENTO_RECUSADO_SPI', detail: 'AC03: conta do recebedor inválida.' }
  }
  if (p.creditorInBank && !p.creditorFound) return { status: 'REJECTED', code: 'PAGAMENTO_RECUSADO_SPI', detail: 'AC03: conta do recebedor inexistente.' }
  return { status: 'SETTLED' }
}

/** Account numbers compare without leading zeros (`00099887` = `99887`). */
export function stripZeros(n: string): string {
  return n.replace(/^0+(?=\d)/, '')
}
