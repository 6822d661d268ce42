import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { createAdmission, type Admission } from './admission.ts'

let admission: Admission | undefined
afterEach(() => admission?.close())

/** Keeps the event loop busy, as a saturated process does. */
function block(ms: number) {
  const end = Date.now() + ms
  while (Date.now() < end) { /* busy */ }
}

describe('load shedding', () => {
  it('sheds beyond the in-flight cap and admits again once calls are released', () => {
    admission = createAdmission({ maxInFlight: 2, maxEventLoopDelayMs: 0 })
    expect(admission.admit()).toBeUndefined()
    expect(admission.admit()).toBeUndefined()
    expect(admission.admit()).toBe('in_flight')
    expect(admission.stats).toMatchObject({ admitted: 2, shedInFlight: 1, inFlight: 2 })
    admission.release()
    expect(admission.admit()).toBeUndefined()
    expect(admission.stats.inFlight).toBe(2)
  })

  it('sheds while the event loop is late and admits again after a window under the bound', async () => {
    admission = createAdmission({ maxInFlight: 0, maxEventLoopDelayMs: 20, sampleMs: 50 })
    await sleep(120)
    expect(admission.admit()).toBeUndefined()
    admission.release()
    block(300)
    // The late tick lands in the window being measured or the next one.
    for (let i = 0; i < 40 && admission.stats.eventLoopDelayMs <= 20; i++) await sleep(5)
    expect(admission.stats.eventLoopDelayMs).toBeGreaterThan(20)
    expect(admission.admit()).toBe('event_loop_delay')
    expect(admission.stats.shedEventLoop).toBe(1)
    expect(admission.stats.inFlight).toBe(0)
    await sleep(200)
    expect(admission.admit()).toBeUndefined()
  })

  it('admits everything with both signals off', () => {
    admission = createAdmission({ maxInFlight: 0, maxEventLoopDelayMs: 0 })
    for (let i = 0; i < 10_000; i++) expect(admission.admit()).toBeUndefined()
    expect(admission.stats.inFlight).toBe(10_000)
  })
})
