import { createHash } from 'node:crypto'
import { z } from 'zod'
import { DomainError } from '@ponte/platform'
import type { LocalInstrument, PaymentsApiVersion } from '@ponte/contracts'
import type { PaymentConsentRequest } from './consent.ts'

/**
 * The body rules of `POST /open-banking/payments/{v4|v5}/consents` (docs/regulation/payments.md#payment-consent-body,
 * #local-instruments, #schedule-limits, #validation-order): a pure function of the request's `data`, the version and
 * the time. Syntax problems are 422 `PARAMETRO_NAO_INFORMADO` / `PARAMETRO_INVALIDO` (the spec's 1.3.1), business rules
 * 422 with the spec's semantic codes (1.3.2). A body that is not `{"data": {…}}` at all is a 400.
 */

/** What differs between the served versions of the Payments API, in one place. */
export interface PaymentsVersion {
  /** The `x-v` answered. */
  xV: string
  /** The official OpenAPI file in specs/ofb/. */
  specFile: string
  localInstruments: readonly LocalInstrument[]
  /** Instruments paid from a QR code (qrCode required). */
  qrInstruments: readonly LocalInstrument[]
  /** Instruments of a dynamic QR code whose `payloadJWS` must be forwarded (v5). */
  payloadJwsInstruments: readonly LocalInstrument[]
  /** `businessEntity.document.identification` (v5 accepts the alphanumeric CNPJ). */
  cnpj: RegExp
  /** `ispb` of accounts (v5 accepts alphanumeric ISPBs). */
  ispb: RegExp
  /** v5 requires `payment.purpose` and checks it against date/schedule (`PROPOSITO_INVALIDO`). */
  purpose: boolean
  /** Where the schedule's free text is required: in `custom` (v4) or on every schedule (v5). */
  scheduleInformation: 'custom' | 'schedule'
}

export const PAYMENTS_VERSIONS: Record<PaymentsApiVersion, PaymentsVersion> = {
  v4: {
    xV: '4.0.1',
    specFile: 'payments-v4.0.1.yaml',
    localInstruments: ['MANU', 'DICT', 'QRDN', 'QRES', 'INIC'],
    qrInstruments: ['QRDN', 'QRES'],
    payloadJwsInstruments: [],
    cnpj: /^\d{14}$/,
    ispb: /^[0-9]{8}$/,
    purpose: false,
    scheduleInformation: 'custom',
  },
  v5: {
    xV: '5.0.0',
    specFile: 'payments-v5.0.0.yaml',
    localInstruments: ['MANU', 'DICT', 'QRDN', 'QRES', 'INIC', 'APES', 'APDN'],
    qrInstruments: ['QRDN', 'QRES', 'APES', 'APDN'],
    payloadJwsInstruments: ['QRDN', 'APDN'],
    cnpj: /^[0-9A-Z]{12}[0-9]{2}$/,
    ispb: /^[0-9A-Z]{8}$/,
    purpose: true,
    scheduleInformation: 'schedule',
  },
}

/** Recurring schedules allow only these instruments (`EnumLocalInstrument` [Restrição]). */
const RECURRING_INSTRUMENTS: readonly string[] = ['MANU', 'DICT', 'QRES']
/** At most 60 payments (docs/regulation/payments.md#schedule-limits). */
export const MAX_PAYMENTS = 60
/** Over at most two years: the last date at most D+730 (Brasília). */
export const MAX_SCHEDULE_DAYS = 730

export type ConsentErrorCode =
  | 'FORMA_PAGAMENTO_INVALIDA' | 'DATA_PAGAMENTO_INVALIDA' | 'DETALHE_PAGAMENTO_INVALIDO' | 'PARAMETRO_NAO_INFORMADO'
  | 'PARAMETRO_INVALIDO' | 'ERRO_IDEMPOTENCIA' | 'NAO_INFORMADO' | 'PROPOSITO_INVALIDO'

