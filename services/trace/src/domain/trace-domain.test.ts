import { describe, expect, it } from 'vitest'
import { evaluate, transitions, type AlertThresholds } from './alerts.ts'
import { apiGroupOf, brasiliaDay, brasiliaDayStart, partitionDay, partitionName, statusKind } from './calls.ts'
import { isoDuration, outageList } from './discovery.ts'
import { computeMetrics } from './metrics.ts'

const th: AlertThresholds = { availabilityTarget: 0.95, windowMinutes: 15, minCalls: 20, errorShare: 0.05, throttleShare: 0.05, overloadShare: 0.005, outboxBacklog: 10, consumerLag: 100, certificateDays: 30 }

describe('trace domain', () => {
  it('splits days at 00:00 Brasília (03:00 UTC)', () => {
    expect(brasiliaDay(new Date('2026-12-07T02:59:59.999Z'))).toBe('2026-12-06')
    expect(brasiliaDay(new Date('2026-12-07T03:00:00.000Z'))).toBe('2026-12-07')
    expect(brasiliaDayStart('2026-12-07').toISOString()).toBe('2026-12-07T03:00:00.000Z')
  })

  it('names partitions by UTC day and reads back only its own names', () => {
    expect(partitionName('2026-12-07')).toBe('calls_20261207')
    expect(partitionDay('calls_20261207')).toBe('2026-12-07')
    expect(partitionDay('calls_default')).toBeUndefined()
  })

  it('classifies statuses as the rules count them', () => {
    expect([200, 422, 404].map(statusKind.success)).toEqual([true, true, false])
    expect([500, 529, 408, 429].map(statusKind.failure)).toEqual([true, true, true, false])
    expect([500, 529, 408].map(statusKind.error)).toEqual([true, false, true])
    expect([423, 429, 529, 500].map(statusKind.rejection)).toEqual([true, true, true, false])
    expect(apiGroupOf('/open-banking/credit-cards-accounts/v2/accounts/{creditCardAccountId}/bills')).toBe('credit-cards-accounts/v2')
  })

  it('writes ISO-8601 durations and lists only outages not over', () => {
    expect(isoDuration(9_000_000)).toBe('PT2H30M')
    expect(isoDuration(90_000_000)).toBe('P1DT1H')
    const now = new Date('2026-12-07T12:00:00Z')
    const past = { outageId: 'a', startsAt: new Date('2026-12-07T10:00:00Z'), endsAt: new Date('2026-12-07T11:00:00Z'), apis: [], explanation: 'x' }
    const next = { outageId: 'b', startsAt: new Date('2026-12-08T01:00:00Z'), endsAt: new Date('2026-12-08T02:00:00Z'), apis: [], explanation: 'total' }
    expect(outageList([past, next], now)).toEqual([{ outageTime: '2026-12-08T01:00:00Z', duration: 'PT1H', isPartial: false, explanation: 'total' }])
  })

  it('does not judge shares below the minimum number of calls, and alerts certificates inside the notice', () => {
    const now = new Date('2026-12-07T12:00:00Z')
    const v = evaluate({
      now, availability: [], slaOf: () => 1_500, consumerLag: 101, outboxBacklog: [{ schema: 'consent', pending: 10 }],
      windows: [{ endpoint: '/e', method: 'GET', calls: 19, s5xx: 19, s429: 0, s529: 0, over1500: 19, over2000: 0, over4000: 0 }],
      certificates: [{ subject: 'bank', notAfter: new Date('2027-01-05T12:00:00Z') }, { subject: 'tpp', notAfter: new Date('2027-01-07T12:00:00Z') }],
    }, th)
    expect(v.filter((x) => x.firing).map((x) => x.alertKey)).toEqual(['consumer-lag:trace', 'certificate-expiry:bank'])
    expect(transitions(v, new Set(['outbox-backlog:consent', 'certificate-expiry:bank'])).map((x) => [x.verdict.alertKey, x.to]))
      .toEqual([['outbox-backlog:consent', 'resolved'], ['consumer-lag:trace', 'firing']])
  })

  it('counts a minute down by calls and by the probes once, for the endpoint and in the general downtime', () => {
    const now = new Date('2026-12-07T04:00:00Z') // 3 600 s into the Brasília day
    const m = (iso: string) => Date.parse(iso)
    const [a, b] = computeMetrics({
      now, period: 'CURRENT', firstDay: '2026-12-07', baseUrl: 'https://x.example', outages: [],
      days: [{ day: '2026-12-07', endpoint: '/open-banking/accounts/v2/accounts', calls: 10, ttfbSum: 100, errors: 2, rejections: 0, peakTps: 1 },
        { day: '2026-12-07', endpoint: '/open-banking/loans/v2/contracts', calls: 1, ttfbSum: 1, errors: 0, rejections: 0, peakTps: 1 }],
      // accounts: minutes 03:10 and 03:20 unavailable by its calls; 03:20 also probed down (accounts/v2), as is 03:30.
      unavailable: { seconds: new Map([['/open-banking/accounts/v2/accounts', 120]]), anySeconds: 120,
        minutes: new Map([['/open-banking/accounts/v2/accounts', [m('2026-12-07T03:20:00Z')]]]) },
      probeDownMinutes: new Map([['accounts/v2', [m('2026-12-07T03:20:00Z'), m('2026-12-07T03:30:00Z')]]]),
    })
    expect(a!.availability.downtime).toEqual({ generalDowntime: 180, scheduledOutage: 0, partialDowntime: 180 })
    expect(b!.availability.downtime).toEqual({ generalDowntime: 180, scheduledOutage: 0, partialDowntime: 0 })
    expect(a!.availability.uptime).toEqual({ generalUptimeRate: '0.950000', uptimeRate: '0.950000' })
  })
})
