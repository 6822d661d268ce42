import { setTimeout as sleep } from 'node:timers/promises'
import { Writable } from 'node:stream'
import { createLogger } from '@ponte/platform'
import { afterEach, describe, expect, it } from 'vitest'
import { createAdmission, type Admission } from './admission.ts'

let admission: Admission | undefined
afterEach(() => admission?.close())

/** Keeps the event loop busy, as a saturated process does. */
function block(ms: number) {
  const end = Date.now() + ms
  while (Date.now() < end) { /* busy */ }
}

/** Admits `n` calls; returns how many were admitted. */
function admitMany(a: Admission, n: number): number {
  let admitted = 0
  for (let i = 0; i < n; i++) if (a.admit() === undefined) admitted++
  return admitted
}

/** Waits until the sample windows have seen a late loop (the late tick lands in the current window or the next). */
async function untilLateSeen(a: Admission, bound: number) {
  for (let i = 0; i < 40 && a.stats.eventLoopDelayMs <= bound; i++) await sleep(5)
  expect(a.stats.eventLoopDelayMs).toBeGreaterThan(bound)
}

describe('load shedding', () => {
  it('sheds beyond the in-flight cap and admits again once calls are released', () => {
    admission = createAdmission({ maxInFlight: 2, maxEventLoopDelayMs: 0 })
    expect(admission.admit()).toBeUndefined()
    expect(admission.admit()).toBeUndefined()
    expect(admission.admit()).toBe('in_flight')
    expect(admission.stats).toMatchObject({ admitted: 2, shedInFlight: 1, inFlight: 2, limit: 2 })
    admission.release()
    expect(admission.admit()).toBeUndefined()
    expect(admission.stats.inFlight).toBe(2)
  })

  it('lowers the limit under the calls in progress after a late window, and raises it again while it is reached and the loop is on time', async () => {
    admission = createAdmission({ maxInFlight: 1_000, maxEventLoopDelayMs: 100, sampleMs: 50 })
    const a = admission
    await sleep(120)
    expect(a.stats.limit).toBe(1_000)
    expect(admitMany(a, 200)).toBe(200)
    block(300)
    await untilLateSeen(a, 100)
    // A quarter under the 200 in progress: the excess is refused at once, for the loop's sake.
    expect(a.stats.limit).toBeLessThanOrEqual(150)
    expect(a.stats.limit).toBeGreaterThanOrEqual(32)
    expect(a.admit()).toBe('event_loop')
    expect(a.stats.shedEventLoop).toBe(1)
    expect(a.stats.shedInFlight).toBe(0)

    // Calls finish; the limit stays where it is until it is reached again.
    for (let i = 0; i < 200; i++) a.release()
    await sleep(100)
    const low = a.stats.limit
    await sleep(200)
    expect(a.stats.limit).toBe(low)
    // Kept at its limit with the loop on time, it grows back by itself (5 % a window).
    const admitted = admitMany(a, low)
    expect(admitted).toBe(low)
    await sleep(300)
    expect(a.stats.limit).toBeGreaterThan(low)
    expect(a.stats.limit).toBeLessThanOrEqual(1_000)
  })

  it('lowers the limit when the loop is busy most of a window, even on time: it keeps some of it idle to read and refuse', async () => {
    admission = createAdmission({ maxInFlight: 1_000, maxEventLoopDelayMs: 1_000, maxEventLoopUtilization: 0.5, sampleMs: 50 })
    const a = admission
    await sleep(120)
    expect(admitMany(a, 200)).toBe(200)
    // Busy about 90 % of the time in slices far under the delay bound.
    const end = Date.now() + 400
    while (Date.now() < end) {
      block(45)
      await sleep(5)
    }
    expect(a.stats.eventLoopDelayMs).toBeLessThan(1_000)
    expect(a.stats.eventLoopUtilization).toBeGreaterThan(0.5)
    expect(a.stats.limit).toBeLessThanOrEqual(150)
    expect(a.admit()).toBe('event_loop')
  })

  it('never goes under its floor of 32 calls, nor over the cap', async () => {
    admission = createAdmission({ maxInFlight: 0, maxEventLoopDelayMs: 100, maxEventLoopUtilization: 0.5, sampleMs: 50 })
    await sleep(120)
    // With no more than the floor in progress, a late loop is not the calls' doing: the limit stays.
    expect(admitMany(admission, 20)).toBe(20)
    block(300)
    await untilLateSeen(admission, 100)
    expect(admission.stats.limit).toBe(Number.POSITIVE_INFINITY)
    expect(admitMany(admission, 20)).toBe(20)
    block(300)
    await sleep(1)
    for (let i = 0; i < 40 && admission.stats.limit === Number.POSITIVE_INFINITY; i++) await sleep(5)
    expect(admission.stats.limit).toBe(32)
    expect(admitMany(admission, 100)).toBe(0)
    for (let i = 0; i < 20; i++) admission.release()
    expect(admitMany(admission, 100)).toBe(12)

    const capped = createAdmission({ maxInFlight: 1, maxEventLoopDelayMs: 100, sampleMs: 50 })
    try {
      await sleep(120)
      expect(capped.admit()).toBeUndefined()
      block(300)
      await untilLateSeen(capped, 100)
      expect(capped.stats.limit).toBe(1)
      expect(capped.admit()).toBe('in_flight')
    } finally {
      capped.close()
    }
  })

  it('logs when shedding starts and when it stops, once each, not per call', async () => {
    const lines: Array<{ msg: string; shed?: number }> = []
    const logger = createLogger({ service: 't', level: 'info', destination: new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as { msg: string }); cb() } }) })
    admission = createAdmission({ maxInFlight: 1, maxEventLoopDelayMs: 0, sampleMs: 20, logger })
    expect(admission.admit()).toBeUndefined()
    for (let i = 0; i < 50; i++) expect(admission.admit()).toBe('in_flight')
    await sleep(60)
    expect(lines.filter((l) => l.msg === 'gateway overloaded: shedding calls (529)')).toHaveLength(1)
    admission.release()
    await sleep(60)
    const ended = lines.filter((l) => l.msg === 'gateway no longer shedding calls')
    expect(ended).toHaveLength(1)
    expect(ended[0]!.shed).toBe(50)
  })

  it('admits everything with both signals off', () => {
    admission = createAdmission({ maxInFlight: 0, maxEventLoopDelayMs: 0 })
    for (let i = 0; i < 10_000; i++) expect(admission.admit()).toBeUndefined()
    expect(admission.stats.inFlight).toBe(10_000)
  })
})
