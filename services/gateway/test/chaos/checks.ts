// What the fault suite checks after each fault: nothing half-written in the databases (consents and their audit,
// payments and the core's debits), no payment run twice, every committed transition on Kafka once and in order, the
// gateway's api-call events and the TPP's webhooks accounted for. Each check returns the violations it found (an empty
// list is a pass), so the report can count them and the test can fail on them.
import { setTimeout as sleep } from 'node:timers/promises'
import { createKafka, createLogger } from '@ponte/platform'
import type { PixPaymentStatus } from '@ponte/contracts'
import type pg from 'pg'
import { canMove } from '../../../connectors/src/domain/payments.ts'
import type { Received } from '../../../connectors/test/webhooks-support.ts'
import type { Ledger } from './load.ts'

/**
 * Runs `check` until it finds nothing, and answers the violations it kept finding for `forMs` (none when every one
 * cleared within `timeoutMs`). Work in flight passes through states that are inconsistent for an instant (a debit made
 * in the core whose record commits a moment later, a settled debit until the scheduler records it); what the
 * platform leaves inconsistent stays so.
 */
export async function persistent(check: () => Promise<string[]>, { forMs = 15_000, timeoutMs = 60_000, intervalMs = 1_000 } = {}): Promise<string[]> {
  const since = new Map<string, number>()
  const end = Date.now() + timeoutMs
  for (;;) {
    const now = Date.now()
    const found = new Set(await check())
    if (found.size === 0) return []
    for (const k of since.keys()) if (!found.has(k)) since.delete(k)
    for (const k of found) if (!since.has(k)) since.set(k, now)
    const lasting = [...since].filter(([, t]) => now - t >= forMs).map(([k]) => k)
    if (lasting.length || now > end) return lasting
    await sleep(intervalMs)
  }
}

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

/** A message of the broker: its event's id and data, where it sits. */
export interface Message { topic: string; key: string; id: string; data: Record<string, unknown>; partition: number; offset: number }

