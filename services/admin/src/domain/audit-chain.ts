import { createHash } from 'node:crypto'

/** The hash that precedes the first entry of the chain. */
export const GENESIS_HASH = '0'.repeat(64)

/** One audit entry as it is hashed: everything recorded, in a fixed order. */
export interface AuditRecord {
  seq: number
  entryId: string
  /** RFC 3339 with milliseconds, UTC. */
  at: string
  actorId: string | null
  actorEmail: string | null
  address: string | null
  action: string
  outcome: 'success' | 'failure' | 'denied'
  target: string | null
  before: unknown
  after: unknown
  detail: unknown
  requestId: string | null
}

/** JSON with object keys sorted at every level, so the same value always hashes the same (jsonb reorders keys). */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** `hash = SHA-256(prevHash ‖ canonical JSON of the record)`, hex. */
export function entryHash(prevHash: string, record: AuditRecord): string {
  const body = canonicalJson([record.seq, record.entryId, record.at, record.actorId, record.actorEmail, record.address, record.action,
    record.outcome, record.target, record.before ?? null, record.after ?? null, record.detail ?? null, record.requestId])
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex')
}

/** The first problem found while walking a chain, or none. */
export type ChainVerdict =
  | { ok: true; entries: number; lastHash: string }
  | { ok: false; entries: number; seq: number; problem: 'sequence gap' | 'previous hash mismatch' | 'hash mismatch' }

/**
 * Walks entries in `seq` order and checks each one: its sequence follows the previous one, it names the previous
 * entry's hash, and its own hash matches its content. Any change to, removal of or insertion of an entry breaks one
 * of these from that point on.
 */
export function verifyChain(entries: Iterable<AuditRecord & { prevHash: string; hash: string }>, start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }): ChainVerdict {
  let prev = start.hash
  let expectedSeq = start.seq + 1
  let n = 0
  for (const e of entries) {
    n++
    if (e.seq !== expectedSeq) return { ok: false, entries: n, seq: e.seq, problem: 'sequence gap' }
    if (e.prevHash !== prev) return { ok: false, entries: n, seq: e.seq, problem: 'previous hash mismatch' }
    if (entryHash(e.prevHash, e) !== e.hash) return { ok: false, entries: n, seq: e.seq, problem: 'hash mismatch' }
    prev = e.hash
    expectedSeq++
  }
  return { ok: true, entries: n, lastHash: prev }
}
