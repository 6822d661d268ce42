// The progress reporter's output when it is not a terminal (logs, CI, pipes): one line when a phase starts, one every
// interval with the count, the rate and the time left, one when it ends; and a bar (cli-progress) on a terminal.
import { PassThrough } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'
import { createProgress, humanDuration, plainLine } from './progress.ts'

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY })
  let text = ''
  stream.on('data', (c: Buffer) => { text += c.toString('utf8') })
  return { stream, text: () => text }
}

describe('progress', () => {
  it('formats durations for a person', () => {
    expect(humanDuration(0)).toBe('0 s')
    expect(humanDuration(59.4)).toBe('59 s')
    expect(humanDuration(65)).toBe('1 min 05 s')
    expect(humanDuration(7380)).toBe('2 h 03 min')
    expect(humanDuration(Number.POSITIVE_INFINITY)).toBe('?')
  })

  it('a plain line carries the count, the share, the rate and the time left', () => {
    expect(plainLine({ label: 'seed', phase: 'transactions', unit: 'rows', done: 2_500_000, total: 10_000_000, elapsedMs: 10_000 }))
      .toBe('seed: transactions 2,500,000/10,000,000 rows (25%), 250,000 rows/s, about 30 s left')
    expect(plainLine({ label: 'seed', phase: 'transactions', unit: 'rows', done: 10_000_000, total: 10_000_000, elapsedMs: 40_000, finished: true }))
      .toBe('seed: transactions 10,000,000/10,000,000 rows (100%), 250,000 rows/s, done in 40 s')
    // A phase that cannot be counted says how long it has run.
    expect(plainLine({ label: 'seed', phase: 'building the statement index', unit: 'rows', done: 0, elapsedMs: 75_000 })).toBe('seed: building the statement index, 1 min 15 s so far')
    expect(plainLine({ label: 'seed', phase: 'analysing', unit: 'rows', done: 0, elapsedMs: 0 })).toBe('seed: analysing …')
  })

  it('without a terminal, writes a line when a phase starts, every interval, and when it ends', () => {
    vi.useFakeTimers()
    try {
      let now = 0
      const out = capture(false)
      const p = createProgress({ label: 'onboard', unit: 'organisations', stream: out.stream, intervalMs: 5_000, now: () => now })
      p.phase('onboarding', 40)
      for (let i = 0; i < 10; i++) {
        now += 1_000
        p.increment()
        vi.advanceTimersByTime(1_000)
      }
      now += 500
      p.update(40)
      p.stop()
      expect(out.text().split('\n').filter(Boolean)).toEqual([
        'onboard: onboarding 0/40 organisations (0%) …',
        'onboard: onboarding 5/40 organisations (12%), 1.0 organisations/s, about 35 s left',
        'onboard: onboarding 10/40 organisations (25%), 1.0 organisations/s, about 30 s left',
        'onboard: onboarding 40/40 organisations (100%), 3.8 organisations/s, done in 11 s',
      ])
      // No bar characters or cursor control in a log.
      expect(out.text()).not.toContain(String.fromCharCode(27))
      expect(out.text()).not.toMatch(/[█░]/)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a new phase ends the previous one; stop after stop writes nothing more', () => {
    let now = 0
    const out = capture(false)
    const p = createProgress({ label: 'seed', unit: 'rows', stream: out.stream, now: () => now })
    p.phase('customers and accounts')
    now += 2_000
    p.phase('transactions', 100)
    now += 1_000
    p.update(100)
    p.stop()
    p.stop()
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'seed: customers and accounts …',
      'seed: customers and accounts, done in 2 s',
      'seed: transactions 0/100 rows (0%) …',
      'seed: transactions 100/100 rows (100%), 100 rows/s, done in 1 s',
    ])
  })

  it('on a terminal, draws a bar with the rate and the time left, then a closing line', () => {
    let now = 0
    const out = capture(true)
    const p = createProgress({ label: 'seed', unit: 'rows', stream: out.stream, tty: true, now: () => now })
    p.phase('transactions', 1_000)
    now += 2_000
    p.update(500)
    p.stop()
    const text = out.text()
    expect(text).toMatch(/seed: transactions \[[█░]+\] 50% \| 500\/1,000 rows \| 250 rows\/s \| 2 s left/)
    expect(text).toContain('seed: transactions 500/1,000 rows (50%), 250 rows/s, done in 2 s\n')
  })
})
