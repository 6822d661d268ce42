import { randomUUID } from 'node:crypto'
import { StaffAuditRecorded, topics } from '@ponte/contracts'
import { enqueueEvent, type Pool, type PoolClient } from '@ponte/platform'
import { GENESIS_HASH, entryHash, verifyChain, type AuditRecord, type ChainVerdict } from '../domain/audit-chain.ts'

/** What a caller records; the store adds the sequence, time, id and hashes. */
export interface AuditInput {
  actorId?: string | undefined
  actorEmail?: string | undefined
  address?: string | undefined
  action: string
  outcome: AuditRecord['outcome']
  target?: string | undefined
  before?: unknown
  after?: unknown
  detail?: unknown
  requestId?: string | undefined
}

/** A stored entry. */
export type AuditEntry = AuditRecord & { prevHash: string; hash: string }

/** Filters of {@link AuditStore.search}. */
export interface AuditQuery {
  actor?: string | undefined
  action?: string | undefined
  target?: string | undefined
  outcome?: AuditRecord['outcome'] | undefined
  from?: Date | undefined
  to?: Date | undefined
  limit: number
  /** Entries with `seq` below this one (paging backwards, newest first). */
  beforeSeq?: number | undefined
}

/** The console's audit trail: append-only (a trigger refuses UPDATE, DELETE, TRUNCATE) and hash-chained. */
export interface AuditStore {
  /**
   * Appends an entry and enqueues it on `ponte.audit.v1` in the same transaction (inside `client`'s transaction when
   * given). Appends are serialised by a transaction-scoped advisory lock, so the chain never forks.
   */
  append(input: AuditInput, client?: PoolClient): Promise<AuditEntry>
  /** Newest first. */
  search(query: AuditQuery): Promise<AuditEntry[]>
  /** Walks the whole chain in pages of `pageSize` and answers the first break found. */
  verify(pageSize?: number): Promise<ChainVerdict>
}

interface Row {
  seq: string; entry_id: string; at: Date; actor_id: string | null; actor_email: string | null; address: string | null; action: string
  outcome: AuditRecord['outcome']; target: string | null; before: unknown; after: unknown; detail: unknown; request_id: string | null
  prev_hash: string; hash: string
}
const toEntry = (r: Row): AuditEntry => ({
  seq: Number(r.seq), entryId: r.entry_id, at: r.at.toISOString(), actorId: r.actor_id, actorEmail: r.actor_email, address: r.address,
  action: r.action, outcome: r.outcome, target: r.target, before: r.before, after: r.after, detail: r.detail, requestId: r.request_id,
  prevHash: r.prev_hash, hash: r.hash,
})

// One lock id for the whole chain (any constant bigint; "audit" in ASCII).
const CHAIN_LOCK = 0x6175646974

/** JSON values as PostgreSQL jsonb will give them back (undefined members dropped), so the hash is stable. */
const normalise = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)))

export function createAuditStore(pool: Pool, clock: { now(): Date } = { now: () => new Date() }): AuditStore {
  async function appendIn(client: PoolClient, input: AuditInput): Promise<AuditEntry> {
    await client.query('select pg_advisory_xact_lock($1)', [CHAIN_LOCK])
    const { rows } = await client.query<{ seq: string; hash: string }>('select seq, hash from audit_log order by seq desc limit 1')
    const prevHash = rows[0]?.hash ?? GENESIS_HASH
    const record: AuditRecord = {
      seq: rows[0] ? Number(rows[0].seq) + 1 : 1,
      entryId: randomUUID(),
      at: clock.now().toISOString(),
      actorId: input.actorId ?? null,
      actorEmail: input.actorEmail ?? null,
      address: input.address ?? null,
      action: input.action,
      outcome: input.outcome,
      target: input.target ?? null,
      before: normalise(input.before),
      after: normalise(input.after),
      detail: normalise(input.detail),
      requestId: input.requestId ?? null,
    }
    const hash = entryHash(prevHash, record)
    await client.query(
      `insert into audit_log (seq, entry_id, at, actor_id, actor_email, address, action, outcome, target, before, after, detail, request_id, prev_hash, hash)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [record.seq, record.entryId, record.at, record.actorId, record.actorEmail, record.address, record.action, record.outcome, record.target,
        JSON.stringify(record.before), JSON.stringify(record.after), JSON.stringify(record.detail), record.requestId, prevHash, hash],
    )
    const entry: AuditEntry = { ...record, prevHash, hash }
    await enqueueEvent(client, {
      topic: topics.audit,
      key: 'staff',
      schema: StaffAuditRecorded,
      event: { id: record.entryId, source: 'admin', occurredAt: record.at, version: 1, type: 'audit.staff-action', data: entry },
    })
    return entry
  }

  return {
    async append(input, client) {
      if (client) return appendIn(client, input)
      const c = await pool.connect()
      try {
        await c.query('begin')
        const entry = await appendIn(c, input)
        await c.query('commit')
        return entry
      } catch (err) {
        await c.query('rollback').catch(() => undefined)
        throw err
      } finally {
        c.release()
      }
    },
    async search(q) {
      const where: string[] = []
      const args: unknown[] = []
      const add = (sql: string, v: unknown) => { args.push(v); where.push(sql.replace('?', `$${args.length}`)) }
      if (q.actor) add('actor_email = ?', q.actor.toLowerCase())
      if (q.action) add('action = ?', q.action)
      if (q.target) add('target = ?', q.target)
      if (q.outcome) add('outcome = ?', q.outcome)
      if (q.from) add('at >= ?', q.from)
      if (q.to) add('at < ?', q.to)
      if (q.beforeSeq) add('seq < ?', q.beforeSeq)
      args.push(q.limit)
      const { rows } = await pool.query<Row>(
        `select * from audit_log ${where.length ? `where ${where.join(' and ')}` : ''} order by seq desc limit $${args.length}`, args)
      return rows.map(toEntry)
    },
    async verify(pageSize = 1000) {
      let start = { seq: 0, hash: GENESIS_HASH }
      let total = 0
      for (;;) {
        const { rows } = await pool.query<Row>('select * from audit_log where seq > $1 order by seq limit $2', [start.seq, pageSize])
        if (rows.length === 0) return { ok: true, entries: total, lastHash: start.hash }
        const entries = rows.map(toEntry)
        const verdict = verifyChain(entries, start)
        if (!verdict.ok) return { ...verdict, entries: total + verdict.entries }
        total += entries.length
        const last = entries[entries.length - 1]!
        start = { seq: last.seq, hash: last.hash }
      }
    },
  }
}