/** The spec's titles (`422ResponseErrorCreateConsent`). */
const TITLES: Record<ConsentErrorCode, string> = {
  FORMA_PAGAMENTO_INVALIDA: 'Forma de pagamento inválida.',
  DATA_PAGAMENTO_INVALIDA: 'Data de pagamento inválida.',
  DETALHE_PAGAMENTO_INVALIDO: 'Detalhe do pagamento inválido.',
  PARAMETRO_NAO_INFORMADO: 'Parâmetro não informado.',
  PARAMETRO_INVALIDO: 'Parâmetro inválido.',
  ERRO_IDEMPOTENCIA: 'Erro idempotência.',
  NAO_INFORMADO: 'Não informado.',
  PROPOSITO_INVALIDO: 'Propósito inválido.',
}

/** A 422 of `POST /consents` with the spec's code and title. */
export function consentError(code: ConsentErrorCode, detail: string): DomainError {
  return new DomainError('UNPROCESSABLE_ENTITY', detail, { ofbCode: code, title: TITLES[code] })
}

const missing = (field: string) => consentError('PARAMETRO_NAO_INFORMADO', `Parâmetro [${field}] obrigatório não informado.`)
const invalid = (field: string) => consentError('PARAMETRO_INVALIDO', `Parâmetro [${field}] não obedece as regras de formatação esperadas.`)
const detailInvalid = (field: string, why: string) => consentError('DETALHE_PAGAMENTO_INVALIDO', `Parâmetro [${field}] não obedece às regras de negócio: ${why}.`)
const tooMany = () => consentError('PARAMETRO_INVALIDO', 'Quantidade permitida de pagamentos excedida')
const badDate = (why: string) => consentError('DATA_PAGAMENTO_INVALIDA', `Data de pagamento inválida para a forma de pagamento selecionada: ${why}.`)
const unsupported = (what: string) => consentError('FORMA_PAGAMENTO_INVALIDA', `Forma de pagamento [${what}] não suportada.`)

