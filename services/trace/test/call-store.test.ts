import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listPartitions, runMaintenance } from '../src/adapters/pg-partitions.ts'
import { aCall, startTrace, stored, type TraceTest } from './support.ts'

describe('call store', () => {
  let t: TraceTest
  beforeAll(async () => { t = await startTrace('trace_store') })
  afterAll(async () => { await t?.close() })

  it('stores a redelivered call once and counts it once in every rollup', async () => {
    const at = '2026-12-01T12:00:10.000Z'
    const calls = [
      stored(aCall({ receivedAt: at, status: 200, ttfbMs: 100 })),
      stored(aCall({ receivedAt: at, status: 500, ttfbMs: 1_600 })),
      stored(aCall({ receivedAt: '2026-12-01T12:00:10.500Z', status: 429, ttfbMs: 5 })),
    ]
    const first = await t.store.ingest(calls, [])
    expect(first).toMatchObject({ stored: 3, duplicates: 0 })
    // The same batch again (a redelivery after a crash before the offset commit), plus one new call.
    const again = await t.store.ingest([...calls, stored(aCall({ receivedAt: at }))], [])
    expect(again).toMatchObject({ stored: 1, duplicates: 3 })
    const count = await t.pool.query('select count(*)::int as n from calls')
    expect(count.rows[0].n).toBe(4)
    const minutes = await t.pool.query('select sum(calls)::int as calls, sum(over_1500)::int as slow from call_minutes')
    expect(minutes.rows[0]).toEqual({ calls: 4, slow: 1 })
    const em = await t.pool.query('select calls, ok, failed from endpoint_minutes')
    expect(em.rows).toEqual([{ calls: 4, ok: 2, failed: 1 }])
    const days = await t.pool.query(`select to_char(day, 'YYYY-MM-DD') as day, calls::int, errors::int, rejections::int, peak_tps from endpoint_days`)
    expect(days.rows).toEqual([{ day: '2026-12-01', calls: 4, errors: 1, rejections: 1, peak_tps: 4 }])
  })

  it('keeps one partition per UTC day and drops only those past the retention', async () => {
    const now = new Date('2026-12-07T10:00:00Z')
    t.clock.now = now
    const old = stored(aCall({ receivedAt: '2025-11-06T23:59:59.000Z' })) // before 2025-11-07, the 13-month cutoff
    const kept = stored(aCall({ receivedAt: '2025-11-07T00:00:00.000Z' }))
    // An event already past the retention when it arrives is not stored; back-date the clock to store the old one.
    t.clock.now = new Date('2026-11-01T00:00:00Z')
    await t.store.ingest([old, kept], [])
    t.clock.now = now
    const before = await listPartitions(t.pool)
    expect(before.map((p) => p.day)).toEqual(expect.arrayContaining(['2025-11-06', '2025-11-07', '2026-12-01']))
    const result = await runMaintenance({ pool: t.pool, now, aheadDays: 2, retentionMonths: 13 })
    expect(result.dropped).toEqual(['calls_20251106'])
    expect(result.created).toEqual(['calls_20261207', 'calls_20261208', 'calls_20261209'])
    const after = await listPartitions(t.pool)
    expect(after.map((p) => p.day)).toEqual(['2025-11-07', '2026-12-01', '2026-12-07', '2026-12-08', '2026-12-09'])
    const ids = await t.pool.query<{ event_id: string }>('select event_id from calls')
    expect(ids.rows.map((r) => r.event_id)).toContain(kept.eventId)
    expect(ids.rows.map((r) => r.event_id)).not.toContain(old.eventId)
    expect(ids.rows).toHaveLength(5)
    // A second replica running the job at the same time skips it.
    const a = t.pool.connect()
    const holder = await a
    await holder.query('begin')
    await holder.query("select pg_advisory_xact_lock(hashtext(current_schema() || 'trace.calls.partitions.job'))")
    expect((await runMaintenance({ pool: t.pool, now, aheadDays: 2, retentionMonths: 13 })).skipped).toBe(true)
    await holder.query('rollback')
    holder.release()
    // A call older than the retention is counted as expired, not stored.
    expect(await t.store.ingest([stored(aCall({ receivedAt: '2025-01-01T00:00:00.000Z' }))], [])).toMatchObject({ stored: 0, expired: 1 })
  })
})
