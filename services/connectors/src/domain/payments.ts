import { createHash } from 'node:crypto'
import type { CorePixKeyType, InternalPaymentConsent, PaymentsApiVersion, PixPaymentStatus } from '@ponte/contracts'
import { addDays, addMonths, brasiliaToday } from './dates.ts'
import { pixKeyHasType } from './pix.ts'

/**
 * The pure rules of Pix payment initiation (Payments v4 and v5, docs/regulation/payments.md): what a payment must
 * match in its consent, the local-instrument rules, the schedule's dates, the status machine and cancellation.
 */

/** What differs between the served versions, in one place. Everything else is shared. */
export const VERSION_RULES: Record<PaymentsApiVersion, { version: string; localInstruments: readonly string[]; cancelAllStatus: 200 | 202; rejectionCodes: readonly string[] }> = {
  // docs/regulation/payments.md#payment-endpoints-v4
  v4: {
    version: '4.0.1',
    localInstruments: ['MANU', 'DICT', 'QRDN', 'QRES', 'INIC'],
    cancelAllStatus: 200,
    rejectionCodes: [],
  },
  // docs/regulation/payments.md#payment-endpoints-v5
  v5: {
    version: '5.0.0',
    localInstruments: ['MANU', 'DICT', 'QRDN', 'QRES', 'INIC', 'APES', 'APDN'],
    cancelAllStatus: 202,
    rejectionCodes: ['CHAVE_PIX_DIVERGENTE_AGENDAMENTO_LIQUIDACAO', 'CONTA_NAO_PERMITE_PAGAMENTO', 'QRCODE_INVALIDO'],
  },
}

/** One item of `POST /pix/payments` `data` (already shaped by the route's schema). */
export interface PaymentItem {
  endToEndId: string
  localInstrument: string
  payment: { amount: string; currency: string }
  creditorAccount: { ispb: string; issuer?: string; number: string; accountType: string }
  remittanceInformation?: string
  qrCode?: string
  proxy?: string
  cnpjInitiator: string
  transactionIdentification?: string
  ibgeTownCode?: string
  authorisationFlow?: string
  consentId?: string
}

/** A refusal of `POST /pix/payments`: the 422 code, and whether it consumes the consent (a synchronous DICT failure). */
export interface PaymentRefusal {
  code: 'CONSENTIMENTO_INVALIDO' | 'CONSENTIMENTO_PENDENTE_AUTORIZACAO' | 'PAGAMENTO_DIVERGENTE_CONSENTIMENTO' | 'DETALHE_PAGAMENTO_INVALIDO' | 'PARAMETRO_INVALIDO' | 'PARAMETRO_NAO_INFORMADO' | 'ERRO_IDEMPOTENCIA'
  title: string
  detail: string
  consumesConsent?: boolean
}

const TITLES: Record<PaymentRefusal['code'], string> = {
  CONSENTIMENTO_INVALIDO: 'Consentimento inválido.',
  CONSENTIMENTO_PENDENTE_AUTORIZACAO: 'Consentimento pendente de autorização.',
  PAGAMENTO_DIVERGENTE_CONSENTIMENTO: 'Divergência entre pagamento e consentimento.',
  DETALHE_PAGAMENTO_INVALIDO: 'Detalhe do pagamento inválido.',
  PARAMETRO_INVALIDO: 'Parâmetro inválido.',
  PARAMETRO_NAO_INFORMADO: 'Parâmetro não informado.',
  ERRO_IDEMPOTENCIA: 'Erro idempotência.',
}

export function refusal(code: PaymentRefusal['code'], detail: string, consumesConsent = false): PaymentRefusal {
  return { code, title: TITLES[code], detail, consumesConsent }
}