const DATE_RE = /^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])$/
const NAME_RE = /^([A-Za-zÀ-ÖØ-öø-ÿ,.@:&*+_<>()!?/\\$%\d' -]+)$/
const JWS_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const Day = z.string().max(10).regex(DATE_RE)
const Quantity = z.number().int().min(2)

function syntax(v: PaymentsVersion) {
  const account = z.object({
    ispb: z.string().regex(v.ispb),
    issuer: z.string().regex(/^[0-9]{1,4}$/).optional(),
    number: z.string().regex(/^[0-9]{1,20}$/),
    accountType: z.enum(['CACC', 'SVGS', 'TRAN']),
  })
  const info = z.string().max(255)
  const schedule = z.object({
    single: z.object({ date: Day }).optional(),
    daily: z.object({ startDate: Day, quantity: Quantity }).optional(),
    weekly: z.object({
      dayOfWeek: z.enum(['SEGUNDA_FEIRA', 'TERCA_FEIRA', 'QUARTA_FEIRA', 'QUINTA_FEIRA', 'SEXTA_FEIRA', 'SABADO', 'DOMINGO']),
      startDate: Day,
      quantity: Quantity,
    }).optional(),
    monthly: z.object({ dayOfMonth: z.number().int().min(1).max(31), startDate: Day, quantity: Quantity }).optional(),
    custom: z.object({ dates: z.array(Day).min(2), additionalInformation: info.optional() }).optional(),
    additionalInformation: info.optional(),
  })
  return z.object({
    loggedUser: z.object({ document: z.object({ identification: z.string().regex(/^\d{11}$/), rel: z.literal('CPF') }) }),
    businessEntity: z.object({ document: z.object({ identification: z.string().regex(v.cnpj), rel: z.literal('CNPJ') }) }).optional(),
    creditor: z.object({
      personType: z.enum(['PESSOA_NATURAL', 'PESSOA_JURIDICA']),
      cpfCnpj: z.string().regex(/^\d{11}$|^\d{14}$/),
      name: z.string().max(150).regex(NAME_RE),
    }),
    payment: z.object({
      type: z.string(),
      ...(v.purpose ? { purpose: z.enum(['IMMEDIATE', 'SINGLE_SCHEDULED', 'RECURRENT_SCHEDULED', 'WITHDRAW', 'CHANGE']) } : {}),
      schedule: schedule.optional(),
      date: Day.optional(),
      currency: z.string().max(3).regex(/^[A-Z]{3}$/),
      amount: z.string().min(4).max(19).regex(/^\d{1,16}\.\d{2}$/),
      ibgeTownCode: z.string().regex(/^\d{7}$/).optional(),
      details: z.object({
        localInstrument: z.string(),
        qrCode: z.string().max(512).optional(),
        proxy: z.string().max(77).optional(),
        creditorAccount: account,
        ...(v.payloadJwsInstruments.length ? { payloadJWS: z.string().max(16384).regex(JWS_RE).optional() } : {}),
      }),
    }),
    debtorAccount: account.optional(),
  })
}

const schemas = { v4: syntax(PAYMENTS_VERSIONS.v4), v5: syntax(PAYMENTS_VERSIONS.v5) }
type Parsed = z.infer<typeof schemas.v5>
type Schedule = NonNullable<Parsed['payment']['schedule']>

function at(value: unknown, path: PropertyKey[]): unknown {
  let node = value
  for (const p of path) node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[p] : undefined
  return node
}

/** A calendar day as days since the epoch, or undefined when the date does not exist (2025-02-30). */
export function dayNumber(date: string): number | undefined {
  const m = DATE_RE.exec(date)
  if (!m) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const t = Date.UTC(y, mo - 1, d)
  const back = new Date(t)
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined
  return t / 86_400_000
}

/** Today in Brasília (UTC−3, no daylight saving since 2019) as days since the epoch. */
export function brasiliaToday(now: Date): number {
  return Math.floor((now.getTime() - 3 * 3_600_000) / 86_400_000)
}

/**
 * Until when all approvers of a payment consent that needs several must have approved
 * (docs/regulation/payments.md#multiple-approvers): an immediate payment by 23:59 Brasília on the day it was
 * requested; a scheduled one by 23:59 Brasília on the day before its first settlement. `undefined` when the accepted
 * payment has neither a valid date nor a valid schedule (cannot happen for an accepted request).
 */
export function approvalDeadline(payment: Record<string, unknown>, requestedAt: Date): Date | undefined {
  const endOfDay = (day: number) => new Date(day * 86_400_000 + 3 * 3_600_000 + (23 * 60 + 59) * 60_000)
  if (payment.schedule === undefined) return endOfDay(brasiliaToday(requestedAt))
  const days = occurrences(payment.schedule as Schedule)
  if (!Array.isArray(days) || days.length === 0) return undefined
  return endOfDay(days[0]! - 1)
}

const WEEKDAYS = ['DOMINGO', 'SEGUNDA_FEIRA', 'TERCA_FEIRA', 'QUARTA_FEIRA', 'QUINTA_FEIRA', 'SEXTA_FEIRA', 'SABADO']

/** The schedule's kinds present (exactly one is valid). */
function kindsOf(s: Schedule): Array<'single' | 'daily' | 'weekly' | 'monthly' | 'custom'> {
  return (['single', 'daily', 'weekly', 'monthly', 'custom'] as const).filter((k) => s[k] !== undefined)
}

/**
 * The settlement days of a schedule (days since the epoch), in order. A monthly day that does not exist in a month
 * falls on the next day, as the spec's recurring rules say.
 */
export function occurrences(s: Schedule): number[] | DomainError {
  const start = (field: string, date: string) => dayNumber(date) ?? invalid(field)
  if (s.single) {
    const d = start('payment.schedule.single.date', s.single.date)
    return typeof d === 'number' ? [d] : d
  }
  if (s.daily) {
    const d = start('payment.schedule.daily.startDate', s.daily.startDate)
    if (typeof d !== 'number') return d
    if (s.daily.quantity > MAX_PAYMENTS) return tooMany()
    return Array.from({ length: s.daily.quantity }, (_, i) => d + i)
  }
  if (s.weekly) {
    const d = start('payment.schedule.weekly.startDate', s.weekly.startDate)
    if (typeof d !== 'number') return d
    if (s.weekly.quantity > MAX_PAYMENTS) return tooMany()
    // Day 0 of the epoch (1970-01-01) was a Thursday.
    const first = d + ((WEEKDAYS.indexOf(s.weekly.dayOfWeek) - ((d + 4) % 7) + 7) % 7)
    return Array.from({ length: s.weekly.quantity }, (_, i) => first + 7 * i)
  }
  if (s.monthly) {
    const d = start('payment.schedule.monthly.startDate', s.monthly.startDate)
    if (typeof d !== 'number') return d
    // At most 24 monthly payments (`ScheduleMonthly.quantity` maximum): two years.
    if (s.monthly.quantity > 24) return tooMany()
    const base = new Date(d * 86_400_000)
    const day = s.monthly.dayOfMonth
    const monthShift = base.getUTCDate() > day ? 1 : 0
    return Array.from({ length: s.monthly.quantity }, (_, i) => {
      const y = base.getUTCFullYear()
      const m = base.getUTCMonth() + monthShift + i
      const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate()
      return Date.UTC(y, m, Math.min(day, last)) / 86_400_000 + (day > last ? 1 : 0)
    })
  }
  const custom = s.custom!
  if (custom.dates.length > MAX_PAYMENTS) return tooMany()
  const days: number[] = []
  for (const [i, date] of custom.dates.entries()) {
    const d = start(`payment.schedule.custom.dates[${i}]`, date)
    if (typeof d !== 'number') return d
    days.push(d)
  }
  if (new Set(days).size !== days.length) return consentError('PARAMETRO_INVALIDO', 'Parâmetro [payment.schedule.custom.dates] contém datas repetidas.')
  return days.sort((a, b) => a - b)
}

/** Pix key formats (`Proxy`): phone (E.164), e-mail, CPF, CNPJ or random key (UUID). */
const PROXY_FORMS = [
  /^\+[1-9]\d{1,14}$/,
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/,
  /^\d{11}$/,
  /^\d{14}$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
]

function checkDetails(p: Parsed['payment'], v: PaymentsVersion, recurring: boolean): DomainError | undefined {
  const d = p.details
  const instrument = d.localInstrument
  if (!(v.localInstruments as readonly string[]).includes(instrument)) return unsupported(`localInstrument - ${instrument}`)
  if (recurring && !RECURRING_INSTRUMENTS.includes(instrument)) return unsupported(`localInstrument - ${instrument} em pagamentos recorrentes`)
  if (instrument === 'MANU') {
    if (d.proxy !== undefined) return detailInvalid('payment.details.proxy', 'não deve ser informado para MANU')
  } else {
    if (d.proxy === undefined) return detailInvalid('payment.details.proxy', `obrigatório para ${instrument}`)
    if (!PROXY_FORMS.some((re) => re.test(d.proxy!))) return detailInvalid('payment.details.proxy', 'não é uma chave Pix válida')
  }
  const qr = (v.qrInstruments as readonly string[]).includes(instrument)
  if (qr && d.qrCode === undefined) return detailInvalid('payment.details.qrCode', `obrigatório para ${instrument}`)
  if ((v.payloadJwsInstruments as readonly string[]).includes(instrument) && (d as { payloadJWS?: string }).payloadJWS === undefined) {
    return detailInvalid('payment.details.payloadJWS', `obrigatório para ${instrument}`)
  }
  if (d.creditorAccount.accountType !== 'TRAN' && d.creditorAccount.issuer === undefined) {
    return detailInvalid('payment.details.creditorAccount.issuer', 'obrigatório para contas CACC e SVGS')
  }
  return undefined
}

/**
 * Validates the `data` of a payment consent request for `version` at `now`. Returns the accepted request or throws a
 * {@link DomainError}: 400 when the body has no `data` object, else 422 with the spec's code.
 */
export function acceptPaymentConsent(body: unknown, version: PaymentsApiVersion, now: Date): PaymentConsentRequest {
  const data = at(body, ['data'])
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new DomainError('INVALID_REQUEST', 'o corpo deve ser um objeto com a claim data')
  const v = PAYMENTS_VERSIONS[version]
  const parsed = schemas[version].safeParse(data)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.map(String).join('.')
    throw at(data, issue.path) === undefined ? missing(field) : invalid(field)
  }
  const d = parsed.data as Parsed
  const p = d.payment
  if (p.type !== 'PIX') throw unsupported(`type - ${p.type}`)
  if (p.currency !== 'BRL') throw invalid('payment.currency')
  if (Number(p.amount) <= 0) throw invalid('payment.amount')
  if ((d.creditor.personType === 'PESSOA_NATURAL') !== (d.creditor.cpfCnpj.length === 11)) {
    throw detailInvalid('creditor.cpfCnpj', 'deve ser um CPF para PESSOA_NATURAL e um CNPJ para PESSOA_JURIDICA')
  }
  if (d.debtorAccount && d.debtorAccount.accountType !== 'TRAN' && d.debtorAccount.issuer === undefined) {
    throw detailInvalid('debtorAccount.issuer', 'obrigatório para contas CACC e SVGS')
  }

  // Date or schedule, mutually exclusive (`Schedule` [Restrição]).
  if (p.date !== undefined && p.schedule !== undefined) throw consentError('PARAMETRO_INVALIDO', 'Os parâmetros [payment.date] e [payment.schedule] são mutuamente excludentes.')
  if (p.date === undefined && p.schedule === undefined) throw missing('payment.date')
  const today = brasiliaToday(now)
  let recurring = false
  if (p.date !== undefined) {
    const day = dayNumber(p.date)
    if (day === undefined) throw invalid('payment.date')
    if (day !== today) throw badDate('um pagamento imediato deve ter a data de hoje (horário de Brasília)')
  } else {
    const s = p.schedule!
    const kinds = kindsOf(s)
    if (kinds.length !== 1) throw consentError('PARAMETRO_INVALIDO', 'Parâmetro [payment.schedule] deve ter exatamente um de single, daily, weekly, monthly ou custom.')
    recurring = kinds[0] !== 'single'
    if (v.scheduleInformation === 'schedule' && s.additionalInformation === undefined) throw missing('payment.schedule.additionalInformation')
    if (v.scheduleInformation === 'custom' && s.custom && s.custom.additionalInformation === undefined) throw missing('payment.schedule.custom.additionalInformation')
    const days = occurrences(s)
    if (days instanceof DomainError) throw days
    // docs/regulation/payments.md#schedule-limits: at most 60 payments over at most two years.
    if (days.length > MAX_PAYMENTS) throw tooMany()
    if (days[0]! < today + 1) throw badDate('um agendamento deve ser a partir de D+1 (horário de Brasília)')
    if (days.at(-1)! > today + MAX_SCHEDULE_DAYS) {
      throw kinds[0] === 'single' ? badDate('um agendamento deve ser até D+730') : tooMany()
    }
  }
  if (v.purpose) {
    const purpose = (p as { purpose: string }).purpose
    const allowed = p.date !== undefined ? ['IMMEDIATE', 'WITHDRAW', 'CHANGE'] : recurring ? ['RECURRENT_SCHEDULED'] : ['SINGLE_SCHEDULED']
    if (!allowed.includes(purpose)) {
      throw consentError('PROPOSITO_INVALIDO', `O propósito informado (${purpose}) é incompatível com os dados presentes na transação.`)
    }
  }
  const detailRefusal = checkDetails(p, v, recurring)
  if (detailRefusal) throw detailRefusal
  return {
    loggedUser: d.loggedUser,
    creditor: d.creditor,
    payment: p as Record<string, unknown>,
    ...(d.businessEntity ? { businessEntity: d.businessEntity } : {}),
    ...(d.debtorAccount ? { debtorAccount: d.debtorAccount } : {}),
  }
}

/** JSON with object keys sorted at every level: two requests with the same `data` serialise the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** The idempotency fingerprint of a request's `data` (docs/regulation/payments.md#idempotency). */
export function requestHash(data: unknown): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex')
}
