import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { aCall, BASE_URL, startTrace, stored, type TraceTest } from './support.ts'

const admin = specValidator('admin-v2.0.1.yaml')
const common = specValidator('common-v2.0.1.yaml')
const ACCOUNTS = '/open-banking/accounts/v2/accounts'
const CONSENTS = '/open-banking/consents/v3/consents'

// Brasília is UTC−3: 2026-12-07 00:00 Brasília = 2026-12-07T03:00:00Z. "now" is 01:30 Brasília on the 7th.
const NOW = new Date('2026-12-07T04:30:00Z')

describe('regulator endpoints', () => {
  let t: TraceTest
  beforeAll(async () => {
    t = await startTrace('trace_regulator', new Date('2026-12-07T03:00:00Z'))
    const call = (receivedAt: string, endpoint: string, status: number, ttfbMs: number, method: 'GET' | 'POST' = 'GET') =>
      stored(aCall({ receivedAt, endpoint, status, ttfbMs, method }))
    await t.store.ingest([
      call('2026-12-05T15:00:00.000Z', ACCOUNTS, 200, 200), // 5th (Brasília)
      call('2026-12-07T02:59:59.500Z', ACCOUNTS, 200, 100), // 6th, 23:59:59.5 Brasília
      call('2026-12-07T02:59:59.700Z', ACCOUNTS, 200, 300), // 6th, same second
      call('2026-12-07T03:00:00.100Z', ACCOUNTS, 500, 50), // 7th, 00:00:00.1 Brasília: an error
      call('2026-12-07T03:00:00.200Z', ACCOUNTS, 200, 150), // 7th, same second and minute
      call('2026-12-07T03:00:00.900Z', ACCOUNTS, 429, 10), // 7th: a rejection, not a valid call for availability
      call('2026-12-07T04:00:30.000Z', CONSENTS, 201, 400, 'POST'),
    ], [])
  })
  afterAll(async () => { await t?.close() })

  it('announces a scheduled outage only with notice, then shows it on outages and status while in effect', async () => {
    const headers = await t.asAdmin()
    const tooSoon = await t.app.inject({ method: 'POST', url: '/internal/outages', headers,
      payload: { startsAt: '2026-12-07T03:30:00Z', endsAt: '2026-12-07T03:40:00Z', apis: ['consents/v3'], explanation: 'Manutenção' } })
    expect(tooSoon.statusCode).toBe(422)
    const created = await t.app.inject({ method: 'POST', url: '/internal/outages', headers,
      payload: { startsAt: '2026-12-07T04:10:00Z', endsAt: '2026-12-07T04:20:00Z', apis: ['consents/v3'], explanation: 'Manutenção programada do consentimento' } })
    expect(created.statusCode).toBe(201)
    const unauthenticated = await t.app.inject({ method: 'GET', url: '/internal/outages' })
    expect(unauthenticated.statusCode).toBe(401)

    const outages = await t.app.inject({ method: 'GET', url: '/open-banking/discovery/v2/outages' })
    expect(common.check('GET', '/outages', 200, outages.json())).toEqual([])
    expect(outages.json().data).toEqual([{ outageTime: '2026-12-07T04:10:00Z', duration: 'PT10M', isPartial: true, explanation: 'Manutenção programada do consentimento (APIs: consents/v3)' }])

    const before = await t.app.inject({ method: 'GET', url: '/open-banking/discovery/v2/status' })
    expect(common.check('GET', '/status', 200, before.json())).toEqual([])
    expect(before.json().data.status.map((s: { code: string }) => s.code)).toEqual(['OK'])

    t.clock.now = new Date('2026-12-07T04:15:00Z')
    const during = await t.app.inject({ method: 'GET', url: '/open-banking/discovery/v2/status' })
    expect(common.check('GET', '/status', 200, during.json())).toEqual([])
    expect(during.json().data.status).toEqual([{ code: 'SCHEDULED_OUTAGE', explanation: 'Manutenção programada do consentimento',
      expectedResolutionTime: '2026-12-07T04:20:00Z', updateTime: '2026-12-07T04:10:00Z', unavailableEndpoints: [`${BASE_URL}/open-banking/consents/v3`] }])
    expect(during.json().meta).toEqual({ totalRecords: 1, totalPages: 1 })
  })

  it('reports the current day from 00:00 Brasília, with the hand-computed figures', async () => {
    t.clock.now = NOW
    const res = await t.app.inject({ method: 'GET', url: '/open-banking/admin/v2/metrics?period=CURRENT' })
    expect(res.statusCode).toBe(200)
    expect(admin.check('GET', '/metrics', 200, res.json())).toEqual([])
    const [accounts, consents] = res.json().data
    // Elapsed today: 03:00Z → 04:30Z = 5 400 s. Accounts lost minute 03:00 (1 of 2 valid calls failed): 60 s.
    // Consents lost the scheduled outage 04:10–04:20: 600 s. Any endpoint down: 660 s.
    expect(accounts).toEqual({
      endpoint: `${BASE_URL}${ACCOUNTS}`,
      requestTime: '2026-12-07T04:30:00Z',
      availability: { uptime: { generalUptimeRate: '0.877778', uptimeRate: '0.988889' }, downtime: { generalDowntime: 660, scheduledOutage: 0, partialDowntime: 60 } },
      invocations: { currentDay: 3, previousDays: [] },
      averageResponse: { currentDay: 70, previousDays: [] },
      averageTps: { currentDay: 0, previousDays: [] },
      peakTps: { currentDay: 3, previousDays: [] },
      errors: { currentDay: 1, previousDays: [] },
      rejections: { currentDay: 1, previousDays: [] },
    })
    expect(consents.endpoint).toBe(`${BASE_URL}${CONSENTS}`)
    expect(consents.availability).toEqual({ uptime: { generalUptimeRate: '0.877778', uptimeRate: '0.888889' }, downtime: { generalDowntime: 660, scheduledOutage: 600, partialDowntime: 600 } })
    expect(consents.invocations).toEqual({ currentDay: 1, previousDays: [] })
  })

  it('reports every available previous day, yesterday first, split at the Brasília midnight', async () => {
    t.clock.now = NOW
    const res = await t.app.inject({ method: 'GET', url: '/open-banking/admin/v2/metrics?period=ALL&page-size=1' })
    expect(admin.check('GET', '/metrics', 200, res.json())).toEqual([])
    const body = res.json()
    expect(body.meta).toEqual({ totalRecords: 2, totalPages: 2 })
    expect(body.links.next).toBe(`${BASE_URL}/open-banking/admin/v2/metrics?period=ALL&page=2&page-size=1`)
    const accounts = body.data[0]
    // Window: 2026-12-05 03:00Z → now = 2 days + 5 400 s = 178 200 s.
    expect(accounts.availability.uptime).toEqual({ generalUptimeRate: '0.996296', uptimeRate: '0.999663' })
    expect(accounts.invocations).toEqual({ currentDay: 3, previousDays: [2, 1] })
    expect(accounts.averageResponse).toEqual({ currentDay: 70, previousDays: [200, 200] })
    expect(accounts.peakTps).toEqual({ currentDay: 3, previousDays: [2, 1] })
    expect(accounts.errors).toEqual({ currentDay: 1, previousDays: [0, 0] })
    expect(accounts.rejections).toEqual({ currentDay: 1, previousDays: [0, 0] })
    const page2 = await t.app.inject({ method: 'GET', url: '/open-banking/admin/v2/metrics?period=ALL&page=2&page-size=1' })
    expect(page2.json().data[0].invocations).toEqual({ currentDay: 1, previousDays: [0, 0] })
    expect(page2.json().data[0].availability.downtime).toEqual({ generalDowntime: 660, scheduledOutage: 600, partialDowntime: 600 })
  })

  it('refuses a bad period or page size with the spec envelope', async () => {
    for (const url of ['/open-banking/admin/v2/metrics?period=WEEK', '/open-banking/admin/v2/metrics?page-size=1001']) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(400)
      expect(admin.check('GET', '/metrics', 400, res.json())).toEqual([])
    }
    const res = await t.app.inject({ method: 'GET', url: '/open-banking/discovery/v2/outages?page=0' })
    expect(res.statusCode).toBe(400)
    expect(common.check('GET', '/outages', 400, res.json())).toEqual([])
  })
})
