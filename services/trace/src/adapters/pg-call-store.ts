import { maskSensitive, withTransaction, type Pool } from '@ponte/platform'
import { brasiliaDay, rollup, utcDay, type StoredCall } from '../domain/calls.ts'
import { ensurePartitions, retentionCutoff } from './pg-partitions.ts'

/** A consent, payment or audit event as kept for a call's story. */
export interface StoryEvent {
  eventId: string
  topic: string
  type: string
  occurredAt: Date
  interactionId?: string | undefined
  consentId?: string | undefined
  paymentId?: string | undefined
  detail: Record<string, unknown>
}

/** What one batch did. */
export interface IngestResult {
  /** Calls newly stored (and counted in the rollups). */
  stored: number
  /** Calls already stored (redelivered) and skipped. */
  duplicates: number
  /** Calls older than the retention, not stored. */
  expired: number
  /** Story events newly stored. */
  stories: number
}

/** Writes the call store: raw calls, their rollups and story events. */
export interface CallStore {
  /**
   * Stores one batch in one transaction: raw calls with `ON CONFLICT DO NOTHING` on (received_at, event id), the
   * rollups incremented for the newly inserted calls only (a redelivery counts nothing twice), and story events once
   * per id. Either all of it commits or none.
   */
  ingest(calls: readonly StoredCall[], stories: readonly StoryEvent[]): Promise<IngestResult>
}

/** Options of {@link createCallStore}. */
export interface CallStoreOptions {
  pool: Pool
  retentionMonths: number
  now?: () => Date
}

const cols = <T, K extends keyof T>(rows: readonly T[], k: K) => rows.map((r) => r[k])

