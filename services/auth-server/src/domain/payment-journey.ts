import type { InternalPaymentConsent, PaymentAccount, SelectableResource } from '@ponte/contracts'
import type { Locale } from './journey.ts'

/**
 * The payment consent's journey (docs/decisions/auth-server-loa3-totp.md): LoA3 (password, then the customer's TOTP
 * code checked by the core), a review of the payment, and the debtor account. Rules: docs/regulation/payments.md,
 * docs/regulation/security-profile.md#authentication-levels-acr.
 */

/** FAPI-BR: multi-factor authentication, required for payments (security-profile.md#authentication-levels-acr). */
export const ACR_LOA3 = 'urn:brasil:openbanking:loa3'

/** Why a payment consent cannot be authorised by this client in this journey (undefined when it can). */
export function paymentConsentRefusal(consent: InternalPaymentConsent | undefined, clientId: string, now: Date): string | undefined {
  if (!consent) return 'the consent does not exist'
  if (consent.clientId !== clientId) return 'the consent belongs to another client'
  if (consent.status !== 'AWAITING_AUTHORISATION') return `the consent is ${consent.status}, not AWAITING_AUTHORISATION`
  // docs/regulation/payments.md#payment-consent-expiry: 5 minutes to authorise (the consent service applies it on read too).
  if (now.getTime() >= Date.parse(consent.expirationDateTime)) return 'the consent authorisation window has passed'
  return undefined
}

/** A CPF or CNPJ as the review page shows it: enough to recognise, not the whole number. */
export function maskDocument(doc: string): string {
  const d = doc.replace(/\D/g, '')
  if (d.length === 11) return `***.${d.slice(3, 6)}.${d.slice(6, 9)}-**`
  if (d.length === 14) return `${d.slice(0, 2)}.${d.slice(2, 5)}.${d.slice(5, 8)}/****-**`
  return d.length > 4 ? `${'*'.repeat(d.length - 4)}${d.slice(-4)}` : '****'
}

/** The amount in reais as the customer reads it (`R$ 1.234,56`). */
export function formatAmount(payment: Record<string, unknown>, locale: Locale): string {
  const amount = Number(payment.amount)
  const currency = typeof payment.currency === 'string' ? payment.currency : 'BRL'
  if (!Number.isFinite(amount)) return String(payment.amount ?? '')
  return new Intl.NumberFormat(locale === 'en' ? 'en-GB' : 'pt-BR', { style: 'currency', currency }).format(amount)
}

const formatDate = (iso: string, locale: Locale) => {
  const t = Date.parse(`${iso}T12:00:00Z`)
  return Number.isNaN(t) ? iso : new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'pt-BR', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(t))
}

const WEEKDAYS: Record<string, [string, string]> = {
  SEGUNDA_FEIRA: ['às segundas-feiras', 'on Mondays'], TERCA_FEIRA: ['às terças-feiras', 'on Tuesdays'], QUARTA_FEIRA: ['às quartas-feiras', 'on Wednesdays'],
  QUINTA_FEIRA: ['às quintas-feiras', 'on Thursdays'], SEXTA_FEIRA: ['às sextas-feiras', 'on Fridays'], SABADO: ['aos sábados', 'on Saturdays'], DOMINGO: ['aos domingos', 'on Sundays'],
}

/** When the payment happens: its date, or its schedule (single, daily, weekly, monthly, custom), in words. */
export function describeWhen(payment: Record<string, unknown>, locale: Locale): string {
  const en = locale === 'en'
  if (typeof payment.date === 'string') return formatDate(payment.date, locale)
  const schedule = (payment.schedule ?? {}) as Record<string, Record<string, unknown> | undefined>
  const d = (v: unknown) => formatDate(String(v ?? ''), locale)
  if (schedule.single) return en ? `Scheduled for ${d(schedule.single.date)}` : `Agendado para ${d(schedule.single.date)}`
  if (schedule.daily) {
    const s = schedule.daily
    return en ? `Daily, ${String(s.quantity)} payments from ${d(s.startDate)}` : `Diário, ${String(s.quantity)} pagamentos a partir de ${d(s.startDate)}`
  }
  if (schedule.weekly) {
    const s = schedule.weekly
    const day = WEEKDAYS[String(s.dayOfWeek)]?.[en ? 1 : 0] ?? String(s.dayOfWeek)
    return en ? `Weekly ${day}, ${String(s.quantity)} payments from ${d(s.startDate)}` : `Semanal, ${day}, ${String(s.quantity)} pagamentos a partir de ${d(s.startDate)}`
  }
  if (schedule.monthly) {
    const s = schedule.monthly
    return en ? `Monthly on day ${String(s.dayOfMonth)}, ${String(s.quantity)} payments from ${d(s.startDate)}` : `Mensal, todo dia ${String(s.dayOfMonth)}, ${String(s.quantity)} pagamentos a partir de ${d(s.startDate)}`
  }
  if (schedule.custom) {
    const dates = Array.isArray(schedule.custom.dates) ? (schedule.custom.dates as unknown[]).map(d) : []
    return en ? `On ${dates.join(', ')}` : `Nas datas ${dates.join(', ')}`
  }
  return en ? 'Today' : 'Hoje'
}

/** An account the customer may pay from: a deposit, savings or payment account the core gives in the Payments API form. */
export type EligibleAccount = SelectableResource & { paymentAccount: PaymentAccount }

/** The customer's accounts of type CACC, SVGS or TRAN (docs/regulation/payments.md). */
export function eligibleDebtorAccounts(resources: readonly SelectableResource[]): EligibleAccount[] {
  return resources.filter((r): r is EligibleAccount => r.type === 'ACCOUNT' && r.paymentAccount !== undefined)
}

const digits = (v: string | undefined) => (v ?? '').replace(/^0+/, '')

/** Whether the account the consent names is this one (leading zeros of branch and number aside). */
export function sameAccount(a: PaymentAccount, b: PaymentAccount): boolean {
  return a.ispb === b.ispb && a.accountType === b.accountType && digits(a.number) === digits(b.number) && digits(a.issuer) === digits(b.issuer)
}
