import type { CallDetail, CallRecord, CallSearchQuery, CallSearchResult, CallStoryEntry } from '@ponte/contracts'
import { DomainError, type Pool } from '@ponte/platform'

/** Reads the call store for the admin console. */
export interface CallSearch {
  /** Calls matching every given filter, newest first, one page at a time (keyset cursor on received time and id). */
  search(q: CallSearchQuery): Promise<CallSearchResult>
  /** One call with its related consent, payment and audit events; undefined when unknown. */
  detail(eventId: string): Promise<CallDetail | undefined>
}

interface CallRow {
  event_id: string; interaction_id: string; received_at: Date; organisation_id: string | null; client_id: string | null
  software_statement_id: string | null; consent_id: string | null; payment_id: string | null; endpoint: string; method: string
  status: number; ttfb_ms: number; request_bytes: number; response_bytes: number; error_code: string | null; trace_id: string | null
}

const toRecord = (r: CallRow): CallRecord => ({
  eventId: r.event_id, interactionId: r.interaction_id, receivedAt: r.received_at.toISOString(), organisationId: r.organisation_id,
  clientId: r.client_id, softwareStatementId: r.software_statement_id, consentId: r.consent_id, paymentId: r.payment_id,
  endpoint: r.endpoint, method: r.method, status: r.status, ttfbMs: r.ttfb_ms, requestBytes: r.request_bytes,
  responseBytes: r.response_bytes, errorCode: r.error_code, traceId: r.trace_id,
})

const encodeCursor = (r: CallRow) => Buffer.from(JSON.stringify([r.received_at.toISOString(), r.event_id])).toString('base64url')
function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string' && /^[0-9a-f-]{36}$/.test(v[1])) return [v[0], v[1]]
  } catch { /* fall through */ }
  throw new DomainError('INVALID_PARAMETER', 'cursor is not one this service issued')
}

const COLUMNS = `event_id, interaction_id, received_at, organisation_id, client_id, software_statement_id, consent_id, payment_id,
  endpoint, method, status, ttfb_ms, request_bytes, response_bytes, error_code, trace_id`

/** The PostgreSQL call search. */
export function createCallSearch(pool: Pool): CallSearch {
  return {
    async search(q) {
      const where: string[] = []
      const args: unknown[] = []
      const add = (sql: string, value: unknown) => { args.push(value); where.push(sql.replace('?', `$${args.length}`)) }
      if (q.interactionId) add('interaction_id = ?', q.interactionId)
      if (q.consentId) add('consent_id = ?', q.consentId)
      if (q.paymentId) add('payment_id = ?', q.paymentId)
      if (q.organisationId) add('organisation_id = ?', q.organisationId)
      if (q.clientId) add('client_id = ?', q.clientId)
      if (q.endpoint) add('endpoint = ?', q.endpoint)
      if (q.status !== undefined) add('status = ?', q.status)
      if (q.statusClass) {
        const base = Number(q.statusClass[0]) * 100
        add('status >= ?', base)
        add('status < ?', base + 100)
      }
      if (q.from) add('received_at >= ?', q.from)
      if (q.to) add('received_at < ?', q.to)
      if (q.cursor) {
        const [at, id] = decodeCursor(q.cursor)
        args.push(at, id)
        where.push(`(received_at, event_id) < ($${args.length - 1}::timestamptz, $${args.length}::uuid)`)
      }
      args.push(q.limit + 1)
      const { rows } = await pool.query<CallRow>(
        `select ${COLUMNS} from calls ${where.length ? `where ${where.join(' and ')}` : ''}
          order by received_at desc, event_id desc limit $${args.length}`, args)
      const more = rows.length > q.limit
      const page = more ? rows.slice(0, q.limit) : rows
      return { calls: page.map(toRecord), nextCursor: more ? encodeCursor(page.at(-1)!) : null }
    },
    async detail(eventId) {
      const { rows } = await pool.query<CallRow>(`select ${COLUMNS} from calls where event_id = $1 limit 1`, [eventId])
      const row = rows[0]
      if (!row) return undefined
      const story = await pool.query<{ event_id: string; topic: string; type: string; occurred_at: Date; interaction_id: string | null; consent_id: string | null; payment_id: string | null; detail: Record<string, unknown> }>(
        `select event_id, topic, type, occurred_at, interaction_id, consent_id, payment_id, detail from story_events
          where interaction_id = $1 or ($2::text is not null and consent_id = $2) or ($3::text is not null and payment_id = $3)
          order by occurred_at, event_id limit 500`, [row.interaction_id, row.consent_id, row.payment_id])
      return {
        call: toRecord(row),
        story: story.rows.map((s): CallStoryEntry => ({ eventId: s.event_id, topic: s.topic, type: s.type, occurredAt: s.occurred_at.toISOString(),
          interactionId: s.interaction_id, consentId: s.consent_id, paymentId: s.payment_id, detail: s.detail })),
        traceId: row.trace_id,
      }
    },
  }
}
