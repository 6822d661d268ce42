import { describe, expect, it } from 'vitest'
import { DomainError } from '@ponte/platform'
import { createCircuitBreaker } from './circuit-breaker.ts'
import { addDays, addMonths, brasiliaToday, CURRENT_WINDOW, HISTORY_WINDOW, resolveWindow } from './dates.ts'
import { createPaginationKeys, pageLinks, pageRequest, totalPages } from './pagination.ts'
import { hashPassword, verifyPassword, DECOY_HASH } from './password.ts'

const code = (fn: () => unknown) => {
  try { fn() } catch (e) { return e instanceof DomainError ? [e.status, e.ofbCode] : ['other'] }
  return ['ok']
}

describe('paging conventions', () => {
  it('defaults to 25, lifts small sizes to 25, keeps 1000 and refuses 1001 with 422', () => {
    expect(pageRequest(undefined, undefined)).toEqual({ page: 1, pageSize: 25, offset: 0 })
    expect(pageRequest(3, 1)).toEqual({ page: 3, pageSize: 25, offset: 50 })
    expect(pageRequest(2, 1000).offset).toBe(1000)
    expect(code(() => pageRequest(1, 1001))).toEqual([422, 'UNPROCESSABLE_ENTITY'])
    expect(totalPages(0, 25)).toBe(1)
    expect(totalPages(51, 25)).toBe(3)
  })
  it('builds links with the applied size, and no last link for uncounted lists', () => {
    const l = pageLinks({ base: 'https://x/a', query: { t: 'y' }, page: 2, pageSize: 25, pages: 3, key: 'k' })
    expect(l.self).toBe('https://x/a?t=y&page=2&page-size=25&pagination-key=k')
    expect([l.first, l.prev, l.next, l.last].map((u) => new URL(u!).searchParams.get('page'))).toEqual(['1', '1', '3', '3'])
    const w = pageLinks({ base: 'https://x/a', query: {}, page: 1, pageSize: 25, hasMore: true })
    expect(w.next).toContain('page=2')
    expect(w.last).toBeUndefined()
  })
  it('pagination keys verify for their scope within 60 minutes only', () => {
    const keys = createPaginationKeys('x'.repeat(32))
    const k = keys.mint('c1|/p', 1_000)
    expect(keys.verify(k, 'c1|/p', 1_000 + 59 * 60_000)).toBe(true)
    expect(keys.verify(k, 'c1|/p', 1_000 + 60 * 60_000)).toBe(false)
    expect(keys.verify(k, 'c2|/p', 2_000)).toBe(false)
    expect(keys.verify(`${k.split('.')[0]}x.${k.split('.')[1]}`, 'c1|/p', 2_000)).toBe(false)
    expect(createPaginationKeys('y'.repeat(32)).verify(k, 'c1|/p', 2_000)).toBe(false)
    expect(keys.verify('garbage', 'c1|/p', 2_000)).toBe(false)
  })
})

describe('booking-date windows', () => {
  const now = new Date('2026-03-31T02:00:00Z') // still 30 March in Brasília
  it('uses Brasília days and month arithmetic', () => {
    expect(brasiliaToday(now)).toBe('2026-03-30')
    expect(addMonths('2025-03-31', -1)).toBe('2025-02-28')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
  })
  it('defaults to today, needs both dates, and enforces the reach of each endpoint', () => {
    expect(resolveWindow(undefined, undefined, HISTORY_WINDOW(['f', 't']), now)).toEqual({ fromDate: '2026-03-30', toDate: '2026-03-30' })
    expect(code(() => resolveWindow('2026-03-01', undefined, HISTORY_WINDOW(['f', 't']), now))).toEqual([400, 'INVALID_PARAMETER'])
    expect(code(() => resolveWindow('2025-03-30', '2026-03-30', HISTORY_WINDOW(['f', 't']), now))).toEqual(['ok'])
    expect(code(() => resolveWindow('2025-03-29', '2026-03-30', HISTORY_WINDOW(['f', 't']), now))).toEqual([422, 'UNPROCESSABLE_ENTITY'])
    expect(code(() => resolveWindow('2026-03-24', '2027-03-30', CURRENT_WINDOW(['f', 't']), now))).toEqual(['ok'])
    expect(code(() => resolveWindow('2026-03-23', '2026-03-30', CURRENT_WINDOW(['f', 't']), now))).toEqual([422, 'UNPROCESSABLE_ENTITY'])
    expect(code(() => resolveWindow('2026-03-30', '2026-03-29', CURRENT_WINDOW(['f', 't']), now))).toEqual([422, 'UNPROCESSABLE_ENTITY'])
  })
})

describe('circuit breaker', () => {
  it('opens after the threshold, lets one trial through after the reset time, and closes on success', () => {
    const b = createCircuitBreaker({ failureThreshold: 2, resetMs: 100 })
    b.onFailure(0)
    expect(b.state(0)).toBe('closed')
    b.onFailure(1)
    expect(b.tryAcquire(50)).toBe(false)
    expect(b.tryAcquire(101)).toBe(true)
    expect(b.tryAcquire(101)).toBe(false) // only one trial at a time
    b.onSuccess()
    expect(b.state(102)).toBe('closed')
  })
  it('a success resets the consecutive failure count', () => {
    const b = createCircuitBreaker({ failureThreshold: 2, resetMs: 100 })
    b.onFailure(0)
    b.onSuccess()
    b.onFailure(1)
    expect(b.state(1)).toBe('closed')
  })
})

describe('passwords', () => {
  it('verifies scrypt hashes and rejects wrong passwords and malformed hashes', async () => {
    const h = await hashPassword('s3cret')
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/)
    expect(await verifyPassword('s3cret', h)).toBe(true)
    expect(await verifyPassword('s3cres', h)).toBe(false)
    expect(await verifyPassword('s3cret', 'plain')).toBe(false)
    expect(await verifyPassword('anything', DECOY_HASH)).toBe(false)
  })
})