/** Every message of `topics` on the broker, in partition order. */
async function readTopics(brokers: string, topicNames: string[]): Promise<Message[]> {
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
  const out: Message[] = []
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
            const value = JSON.parse(String(message.value)) as { id: string; data: Record<string, unknown> }
            out.push({ topic, partition, offset, key: String(message.key), id: value.id, data: value.data })
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

/** What the outbox check found, and the messages it read. */
export interface DeliveryReport {
  events: number
  lost: string[]
  duplicated: string[]
  outOfOrder: string[]
  messages: Message[]
}

/**
 * The transactional outboxes of `pools` against the broker: every committed event is on its topic (none lost), and
 * the events of one key (one consent, one payment) are in the order of their commits. An event on Kafka twice (a
 * broker that wrote it and died before acknowledging it: the relay cannot know and sends it again) is listed in
 * `duplicated`; the consumers apply it once by its id (docs/decisions/platform-transactional-outbox.md).
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
  return { events: rows.length, lost, duplicated, outOfOrder, messages }
}

/** The transitions committed so far: each consent's audit entries (their event ids) and each payment's statuses, in order. */
export interface Transitions {
  consents: Map<string, string[]>
  payments: Map<string, PixPaymentStatus[]>
}

/** Reads the transitions; taken before the outboxes are drained, so that each one's event is on Kafka when compared. */
export async function transitions(consentPool: pg.Pool, connectorsPool: pg.Pool): Promise<Transitions> {
  const audit = await consentPool.query<{ consent_id: string; events: string[] }>(`select consent_id, array_agg(event_id::text order by seq) as events from consent_audit group by consent_id`)
  const history = await connectorsPool.query<{ payment_id: string; statuses: PixPaymentStatus[] }>(
    `select payment_id, array_agg(status order by seq) as statuses from pix_payment_status_history group by payment_id`)
  return { consents: new Map(audit.rows.map((r) => [r.consent_id, r.events])), payments: new Map(history.rows.map((r) => [r.payment_id, r.statuses])) }
}

/**
 * Every transition on Kafka and in its order, per key: each audit entry's event (consents, data and payment ones) and
 * an event with each status a payment took (ponte.payment.v1), the first delivery of each event counted. Events of
 * transitions committed after `t` was read may follow; nothing may be missing or out of place. A second copy of an
 * event (same id) is counted by {@link deliveryReport} as a redelivery, not here.
 */
export function transitionViolations(t: Transitions, messages: Message[], consentTopic: string, paymentTopic: string): string[] {
  const out: string[] = []
  const byKey = new Map<string, Message[]>()
  const count = new Map<string, number>()
  for (const m of messages) {
    count.set(m.id, (count.get(m.id) ?? 0) + 1)
    if (count.get(m.id)! > 1) continue
    byKey.set(`${m.topic}|${m.key}`, [...(byKey.get(`${m.topic}|${m.key}`) ?? []), m])
  }
  for (const [consentId, events] of t.consents) {
    const delivered = (byKey.get(`${consentTopic}|${consentId}`) ?? []).map((m) => m.id).filter((id) => events.includes(id))
    if (delivered.join() !== events.join()) out.push(`consent ${consentId}: audited ${events.join(' ')}, on Kafka ${delivered.join(' ') || 'nothing'}`)
  }
  for (const [paymentId, statuses] of t.payments) {
    const events = byKey.get(`${paymentTopic}|${paymentId}`) ?? []
    const delivered = events.slice(0, statuses.length).map((m) => String(m.data.status))
    if (delivered.join() !== statuses.join()) out.push(`payment ${paymentId}: statuses ${statuses.join(' ')}, on Kafka ${delivered.join(' ') || 'nothing'}`)
  }
  return out
}

const FINAL: ReadonlySet<string> = new Set(['ACSC', 'RJCT', 'CANC'])

/** The statuses a payment told `status` may have since (the status machine of connectors, followed to its end). */
function reachable(status: PixPaymentStatus): Set<PixPaymentStatus> {
  const all: PixPaymentStatus[] = ['RCVD', 'CANC', 'ACCP', 'ACPD', 'RJCT', 'ACSC', 'PDNG', 'SCHD']
  const seen = new Set<PixPaymentStatus>([status])
  for (let grew = true; grew;) {
    grew = false
    for (const from of [...seen]) for (const to of all) if (!seen.has(to) && canMove(from, to)) { seen.add(to); grew = true }
  }
  return seen
}

/** What the payment check counted. */
export interface PaymentFigures { payments: number; settled: number; rejected: number; debits: number }

/**
 * Payments against the core's Pix ledger (connectors' `pix_payment_initiation` and the reference core's `pix_payment`
 * and statement lines, one schema here):
 * - no debit without its payment record, no payment ACPD/ACSC without its debit, ACSC only when the core settled, a
 *   rejected payment's debit returned, and every payment completed (settled, rejected or cancelled);
 * - nothing ran twice: one payment per consent, each Pix debit line of the run (after statement line `sinceLine`)
 *   belongs to exactly one payment of its account and amount, each end-to-end id named one payment to the TPP;
 * - every payment the TPP got a 201 for is stored, in a status its answers allow (the last one if final, or one the
 *   status machine reaches from it).
 * Each violation is worded without its instant, so that {@link persistent} can tell a lasting one from work in flight.
 */
export async function paymentViolations(pool: pg.Pool, ledger: Ledger, sinceLine: number): Promise<{ violations: string[]; figures: PaymentFigures }> {
  const out: string[] = []
  const { rows } = await pool.query<{ payment_id: string | null; end_to_end_id: string; status: PixPaymentStatus | null; core_status: string | null; debit: string | null; reversal: string | null }>(`
    select i.payment_id, coalesce(i.end_to_end_id, p.end_to_end_id) as end_to_end_id, i.status,
           p.status as core_status, p.debit_transaction_id::text as debit, p.reversal_transaction_id::text as reversal
      from pix_payment_initiation i full join pix_payment p on p.end_to_end_id = i.end_to_end_id`)
  for (const r of rows) {
    const what = r.payment_id ? `payment ${r.payment_id} (${r.end_to_end_id})` : `core payment ${r.end_to_end_id}`
    if (!r.payment_id) {
      if (r.debit) out.push(`${what}: debited without its payment record`)
      continue
    }
    if ((r.status === 'ACPD' || r.status === 'ACSC') && !r.debit) out.push(`${what}: ${r.status} without its debit in the core`)
    if (r.status === 'ACSC' && r.core_status !== 'SETTLED') out.push(`${what}: ACSC while the core's payment is ${r.core_status ?? 'missing'}`)
    if (r.status === 'RJCT' && r.debit && !r.reversal) out.push(`${what}: RJCT but its debit was not returned`)
    if (!FINAL.has(r.status!)) out.push(`${what}: not completed`)
  }
  const perConsent = await pool.query<{ consent_id: string; n: number }>(`select consent_id, count(*)::int as n from pix_payment_initiation group by consent_id having count(*) > 1`)
  for (const r of perConsent.rows) out.push(`consent ${r.consent_id}: paid ${r.n} times`)
  const lines = await pool.query<{ id: string; account_id: string; amount: string; payments: number; same: boolean }>(`
    select t.id::text, t.account_id::text, t.amount::text,
           (select count(*)::int from pix_payment p where p.debit_transaction_id = t.id) as payments,
           exists (select 1 from pix_payment p where p.debit_transaction_id = t.id and p.debtor_account_id = t.account_id and p.amount = t.amount) as same
      from account_transaction t where t.id > $1 and t.type = 'PIX' and t.credit_debit = 'DEBITO'`, [sinceLine])
  for (const l of lines.rows) {
    if (l.payments !== 1) out.push(`Pix debit line ${l.id} (account ${l.account_id}, ${l.amount}): belongs to ${l.payments} payments`)
    else if (!l.same) out.push(`Pix debit line ${l.id}: another account or amount than its payment's`)
  }
  const stored = new Map(rows.filter((r) => r.payment_id).map((r) => [r.payment_id!, r]))
  const byEndToEnd = new Map<string, string>()
  for (const [paymentId, p] of ledger.payments) {
    const other = byEndToEnd.get(p.endToEndId)
    if (other && other !== paymentId) out.push(`endToEndId ${p.endToEndId}: the TPP was told of payments ${other} and ${paymentId}`)
    byEndToEnd.set(p.endToEndId, paymentId)
    const row = stored.get(paymentId)
    if (!row) { out.push(`payment ${paymentId}: created for the TPP (201) but not stored`); continue }
    const told = p.told.at(-1) as PixPaymentStatus
    const allowed = FINAL.has(told) ? new Set([told]) : reachable(told)
    if (!allowed.has(row.status!)) out.push(`payment ${paymentId}: the TPP was told ${told}, stored ${row.status}`)
  }
  const payments = rows.filter((r) => r.payment_id)
  return {
    violations: out,
    figures: { payments: payments.length, settled: payments.filter((r) => r.status === 'ACSC').length, rejected: payments.filter((r) => r.status === 'RJCT').length, debits: lines.rows.length },
  }
}

/** Resources (payments, payment consents) whose transitions were committed in [from, to], with how many each has in all. */
export async function changedBetween(consentPool: pg.Pool, connectorsPool: pg.Pool, from: Date, to: Date): Promise<Array<{ path: string; transitions: number }>> {
  const payments = await connectorsPool.query<{ payment_id: string; n: number }>(
    `select payment_id, count(*)::int as n from pix_payment_status_history group by payment_id having bool_or(at between $1 and $2)`, [from, to])
  // A payment consent's webhooks: one per change but its renewals (they have none).
  const consents = await consentPool.query<{ consent_id: string; n: number }>(
    `select a.consent_id, count(*)::int as n from consent_audit a join consents c on c.consent_id = a.consent_id
      where c.kind = 'payment' and a.action <> 'extended' group by a.consent_id having bool_or(a.at between $1 and $2)`, [from, to])
  return [
    ...payments.rows.map((r) => ({ path: `/pix/payments/${r.payment_id}`, transitions: r.n })),
    ...consents.rows.map((r) => ({ path: `/consents/${r.consent_id}`, transitions: r.n })),
  ]
}

/** Webhooks: each resource got at least one notification per transition at the TPP's receiver (deliveries may repeat). */
export function missingWebhooks(received: Received[], expected: Array<{ path: string; transitions: number }>): string[] {
  const got = new Map<string, number>()
  for (const r of received) {
    const path = decodeURIComponent(r.path).replace(/^.*\/open-banking\/webhook\/v1\/payments\/v[45]/, '')
    got.set(path, (got.get(path) ?? 0) + 1)
  }
  return expected.filter((e) => (got.get(e.path) ?? 0) < e.transitions).map((e) => `${e.path}: ${got.get(e.path) ?? 0} webhooks for ${e.transitions} transitions`)
}

/** Whether consumer group `groupId` has committed an offset on every partition of `topic`. */
export async function committedEverywhere(brokers: string, groupId: string, topic: string): Promise<boolean> {
  const admin = createKafka({ brokers: [brokers], clientId: 'chaos-check', logger: createLogger({ service: 'chaos-check', level: 'silent' }) }).admin()
  await admin.connect()
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return (committed?.partitions.length ?? 0) > 0 && committed!.partitions.every((p) => Number(p.offset) >= 0)
  } finally {
    await admin.disconnect()
  }
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