/** The PostgreSQL call store. */
export function createCallStore(options: CallStoreOptions): CallStore {
  const { pool } = options
  const now = options.now ?? (() => new Date())
  const known = new Set<string>()

  return {
    async ingest(batch, stories) {
      const cutoff = retentionCutoff(now(), options.retentionMonths)
      const kept = batch.filter((c) => utcDay(c.receivedAt) >= cutoff)
      const expired = batch.length - kept.length
      const missing = [...new Set(kept.map((c) => utcDay(c.receivedAt)))].filter((d) => !known.has(d))
      if (missing.length) {
        await withTransaction(pool, (client) => ensurePartitions(client, missing))
        for (const d of missing) known.add(d)
      }
      return withTransaction(pool, async (client) => {
        let fresh: StoredCall[] = []
        if (kept.length) {
          const d = kept.map((c) => c.data)
          const { rows } = await client.query<{ event_id: string }>(
            `insert into calls (received_at, event_id, interaction_id, organisation_id, client_id, software_statement_id,
                consent_id, payment_id, endpoint, method, status, ttfb_ms, request_bytes, response_bytes, error_code, trace_id)
             select * from unnest($1::timestamptz[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::smallint[], $12::real[], $13::int[], $14::int[], $15::text[], $16::text[])
             on conflict do nothing returning event_id`,
            [kept.map((c) => c.receivedAt), kept.map((c) => c.eventId), cols(d, 'interactionId'), cols(d, 'organisationId'),
              cols(d, 'clientId'), cols(d, 'softwareStatementId'), cols(d, 'consentId'), cols(d, 'paymentId'),
              cols(d, 'endpoint'), cols(d, 'method'), cols(d, 'status'), cols(d, 'ttfbMs'), cols(d, 'requestBytes'),
              cols(d, 'responseBytes'), d.map((x) => (x.errorCode === undefined ? null : maskSensitive(x.errorCode))), cols(d, 'traceId')])
          const inserted = new Set(rows.map((r) => r.event_id))
          fresh = kept.filter((c) => inserted.has(c.eventId))
        }
        if (fresh.length) {
          const r = rollup(fresh)
          await client.query(
            `insert into call_minutes as t (minute, endpoint, method, status, organisation_id, calls, ttfb_sum, ttfb_max, over_1500, over_2000, over_4000)
             select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::int[], $7::float8[], $8::real[], $9::int[], $10::int[], $11::int[])
             on conflict (minute, endpoint, method, status, organisation_id) do update set calls = t.calls + excluded.calls,
               ttfb_sum = t.ttfb_sum + excluded.ttfb_sum, ttfb_max = greatest(t.ttfb_max, excluded.ttfb_max),
               over_1500 = t.over_1500 + excluded.over_1500, over_2000 = t.over_2000 + excluded.over_2000, over_4000 = t.over_4000 + excluded.over_4000`,
            [cols(r.callMinutes, 'minute'), cols(r.callMinutes, 'endpoint'), cols(r.callMinutes, 'method'), cols(r.callMinutes, 'status'),
              cols(r.callMinutes, 'organisationId'), cols(r.callMinutes, 'calls'), cols(r.callMinutes, 'ttfbSum'), cols(r.callMinutes, 'ttfbMax'),
              cols(r.callMinutes, 'over1500'), cols(r.callMinutes, 'over2000'), cols(r.callMinutes, 'over4000')])
          await client.query(
            `insert into endpoint_minutes as t (endpoint, minute, calls, ok, failed)
             select * from unnest($1::text[], $2::timestamptz[], $3::int[], $4::int[], $5::int[])
             on conflict (endpoint, minute) do update set calls = t.calls + excluded.calls, ok = t.ok + excluded.ok, failed = t.failed + excluded.failed`,
            [cols(r.endpointMinutes, 'endpoint'), cols(r.endpointMinutes, 'minute'), cols(r.endpointMinutes, 'calls'), cols(r.endpointMinutes, 'ok'), cols(r.endpointMinutes, 'failed')])
          const seconds = await client.query<{ second: Date; endpoint: string; calls: number }>(
            `insert into endpoint_seconds as t (second, endpoint, calls)
             select * from unnest($1::timestamptz[], $2::text[], $3::int[])
             on conflict (second, endpoint) do update set calls = t.calls + excluded.calls
             returning second, endpoint, calls`,
            [cols(r.endpointSeconds, 'second'), cols(r.endpointSeconds, 'endpoint'), cols(r.endpointSeconds, 'calls')])
          const peak = new Map<string, number>()
          for (const s of seconds.rows) {
            const key = `${brasiliaDay(s.second)}\u0000${s.endpoint}`
            peak.set(key, Math.max(peak.get(key) ?? 0, s.calls))
          }
          await client.query(
            `insert into endpoint_days as t (day, endpoint, calls, ttfb_sum, errors, rejections, peak_tps)
             select * from unnest($1::date[], $2::text[], $3::bigint[], $4::float8[], $5::bigint[], $6::bigint[], $7::int[])
             on conflict (day, endpoint) do update set calls = t.calls + excluded.calls, ttfb_sum = t.ttfb_sum + excluded.ttfb_sum,
               errors = t.errors + excluded.errors, rejections = t.rejections + excluded.rejections, peak_tps = greatest(t.peak_tps, excluded.peak_tps)`,
            [cols(r.endpointDays, 'day'), cols(r.endpointDays, 'endpoint'), cols(r.endpointDays, 'calls'), cols(r.endpointDays, 'ttfbSum'),
              cols(r.endpointDays, 'errors'), cols(r.endpointDays, 'rejections'), r.endpointDays.map((x) => peak.get(`${x.day}\u0000${x.endpoint}`) ?? 0)])
        }
        let storedStories = 0
        if (stories.length) {
          const res = await client.query(
            `insert into story_events (event_id, topic, type, occurred_at, interaction_id, consent_id, payment_id, detail)
             select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::uuid[], $6::text[], $7::text[], $8::jsonb[])
             on conflict do nothing`,
            [cols(stories, 'eventId'), cols(stories, 'topic'), cols(stories, 'type'), cols(stories, 'occurredAt'),
              stories.map((s) => s.interactionId ?? null), stories.map((s) => s.consentId ?? null), stories.map((s) => s.paymentId ?? null),
              stories.map((s) => maskSensitive(JSON.stringify(s.detail)))])
          storedStories = res.rowCount ?? 0
        }
        return { stored: fresh.length, duplicates: kept.length - fresh.length, expired, stories: storedStories }
      })
    },
  }
}