/** SHA-256 of the canonical JSON of `value` (object keys sorted): "same data" for idempotency. */
export function requestHash(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex')
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

const WEEKDAYS = ['DOMINGO', 'SEGUNDA_FEIRA', 'TERCA_FEIRA', 'QUARTA_FEIRA', 'QUINTA_FEIRA', 'SEXTA_FEIRA', 'SABADO']

/**
 * The Brasília dates the consent pays on: its `date`, or every occurrence of its `schedule`
 * (docs/regulation/payments.md#payment-consent-body). `undefined` when the consent's payment names neither.
 */
export function consentDates(payment: Record<string, unknown>): string[] | undefined {
  if (typeof payment.date === 'string') return [payment.date]
  const s = payment.schedule as Record<string, Record<string, unknown>> | undefined
  if (!s) return undefined
  if (s.single) return [String(s.single.date)]
  if (s.daily) return Array.from({ length: Number(s.daily.quantity) }, (_, i) => addDays(String(s.daily!.startDate), i))
  if (s.weekly) {
    let first = String(s.weekly.startDate)
    const target = WEEKDAYS.indexOf(String(s.weekly.dayOfWeek))
    while (new Date(`${first}T00:00:00Z`).getUTCDay() !== target) first = addDays(first, 1)
    return Array.from({ length: Number(s.weekly.quantity) }, (_, i) => addDays(first, 7 * i))
  }
  if (s.monthly) {
    const start = String(s.monthly.startDate)
    const day = Number(s.monthly.dayOfMonth)
    const at = (months: number) => {
      const base = addMonths(`${start.slice(0, 8)}01`, months)
      const last = new Date(Date.UTC(Number(base.slice(0, 4)), Number(base.slice(5, 7)), 0)).getUTCDate()
      return `${base.slice(0, 8)}${String(Math.min(day, last)).padStart(2, '0')}`
    }
    const offset = at(0) >= start ? 0 : 1
    return Array.from({ length: Number(s.monthly.quantity) }, (_, i) => at(i + offset))
  }
  if (s.custom) return [...(s.custom.dates as string[])].sort()
  return undefined
}

/** The UTC date `yyyy-MM-dd` written in an end-to-end id (`E` + ISPB + `yyyyMMddHHmm` + 11). */
export function endToEndDate(endToEndId: string): string {
  return `${endToEndId.slice(9, 13)}-${endToEndId.slice(13, 15)}-${endToEndId.slice(15, 17)}`
}

/** The Pix key type of a proxy, from its format (the DICT's formats do not overlap). */
export function proxyKeyType(proxy: string): CorePixKeyType | undefined {
  return (['CPF', 'CNPJ', 'PHONE', 'EMAIL', 'EVP'] as const).find((t) => pixKeyHasType(proxy, t))
}

const stripZeros = (n: string | undefined) => (n ?? '').replace(/^0+(?=\d)/, '')

/** Whether two accounts are the same (issuer and number compare without leading zeros). */
export function sameAccount(a: PaymentItem['creditorAccount'], b: Record<string, unknown> | undefined): boolean {
  if (!b) return false
  return a.ispb === b.ispb && stripZeros(a.issuer) === stripZeros(b.issuer as string | undefined) && stripZeros(a.number) === stripZeros(b.number as string)
    && a.accountType === b.accountType
}

/** Local-instrument rules of one item (docs/regulation/payments.md#local-instruments): `DETALHE_PAGAMENTO_INVALIDO`. */
export function checkLocalInstrument(item: PaymentItem, version: PaymentsApiVersion): PaymentRefusal | undefined {
  const li = item.localInstrument
  const bad = (detail: string) => refusal('DETALHE_PAGAMENTO_INVALIDO', detail)
  if (!VERSION_RULES[version].localInstruments.includes(li)) return bad(`localInstrument ${li} não é aceito nesta versão.`)
  if (li === 'MANU' && item.proxy !== undefined) return bad('Parâmetro proxy não deve ser preenchido quando localInstrument é MANU.')
  if (li !== 'MANU' && item.proxy === undefined) return bad(`Parâmetro proxy é obrigatório quando localInstrument é ${li}.`)
  if ((li === 'QRDN' || li === 'QRES') && item.qrCode === undefined) return bad(`Parâmetro qrCode é obrigatório quando localInstrument é ${li}.`)
  if ((li === 'MANU' || li === 'DICT') && item.qrCode !== undefined) return bad(`Parâmetro qrCode não deve ser preenchido quando localInstrument é ${li}.`)
  if ((li === 'MANU' || li === 'DICT') && item.transactionIdentification !== undefined) return bad(`Parâmetro transactionIdentification não deve ser preenchido quando localInstrument é ${li}.`)
  if (li === 'INIC' && (item.transactionIdentification === undefined || item.transactionIdentification.length > 25)) {
    return bad('Parâmetro transactionIdentification é obrigatório (até 25 caracteres) quando localInstrument é INIC.')
  }
  if (li === 'QRDN' && (item.transactionIdentification === undefined || item.transactionIdentification.length < 26)) {
    return bad('Parâmetro transactionIdentification deve ter de 26 a 35 caracteres quando localInstrument é QRDN.')
  }
  if (item.proxy !== undefined && !proxyKeyType(item.proxy)) return bad('Parâmetro proxy não está no formato de uma chave Pix.')
  if (item.qrCode !== undefined && (li === 'QRES' || li === 'QRDN')) {
    const qr = parseBrCode(item.qrCode)
    if (!qr) return bad('Parâmetro qrCode não é um BR Code Pix válido (formato ou CRC).')
    if (li === 'QRES' && qr.key !== item.proxy) return bad('A chave Pix do qrCode difere do proxy.')
    if (li === 'QRDN' && !qr.url) return bad('O qrCode não é de um QR Code dinâmico (sem URL de cobrança).')
    if (qr.amount !== undefined && qr.amount !== item.payment.amount) return bad('O valor do qrCode difere do valor do pagamento.')
  }
  if ((item.creditorAccount.accountType === 'CACC' || item.creditorAccount.accountType === 'SVGS') && item.creditorAccount.issuer === undefined) {
    return bad('Parâmetro creditorAccount.issuer é obrigatório para contas CACC e SVGS.')
  }
  return undefined
}

/** The consent may be used now: AUTHORISED and within its window (docs/regulation/payments.md#payment-consent-expiry). */
export function checkConsentUsable(consent: InternalPaymentConsent, now: Date): PaymentRefusal | undefined {
  if (consent.status === 'PARTIALLY_ACCEPTED') return refusal('CONSENTIMENTO_PENDENTE_AUTORIZACAO', 'Consentimento aguarda a autorização de múltiplas alçadas.')
  if (consent.status !== 'AUTHORISED') return refusal('CONSENTIMENTO_INVALIDO', `Consentimento em status ${consent.status}.`)
  if (new Date(consent.expirationDateTime).getTime() <= now.getTime()) return refusal('CONSENTIMENTO_INVALIDO', 'Consentimento expirado para consumo.')
  if (!consent.authorisedDebtorAccount || !consent.authorisedBy) return refusal('CONSENTIMENTO_INVALIDO', 'Consentimento sem conta de débito autorizada.')
  return undefined
}

/**
 * Matches the items of a `POST /pix/payments` against the consent (docs/regulation/payments.md#payment-errors) and
 * answers the Brasília date each item is paid on. An item's date is the one its end-to-end id carries; the items
 * must cover the consent's dates exactly, one each.
 */
export function matchConsent(items: PaymentItem[], consent: InternalPaymentConsent, version: PaymentsApiVersion, now: Date): { dates: string[] } | PaymentRefusal {
  const diverges = (detail: string) => refusal('PAGAMENTO_DIVERGENTE_CONSENTIMENTO', detail)
  const p = consent.payment
  const details = (p.details ?? {}) as Record<string, unknown>
  const dates = consentDates(p)
  if (!dates) return diverges('O consentimento não define a data do pagamento.')
  if (items.length !== dates.length) return diverges(`O consentimento prevê ${dates.length} pagamento(s); foram enviados ${items.length}.`)
  const today = brasiliaToday(now)
  const utcToday = now.toISOString().slice(0, 10)
  const e2eIds = new Set<string>()
  const assigned: string[] = []
  const remaining = [...dates]
  for (const item of items) {
    if (e2eIds.has(item.endToEndId)) return refusal('PARAMETRO_INVALIDO', 'endToEndId repetido na requisição.')
    e2eIds.add(item.endToEndId)
    if (item.consentId !== undefined && item.consentId !== consent.consentId) return diverges('consentId diverge do consentimento do token.')
    if (item.payment.amount !== p.amount) return diverges('O valor do pagamento diverge do consentimento.')
    if (item.payment.currency !== p.currency) return diverges('A moeda do pagamento diverge do consentimento.')
    if (item.localInstrument !== details.localInstrument) return diverges('localInstrument diverge do consentimento.')
    if (!sameAccount(item.creditorAccount, details.creditorAccount as Record<string, unknown> | undefined)) return diverges('creditorAccount diverge do consentimento.')
    if ((item.proxy ?? null) !== (details.proxy ?? null)) return diverges('proxy diverge do consentimento.')
    if ((item.qrCode ?? null) !== (details.qrCode ?? null)) return diverges('qrCode diverge do consentimento.')
    if (item.ibgeTownCode !== undefined && p.ibgeTownCode !== undefined && item.ibgeTownCode !== p.ibgeTownCode) return diverges('ibgeTownCode diverge do consentimento.')
    const li = checkLocalInstrument(item, version)
    if (li) return li
    // The end-to-end id carries the UTC date and time of the payment: an immediate payment of today (Brasília) may
    // carry today's UTC date (after 21:00 in Brasília it is already the next day in UTC).
    const e2eDate = endToEndDate(item.endToEndId)
    let date = remaining.find((d) => d === e2eDate)
    if (!date && remaining.includes(today) && e2eDate === utcToday) date = today
    if (!date) return diverges(`A data do endToEndId ${item.endToEndId} não corresponde a nenhuma data pendente do consentimento.`)
    if (date < today) return diverges(`A data ${date} do consentimento já passou.`)
    remaining.splice(remaining.indexOf(date), 1)
    assigned.push(date)
  }
  return { dates: assigned }
}

/** Statuses a payment can leave only by cancellation or the scheduler. */
export const OPEN_STATUSES: readonly PixPaymentStatus[] = ['RCVD', 'ACCP', 'PDNG', 'SCHD', 'ACPD']

/** The status machine (docs/regulation/payments.md#payment-statuses). */
const NEXT: Record<PixPaymentStatus, readonly PixPaymentStatus[]> = {
  RCVD: ['ACCP', 'RJCT', 'SCHD', 'PDNG'],
  SCHD: ['ACCP', 'CANC', 'RJCT'],
  PDNG: ['ACCP', 'CANC', 'RJCT'],
  // ACCP → PDNG: Ponte's checks passed, then the core held the debit for analysis.
  ACCP: ['ACPD', 'RJCT', 'PDNG'],
  ACPD: ['ACSC', 'RJCT'],
  ACSC: [],
  RJCT: [],
  CANC: [],
}

export function canMove(from: PixPaymentStatus, to: PixPaymentStatus): boolean {
  return NEXT[from].includes(to)
}

/**
 * Whether the payment can be cancelled now (docs/regulation/payments.md#payment-cancellation): from PDNG, or from SCHD
 * up to 23:59 Brasília of the day before its date. Answers the cancellation reason.
 */
export function cancellationReason(p: { status: PixPaymentStatus; paymentDate: string }, now: Date): 'CANCELADO_PENDENCIA' | 'CANCELADO_AGENDAMENTO' | undefined {
  if (p.status === 'PDNG') return 'CANCELADO_PENDENCIA'
  if (p.status === 'SCHD' && p.paymentDate > brasiliaToday(now)) return 'CANCELADO_AGENDAMENTO'
  return undefined
}

/** The payment status a core Pix status maps to (the core's codes follow the Payments API: docs/decisions/connectors-pix-rail.md). */
export function fromCoreStatus(s: 'HELD' | 'PENDING' | 'SETTLED' | 'REJECTED' | 'CANCELLED'): PixPaymentStatus {
  return ({ HELD: 'PDNG', PENDING: 'ACPD', SETTLED: 'ACSC', REJECTED: 'RJCT', CANCELLED: 'CANC' } as const)[s]
}

/** CRC16/CCITT-FALSE (poly 0x1021, init 0xFFFF): the BR Code's checksum (EMV tag 63). */
function crc16(text: string): string {
  let crc = 0xffff
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc.toString(16).toUpperCase().padStart(4, '0')
}

function tlv(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>()
  let i = 0
  while (i < text.length) {
    const id = text.slice(i, i + 2)
    const len = Number(text.slice(i + 2, i + 4))
    if (!/^\d{2}$/.test(id) || !/^\d{2}$/.test(text.slice(i + 2, i + 4)) || i + 4 + len > text.length) return undefined
    out.set(id, text.slice(i + 4, i + 4 + len))
    i += 4 + len
  }
  return out
}

/**
 * Reads a Pix BR Code (EMV QR, "Pix Copia e Cola"): its Pix key (static), charge URL (dynamic) and amount. `undefined`
 * when it is not one: bad TLV structure, no `br.gov.bcb.pix` account information, or a wrong CRC.
 */
export function parseBrCode(code: string): { key?: string; url?: string; amount?: string } | undefined {
  const top = tlv(code)
  if (!top || top.get('00') !== '01') return undefined
  const crc = top.get('63')
  if (!crc || !code.endsWith(`6304${crc}`) || crc16(code.slice(0, -4)) !== crc.toUpperCase()) return undefined
  for (let id = 26; id <= 51; id++) {
    const info = tlv(top.get(String(id)) ?? '')
    if (info?.get('00')?.toLowerCase() !== 'br.gov.bcb.pix') continue
    const amount = top.get('54')
    const out: { key?: string; url?: string; amount?: string } = {}
    if (info.get('01')) out.key = info.get('01')!
    if (info.get('25')) out.url = info.get('25')!
    if (amount !== undefined) out.amount = /^\d+\.\d{2}$/.test(amount) ? amount : Number(amount).toFixed(2)
    return out
  }
  return undefined
}
