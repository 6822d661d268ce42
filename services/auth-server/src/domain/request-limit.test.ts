import { describe, expect, it } from 'vitest'
import { addressKey, msUntilAllowed, slidingCount } from './request-limit.ts'

describe('per-address request limit', () => {
  it('counts an IPv4 address as itself and an IPv6 address by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7')
    expect(addressKey('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64')
    expect(addressKey('2001:DB8:a:b::99')).toBe('2001:db8:a:b::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
  })

  it('weighs the previous window by the share of it still inside the last minute', () => {
    expect(slidingCount(0, 7, 10_000, 60_000)).toBe(7)
    expect(slidingCount(60, 0, 15_000, 60_000)).toBe(45)
    expect(slidingCount(60, 10, 30_000, 60_000)).toBe(40)
  })

  it('says how long until one more request fits', () => {
    // This window's count alone fills the budget: to the next window, then until its weight leaves room for one.
    expect(msUntilAllowed(4, 0, 4, 30_000, 60_000)).toBe(30_000 + 15_000)
    expect(msUntilAllowed(1, 0, 1, 59_000, 60_000)).toBe(1_000 + 60_000)
    expect(msUntilAllowed(3, 0, 3, 30_000, 60_000)).toBe(30_000 + 20_000)
    // Room in this window once enough of the previous window's weight has faded.
    expect(msUntilAllowed(10, 20, 4, 30_000, 60_000)).toBe(15_000)
    const wait = msUntilAllowed(10, 20, 4, 30_000, 60_000)
    expect(slidingCount(20, 4, 30_000 + wait, 60_000) + 1).toBeLessThanOrEqual(10)
    expect(slidingCount(20, 4, 30_000 + wait - 1, 60_000) + 1).toBeGreaterThan(10)
  })
})
