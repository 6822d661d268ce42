import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aCall, startTrace, stored, type TraceTest } from './support.ts'

// The dashboard's overview, computed by hand over a known set of calls.
describe('operations overview (internal API)', () => {
  const now = new Date('2026-12-06T15:00:00.000Z')
  const at = (minutesAgo: number, s = 0) => new Date(now.getTime() - minutesAgo * 60_000 + s * 1_000).toISOString()
  const CONSENT = '/open-banking/consents/v3/consents/{consentId}' // 1 500 ms tier
  const ACCOUNTS = '/open-banking/accounts/v2/accounts' // 4 000 ms tier
  let t: TraceTest
  let headers: Record<string, string>

  beforeAll(async () => {
    t = await startTrace('trace_overview', now)
    headers = await t.asAdmin()
    const calls = [
      // 20 consent reads 10 minutes ago, 100 ms to 2 000 ms: p95 (linear interpolation) = 1 905 ms, 5 over 1 500 ms.
      ...Array.from({ length: 20 }, (_, i) => aCall({ endpoint: CONSENT, receivedAt: at(10, i), ttfbMs: 100 * (i + 1) })),
      // 5 minutes ago on the accounts list: 6 ok, 2 errors (500, 408), one each of 423, 429, 529.
      ...[200, 200, 200, 200, 200, 200, 500, 408, 423, 429, 529].map((status, i) => aCall({ endpoint: ACCOUNTS, receivedAt: at(5, i), status, ttfbMs: 300 })),
      // An endpoint outside the NFR table counts as a call but belongs to no tier.
      aCall({ endpoint: '/open-banking/not-regulated/v1/things', receivedAt: at(5, 30), ttfbMs: 9_000 }),
      // Outside the window.
      aCall({ endpoint: ACCOUNTS, receivedAt: at(120), status: 500 }),
    ]
    await t.store.ingest(calls.map((c) => stored(c)), [])
  })
  afterAll(async () => { await t?.close() })

  it('answers per-minute counts, shares, p95 per SLA tier and today\'s availability', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/internal/overview?minutes=60', headers })
    expect(res.statusCode, res.body).toBe(200)
    const o = res.json()
    expect(o.windowMinutes).toBe(60)
    expect(o.minutes).toEqual([
      { minute: '2026-12-06T14:50:00.000Z', calls: 20, errors: 0, s423: 0, s429: 0, s529: 0 },
      { minute: '2026-12-06T14:55:00.000Z', calls: 12, errors: 2, s423: 1, s429: 1, s529: 1 },
    ])
    expect(o.totals).toEqual({ calls: 32, errors: 2, s423: 1, s429: 1, s529: 1 })
    expect(o.tiers).toEqual([
      { slaMs: 1_500, calls: 20, p95Ms: 1_905, overShare: 0.25 },
      { slaMs: 2_000, calls: 0, p95Ms: null, overShare: 0 },
      { slaMs: 4_000, calls: 11, p95Ms: 300, overShare: 0 },
    ])
    // Two minutes of the accounts list were down today (6 of 8 valid calls ok 5 minutes ago; the lone 500 two hours
    // ago, outside the window but inside the Brasília day), out of the day's 12 h so far.
    const down = 1 - 120 / (12 * 3_600)
    expect(o.availability.general).toBeCloseTo(down, 6)
    expect(o.availability.lowest[0]).toEqual({ endpoint: ACCOUNTS, uptimeRate: expect.closeTo(down, 6) })
  })

  it('narrows the window and refuses a bad one or a call without a service token', async () => {
    const narrow = (await t.app.inject({ method: 'GET', url: '/internal/overview?minutes=7', headers })).json()
    expect(narrow.totals.calls).toBe(12)
    expect((await t.app.inject({ method: 'GET', url: '/internal/overview?minutes=2', headers })).statusCode).toBe(400)
    expect((await t.app.inject({ method: 'GET', url: '/internal/overview' })).statusCode).toBe(401)
  })
})
