import { describe, expect, it } from 'vitest'
import { approvalDeadline, brasiliaToday, canonicalJson, dayNumber, occurrences, requestHash } from './payment-rules.ts'

const day = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10)
const days = (s: Parameters<typeof occurrences>[0]) => {
  const r = occurrences(s)
  if (!Array.isArray(r)) throw r
  return r.map(day)
}

describe('payment consent rules', () => {
  it('sets the approval deadline of several approvers at 23:59 Brasília: the request date, or the day before the first settlement', () => {
    // 22:30 in Brasília on 7 December is already 8 December in UTC: the request date is still the 7th.
    expect(approvalDeadline({ date: '2026-12-07' }, new Date('2026-12-08T01:30:00Z'))?.toISOString()).toBe('2026-12-08T02:59:00.000Z')
    // Weekly on Mondays from Thursday 10 December 2026: the first settlement is Monday the 14th.
    expect(approvalDeadline({ schedule: { weekly: { dayOfWeek: 'SEGUNDA_FEIRA', startDate: '2026-12-10', quantity: 3 } } }, new Date('2026-12-07T15:00:00Z'))?.toISOString())
      .toBe('2026-12-14T02:59:00.000Z')
  })

  it('takes "today" in Brasília time (UTC−3)', () => {
    expect(day(brasiliaToday(new Date('2026-12-08T02:59:59Z')))).toBe('2026-12-07')
    expect(day(brasiliaToday(new Date('2026-12-08T03:00:00Z')))).toBe('2026-12-08')
  })

  it('reads calendar dates strictly, with the spec\'s optional leading zeros', () => {
    expect(dayNumber('2026-2-3')).toBe(dayNumber('2026-02-03'))
    expect(dayNumber('2026-02-29')).toBeUndefined()
    expect(dayNumber('2028-02-29')).toBeDefined()
  })

  it('lays out weekly and monthly schedules on their days', () => {
    // 2026-12-08 is a Tuesday: the first Thursday on or after it is the 10th.
    expect(days({ weekly: { dayOfWeek: 'QUINTA_FEIRA', startDate: '2026-12-08', quantity: 3 } })).toEqual(['2026-12-10', '2026-12-17', '2026-12-24'])
    expect(days({ weekly: { dayOfWeek: 'TERCA_FEIRA', startDate: '2026-12-08', quantity: 2 } })).toEqual(['2026-12-08', '2026-12-15'])
    // Day 31 in a 30-day month falls on the next day; a start after the day begins next month.
    expect(days({ monthly: { dayOfMonth: 31, startDate: '2027-03-31', quantity: 3 } })).toEqual(['2027-03-31', '2027-05-01', '2027-05-31'])
    expect(days({ monthly: { dayOfMonth: 5, startDate: '2026-12-08', quantity: 2 } })).toEqual(['2027-01-05', '2027-02-05'])
    expect(days({ daily: { startDate: '2026-12-31', quantity: 2 } })).toEqual(['2026-12-31', '2027-01-01'])
    expect(days({ custom: { dates: ['2027-01-02', '2026-12-30'] } })).toEqual(['2026-12-30', '2027-01-02'])
  })

  it('fingerprints data independently of key order, and tells different data apart', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}')
    expect(requestHash({ a: 1, b: 2 })).toBe(requestHash({ b: 2, a: 1 }))
    expect(requestHash({ a: '1.00' })).not.toBe(requestHash({ a: '1.0' }))
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }))
  })
})
