import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type PonteServer } from '@ponte/platform'
import { listen, specValidator, testLogger } from '@ponte/testkit'
import { startProber, type Prober } from '../src/adapters/prober.ts'
import { aCall, BASE_URL, startTrace, stored, type TraceTest } from './support.ts'

const common = specValidator('common-v2.0.1.yaml')

describe('availability probes', () => {
  let t: TraceTest
  let prober: Prober
  const stands: PonteServer[] = []
  const state = { connectorsReady: true }
  beforeAll(async () => {
    t = await startTrace('trace_probe', new Date('2026-12-07T13:00:00Z'))
    const { logger } = testLogger('stand-in')
    // Stand-ins for the gateway and the owning services, at the HTTP boundary: only their readiness matters here.
    const gateway = createServer({ logger })
    const consent = createServer({ logger })
    const connectors = createServer({ logger, readiness: [{ name: 'core', check: async () => { if (!state.connectorsReady) throw new Error('core down') } }] })
    stands.push(gateway, consent, connectors)
    const [g, c, x] = await Promise.all(stands.map(listen))
    prober = startProber({ availability: t.availability, logger, gatewayUrl: g!, intervalMs: 3_600_000, timeoutMs: 1_000, clock: () => t.clock.now,
      targets: [{ api: 'consents/v3', serviceUrl: c! }, { api: 'accounts/v2', serviceUrl: x! }] })
    await t.store.ingest([stored(aCall({ receivedAt: '2026-12-07T12:00:00.000Z' }))], [])
  })
  afterAll(async () => {
    await prober?.stop()
    await Promise.all(stands.map((s) => s.close()))
    await t?.close()
  })

  const status = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/open-banking/discovery/v2/status' })
    expect(common.check('GET', '/status', 200, res.json())).toEqual([])
    return res.json().data.status as Array<Record<string, unknown>>
  }

  it('turns an API group UNAVAILABLE when its service is not ready, PARTIAL within a mixed minute, OK again after', async () => {
    // 1. 13:00:00 all ready.
    expect((await prober.probeOnce()).every((r) => r.ok)).toBe(true)
    expect((await status()).map((s) => s.code)).toEqual(['OK'])
    // 2. 13:01:00 and 13:01:30 the connectors are not ready: accounts/v2 down for that minute.
    state.connectorsReady = false
    t.clock.now = new Date('2026-12-07T13:01:00Z')
    expect(await prober.probeOnce()).toEqual([{ api: 'consents/v3', ok: true }, expect.objectContaining({ api: 'accounts/v2', ok: false })])
    t.clock.now = new Date('2026-12-07T13:01:30Z')
    await prober.probeOnce()
    expect(await status()).toEqual([{ code: 'UNAVAILABLE', explanation: 'APIs indisponíveis: accounts/v2', detectionTime: '2026-12-07T13:01:00Z',
      expectedResolutionTime: '2026-12-07T13:31:30Z', updateTime: '2026-12-07T13:01:30Z', unavailableEndpoints: [`${BASE_URL}/open-banking/accounts/v2`] }])
    // 3. 13:02:00 down, 13:02:30 back: a partly failed minute.
    t.clock.now = new Date('2026-12-07T13:02:00Z')
    await prober.probeOnce()
    state.connectorsReady = true
    t.clock.now = new Date('2026-12-07T13:02:30Z')
    await prober.probeOnce()
    expect((await status()).map((s) => s.code)).toEqual(['PARTIAL_FAILURE'])
    // 4. 13:03:00 a clean minute: OK.
    t.clock.now = new Date('2026-12-07T13:03:00Z')
    await prober.probeOnce()
    expect((await status()).map((s) => s.code)).toEqual(['OK'])
    // 5. The two bad minutes are downtime of the accounts endpoints in the admin metrics (since 00:00 Brasília = 03:00Z).
    t.clock.now = new Date('2026-12-07T13:10:00Z')
    const metrics = await t.app.inject({ method: 'GET', url: '/open-banking/admin/v2/metrics' })
    const accounts = metrics.json().data[0]
    expect(accounts.availability.downtime).toEqual({ generalDowntime: 120, scheduledOutage: 0, partialDowntime: 120 })
    // 10 h 10 min elapsed = 36 600 s; 1 − 120 / 36 600 = 0.996721.
    expect(accounts.availability.uptime.uptimeRate).toBe('0.996721')
  })
})
