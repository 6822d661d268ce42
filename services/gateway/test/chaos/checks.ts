// What the fault suite checks after each fault: nothing half-written in the databases, every committed event on
// Kafka once and in order, the gateway's api-call events accounted for. Each check returns the violations it found
// (an empty list is a pass), so the report can count them and the test can fail on them.
import { createKafka, createLogger } from '@ponte/platform'
import type pg from 'pg'
import type { Ledger } from './load.ts'

/**
 * Consents: each one's status is the `to_status` of its last audit entry, its audit entries form one chain (each starts
 * where the previous ended, the first from nothing), and the status the TPP was last told is the one stored.
 */
export async function consentViolations(pool: pg.Pool, ledger: Ledger): Promise<string[]> {
  const out: string[] = []
  const { rows } = await pool.query<{ consent_id: string; status: string; chain: Array<{ from: string | null; to: string }> | null }>(`
    select c.consent_id, c.status,
           (select json_agg(json_build_object('from', a.from_status, 'to', a.to_status) order by a.seq) from consent_audit a where a.consent_id = c.consent_id) as chain
      from consents c`)
  const stored = new Map(rows.map((r) => [r.consent_id, r]))
  for (const r of rows) {
    const chain = r.chain ?? []
    if (chain.length === 0) { out.push(`consent ${r.consent_id}: no audit entry`); continue }
    if (chain[0]!.from !== null) out.push(`consent ${r.consent_id}: first audit entry starts from ${chain[0]!.from}`)
    for (let i = 1; i < chain.length; i++) {
      if (chain[i]!.from !== chain[i - 1]!.to) out.push(`consent ${r.consent_id}: audit entry ${i} starts from ${chain[i]!.from}, the previous ended at ${chain[i - 1]!.to}`)
    }
    if (chain.at(-1)!.to !== r.status) out.push(`consent ${r.consent_id}: status ${r.status} without its audit entry (last audited ${chain.at(-1)!.to})`)
  }
  for (const [id, told] of ledger.consents) {
    const row = stored.get(id)
    if (!row) { out.push(`consent ${id}: created for the TPP (201) but not stored`); continue }
    if (!told.split('|').includes(row.status)) out.push(`consent ${id}: the TPP was told ${told}, stored ${row.status}`)
  }
  return out
}

/** An outbox row of a service's schema. */
interface OutboxRow { seq: string; event_id: string; topic: string; key: string; published_at: Date | null }

/** Rows of the outboxes not yet acknowledged by Kafka. */
export async function unpublished(pools: pg.Pool[]): Promise<number> {
  let n = 0
  for (const pool of pools) n += (await pool.query<{ n: number }>('select count(*)::int as n from outbox where published_at is null')).rows[0]!.n
  return n
}

/** Every message of `topics` on the broker, as (topic, key, event id) in partition order. */
async function readTopics(brokers: string, topicNames: string[]): Promise<Array<{ topic: string; key: string; id: string; partition: number; offset: number }>> {
  const kafka = createKafka({ brokers: [brokers], clientId: 'chaos-check', logger: createLogger({ service: 'chaos-check', level: 'silent' }) })
  const admin = kafka.admin()
  await admin.connect()
  const ends = new Map<string, number>()
  try {
    for (const t of topicNames) for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}/${p.partition}`, Number(p.high))
  } finally {
    await admin.disconnect()
  }
  const pending = new Set([...ends].filter(([, high]) => high > 0).map(([k]) => k))
  const out: Array<{ topic: string; key: string; id: string; partition: number; offset: number }> = []
  if (pending.size === 0) return out
  const consumer = kafka.consumer({ groupId: `chaos-check-${Date.now()}-${Math.random().toString(36).slice(2)}` })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: topicNames, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topicNames.join(', ')}: still waiting for ${[...pending].join(', ')}`)), 60_000)
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const offset = Number(message.offset)
          if (offset < (ends.get(`${topic}/${partition}`) ?? 0)) {
            const value = JSON.parse(String(message.value)) as { id: string }
            out.push({ topic, partition, offset, key: String(message.key), id: value.id })
          }
          if (offset + 1 >= (ends.get(`${topic}/${partition}`) ?? 0)) {
            pending.delete(`${topic}/${partition}`)
            if (pending.size === 0) { clearTimeout(timer); resolve() }
          }
        },
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** What the outbox check found. */
export interface DeliveryReport {
  events: number
  lost: string[]
  duplicated: string[]
  outOfOrder: string[]
}

/**
 * The transactional outboxes of `pools` against the broker: every committed event is on its topic (none lost), once
 * (a duplicate is reported), and the events of one key (one consent, one payment) are in the order of their commits.
 */
export async function deliveryReport(pools: pg.Pool[], brokers: string, topicNames: string[]): Promise<DeliveryReport> {
  const rows: OutboxRow[] = []
  for (const pool of pools) rows.push(...(await pool.query<OutboxRow>(`select seq, event_id, topic, key, published_at from outbox where topic = any($1) order by seq`, [topicNames])).rows)
  const messages = await readTopics(brokers, topicNames)
  const count = new Map<string, number>()
  for (const m of messages) count.set(m.id, (count.get(m.id) ?? 0) + 1)
  const lost = rows.filter((r) => !count.has(r.event_id)).map((r) => `${r.topic} ${r.key} event ${r.event_id} (outbox seq ${r.seq}, published_at ${r.published_at?.toISOString() ?? 'null'})`)
  const duplicated = rows.filter((r) => (count.get(r.event_id) ?? 0) > 1).map((r) => `${r.topic} ${r.key} event ${r.event_id} delivered ${count.get(r.event_id)} times`)
  // Order per key: the first delivery of each event, in partition order, against the commit order (outbox seq).
  const outOfOrder: string[] = []
  const byKey = new Map<string, OutboxRow[]>()
  for (const r of rows) byKey.set(`${r.topic}|${r.key}`, [...(byKey.get(`${r.topic}|${r.key}`) ?? []), r])
  const seen = new Set<string>()
  const delivered = new Map<string, string[]>()
  for (const m of messages) {
    if (seen.has(m.id)) continue
    seen.add(m.id)
    delivered.set(`${m.topic}|${m.key}`, [...(delivered.get(`${m.topic}|${m.key}`) ?? []), m.id])
  }
  for (const [key, list] of byKey) {
    const committed = list.map((r) => r.event_id)
    const got = (delivered.get(key) ?? []).filter((id) => committed.includes(id))
    if (got.join() !== committed.filter((id) => count.has(id)).join()) outOfOrder.push(`${key}: committed ${committed.join(' ')}, delivered ${got.join(' ')}`)
  }
  return { events: rows.length, lost, duplicated, outOfOrder }
}

/** Reads one Prometheus metrics page into `name{labels}` → value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  const out = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}
