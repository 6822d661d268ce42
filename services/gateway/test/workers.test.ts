import { afterAll, describe, expect, it } from 'vitest'
import { Agent, request } from 'undici'
import { serviceTestEnv, startServiceProcess, testServiceAuth, waitFor, type ServiceProcess } from '@ponte/testkit'
import { services } from '../../../scripts/stack-services.ts'

// The gateway as `make up` starts it, with two worker processes behind one listener: both serve, a dead worker is
// replaced, and SIGTERM stops them all gracefully.
const insecure = new Agent({ connect: { rejectUnauthorized: false } })
const auth = testServiceAuth()
let proc: ServiceProcess | undefined
afterAll(async () => { await proc?.stop('SIGKILL') })

const listening = (p: ServiceProcess) => p.output.filter((l) => l.includes('"msg":"gateway listening"')).map((l) => JSON.parse(l) as { address: string; worker: number })
const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }

describe('gateway with GATEWAY_WORKERS=2', () => {
  it('two workers share the listener, a killed worker is replaced, SIGTERM stops every worker', async () => {
    const shared = await serviceTestEnv(auth.env, { redisDb: 3 })
    const gw = services.find((s) => s.name === 'gateway')!
    proc = await startServiceProcess('gateway', { ...shared, ...gw.env(shared), PORT: '0', HOST: '127.0.0.1', GATEWAY_WORKERS: '2' })
    const p = proc
    const first = await waitFor(() => listening(p).length >= 2 ? listening(p) : undefined, { timeoutMs: 30_000, what: 'two workers listening' })
    expect(new Set(first.map((l) => l.worker)).size).toBe(2)
    expect(first[1]!.address).toBe(first[0]!.address)
    expect(p.output.some((l) => l.includes('gateway primary started its workers'))).toBe(true)
    // A new connection each time, so the primary chooses a worker for each check.
    const ready = async () => (await request(`${first[0]!.address}/readyz`, { dispatcher: insecure, reset: true })).statusCode
    expect(await ready()).toBe(200)

    // A worker dies: another takes its place; the survivor keeps serving meanwhile. The check waits for the primary to
    // see the death: a connection it hands to the dying worker in that instant is lost with it, as a call in progress
    // on it is (docs/decisions/gateway-workers.md).
    process.kill(first[0]!.worker, 'SIGKILL')
    await waitFor(() => p.output.some((l) => l.includes('gateway worker exited; starting another')) || undefined, { timeoutMs: 30_000, what: 'the primary seeing the death' })
    for (let i = 0; i < 4; i++) expect(await ready()).toBe(200)
    const replaced = await waitFor(() => listening(p).length >= 3 ? listening(p)[2] : undefined, { timeoutMs: 30_000, what: 'a replacement worker' })
    expect(first.map((l) => l.worker)).not.toContain(replaced.worker)
    expect(await ready()).toBe(200)

    const code = await p.stop('SIGTERM')
    proc = undefined
    expect(code).toBe(0)
    // Each live worker drained and stopped on its own ("stopped" from both workers and the primary).
    expect(p.output.filter((l) => l.includes('"msg":"stopped"')).length).toBeGreaterThanOrEqual(3)
    expect(alive(first[1]!.worker)).toBe(false)
    expect(alive(replaced.worker)).toBe(false)
  }, 90_000)
})
