// The admin metrics keep each closed Brasília day's unavailable minutes once computed
// (docs/decisions/trace-closed-day-metrics.md); a late event of a closed day must still change that day's figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { aCall, startTrace, stored, type TraceTest } from './support.ts'

const admin = specValidator('admin-v2.0.1.yaml')
const ACCOUNTS = '/open-banking/accounts/v2/accounts'
// 01:30 Brasília on the 7th; the window of period=ALL starts 2026-12-06 00:00 Brasília (03:00Z): 91 800 s.
const NOW = new Date('2026-12-07T04:30:00Z')

describe('admin metrics over closed days', () => {
  let t: TraceTest
  const call = (receivedAt: string, status: number) => stored(aCall({ receivedAt, endpoint: ACCOUNTS, status }))
  const metrics = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/open-banking/admin/v2/metrics?period=ALL' })
    expect(admin.check('GET', '/metrics', 200, res.json())).toEqual([])
    const r = res.json().data[0]
    return { invocations: r.invocations, uptime: r.availability.uptime, downtime: r.availability.downtime }
  }
  beforeAll(async () => {
    t = await startTrace('trace_closed_days', new Date('2026-12-07T03:00:00Z'))
    t.clock.now = NOW
    await t.store.ingest([
      call('2026-12-06T12:00:10.000Z', 500), // the 6th (closed): its only valid call of that minute failed → a down minute
      call('2026-12-07T04:00:00.000Z', 200), // the 7th (current day)
    ], [])
  })
  afterAll(async () => { await t?.close() })

  it("counts a closed day's down minute, the same on every request", async () => {
    const expected = {
      invocations: { currentDay: 1, previousDays: [1] },
      uptime: { generalUptimeRate: '0.999346', uptimeRate: '0.999346' }, // 1 − 60 ÷ 91 800
      downtime: { generalDowntime: 60, scheduledOutage: 0, partialDowntime: 60 },
    }
    expect(await metrics()).toEqual(expected)
    expect(await metrics()).toEqual(expected)
  })

  it('a late event of a closed day changes its figures: the kept day is read again', async () => {
    // 20 successful calls of the same minute arrive late: 20 of 21 valid calls succeeded (≥ 95 %) → the minute is up.
    await t.store.ingest(Array.from({ length: 20 }, (_, i) => call(`2026-12-06T12:00:${String(20 + i).padStart(2, '0')}.000Z`, 200)), [])
    expect(await metrics()).toEqual({
      invocations: { currentDay: 1, previousDays: [21] },
      uptime: { generalUptimeRate: '1.000000', uptimeRate: '1.000000' },
      downtime: { generalDowntime: 0, scheduledOutage: 0, partialDowntime: 0 },
    })
    // A late failure in another minute of the closed day → down again.
    await t.store.ingest([call('2026-12-06T13:00:05.000Z', 503)], [])
    expect(await metrics()).toEqual({
      invocations: { currentDay: 1, previousDays: [22] },
      uptime: { generalUptimeRate: '0.999346', uptimeRate: '0.999346' },
      downtime: { generalDowntime: 60, scheduledOutage: 0, partialDowntime: 60 },
    })
  })

  it('a scheduled outage over a closed day\'s down minute is not counted twice', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/open-banking/admin/v2/metrics?period=ALL' })
    expect(res.statusCode).toBe(200)
    await t.availability.addOutage({ startsAt: new Date('2026-12-06T13:00:00Z'), endsAt: new Date('2026-12-06T13:02:00Z'), apis: [], explanation: 'maintenance', createdBy: 'test' }, new Date('2026-12-01T00:00:00Z'))
    const m = await metrics()
    // 120 s of outage, of which the 60 s down minute is one: 120 s down in all.
    expect(m.downtime).toEqual({ generalDowntime: 120, scheduledOutage: 120, partialDowntime: 120 })
  })
})
