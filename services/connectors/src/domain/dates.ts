import { DomainError } from '@ponte/platform'

/**
 * Booking-date windows of the transaction endpoints. Dates are calendar days in Brasília (America/Sao_Paulo, UTC−3
 * without daylight saving since 2019), the time zone the regulation's "D-6" and "12 months" refer to.
 */

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/

/** Today in Brasília as `YYYY-MM-DD`. */
export function brasiliaToday(now: Date): string {
  return new Date(now.getTime() - 3 * 3_600_000).toISOString().slice(0, 10)
}

/** `date` shifted by `days` (may be negative). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/** `date` shifted by `months`, clamped to the month's last day (2025-03-31 − 1 month = 2025-02-28). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  const target = new Date(Date.UTC(y, m - 1 + months, 1))
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate()
  target.setUTCDate(Math.min(d, lastDay))
  return target.toISOString().slice(0, 10)
}

function isRealDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false
  const d = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
}

/** How far back and ahead a window may reach. */
export interface WindowRule {
  /** Earliest allowed start, from today. */
  earliest: (today: string) => string
  /** Latest allowed end, from today. */
  latest: (today: string) => string
  /** Names of the query parameters (for messages). */
  names: [string, string]
}

/** `/transactions`: 12 months back, 12 months ahead. */
export const HISTORY_WINDOW = (names: [string, string]): WindowRule => ({ earliest: (t) => addMonths(t, -12), latest: (t) => addMonths(t, 12), names })
/** `/transactions-current`: 7 days back including today (D-6), 12 months ahead. */
export const CURRENT_WINDOW = (names: [string, string]): WindowRule => ({ earliest: (t) => addDays(t, -6), latest: (t) => addMonths(t, 12), names })

/**
 * Resolves the requested window: both dates absent → today only; one without the other → 400; a malformed date →
 * 400; start after end or outside the rule's reach → 422.
 */
export function resolveWindow(from: string | undefined, to: string | undefined, rule: WindowRule, now: Date): { fromDate: string; toDate: string } {
  const today = brasiliaToday(now)
  const [fromName, toName] = rule.names
  if (from === undefined && to === undefined) return { fromDate: today, toDate: today }
  if (from === undefined || to === undefined) {
    throw new DomainError('INVALID_PARAMETER', `${fromName} and ${toName} must be sent together`)
  }
  for (const [name, v] of [[fromName, from], [toName, to]] as const) {
    if (!isRealDate(v)) throw new DomainError('INVALID_PARAMETER', `${name} must be a date (YYYY-MM-DD)`)
  }
  if (from > to) throw new DomainError('UNPROCESSABLE_ENTITY', `${fromName} is after ${toName}`, { ofbCode: 'UNPROCESSABLE_ENTITY' })
  const earliest = rule.earliest(today)
  const latest = rule.latest(today)
  if (from < earliest || to > latest) {
    throw new DomainError('UNPROCESSABLE_ENTITY', `the period must lie between ${earliest} and ${latest}`, { ofbCode: 'UNPROCESSABLE_ENTITY' })
  }
  return { fromDate: from, toDate: to }
}

/** Validates an optional date filter (bills) and returns it. */
export function optionalDate(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!isRealDate(value)) throw new DomainError('INVALID_PARAMETER', `${name} must be a date (YYYY-MM-DD)`)
  return value
}
