import { describe, expect, it } from 'vitest'
import { createSingleFlight } from './single-flight.ts'

function deferred<T>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => { resolve = r })
  return { promise, resolve }
}

describe('single flight', () => {
  it('shares one running load per key and starts a new one once it settled', async () => {
    const loads: string[] = []
    const gate = deferred<void>()
    const flight = createSingleFlight(async (k: string) => { loads.push(k); await gate.promise; return `${k}:${loads.length}` })
    const a = flight.run('x')
    const b = flight.run('x')
    const c = flight.run('y')
    gate.resolve()
    expect(await a).toBe(await b)
    await c
    expect(loads).toEqual(['x', 'y'])
    await flight.run('x')
    expect(loads).toEqual(['x', 'y', 'x'])
  })

  it('after forget, the next caller starts a fresh load that the old one cannot detach', async () => {
    const gates = [deferred<void>(), deferred<void>(), deferred<void>()]
    let n = 0
    const flight = createSingleFlight(async () => { const i = n++; await gates[i]!.promise; return i })
    const old = flight.run('k')
    flight.forget('k')
    const fresh = flight.run('k')
    gates[0]!.resolve()
    expect(await old).toBe(0)
    // The old load settled after the fresh one started: the fresh one is still shared.
    const joined = flight.run('k')
    gates[1]!.resolve()
    expect(await fresh).toBe(1)
    expect(await joined).toBe(1)
    expect(n).toBe(2)
  })
})
