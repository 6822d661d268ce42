import type { Pool, PoolClient } from '@ponte/platform'
import { partitionDay, partitionName } from '../domain/calls.ts'

/** Advisory lock key of partition DDL in this schema (replicas take turns; the maintenance job skips when busy). */
const LOCK = 'trace.calls.partitions'

/** Creates the raw-call partition of each UTC day in `days` that does not exist yet (idempotent, safe with replicas). */
export async function ensurePartitions(client: PoolClient, days: readonly string[]): Promise<string[]> {
  if (days.length === 0) return []
  await client.query('select pg_advisory_xact_lock(hashtext(current_schema() || $1))', [LOCK])
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace
     where p.relname = 'calls' and n.nspname = current_schema()`)
  const existing = new Set(rows.map((r) => r.name))
  const created: string[] = []
  for (const day of days) {
    const name = partitionName(day)
    if (existing.has(name)) continue
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    await client.query(`create table ${name} partition of calls for values from ('${day} 00:00:00+00') to ('${next} 00:00:00+00')`)
    created.push(name)
  }
  return created
}

/** The raw-call partitions of this schema with their UTC day, oldest first. */
export async function listPartitions(pool: Pool): Promise<Array<{ name: string; day: string }>> {
  const { rows } = await pool.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace
     where p.relname = 'calls' and n.nspname = current_schema() order by c.relname`)
  return rows.flatMap((r) => {
    const day = partitionDay(r.name)
    return day ? [{ name: r.name, day }] : []
  })
}

/** Options of {@link runMaintenance}. */
export interface MaintenanceOptions {
  pool: Pool
  now: Date
  /** Days of partitions created ahead of today (UTC). */
  aheadDays: number
  /** Raw calls, rollups and story events older than this many months are dropped. */
  retentionMonths: number
  /** Per-second counters (only used for the peak TPS of recent days) are kept this many days. */
  secondsRetentionDays?: number
}

/** The first UTC day kept by a retention of `months` calendar months before `now`. */
export function retentionCutoff(now: Date, months: number): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, now.getUTCDate()))
  return d.toISOString().slice(0, 10)
}

/**
 * The partition job: creates the partitions of today and the next `aheadDays` days, drops whole partitions whose day
 * is before the retention cutoff, and deletes rollup rows and story events older than it. It holds one transaction-
 * scoped advisory lock; a replica that finds the lock taken skips this round (the other one is doing the same work).
 */
export async function runMaintenance(options: MaintenanceOptions): Promise<{ skipped: boolean; created: string[]; dropped: string[] }> {
  const { pool, now } = options
  const client = await pool.connect()
  try {
    await client.query('begin')
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtext(current_schema() || $1)) as ok', [`${LOCK}.job`])
    if (!rows[0]?.ok) { await client.query('rollback'); return { skipped: true, created: [], dropped: [] } }
    const days = Array.from({ length: options.aheadDays + 1 }, (_, i) => new Date(now.getTime() + i * 86_400_000).toISOString().slice(0, 10))
    const created = await ensurePartitions(client, days)
    const cutoff = retentionCutoff(now, options.retentionMonths)
    const dropped: string[] = []
    for (const p of await listPartitions(pool)) {
      if (p.day >= cutoff) continue
      await client.query(`drop table ${p.name}`)
      dropped.push(p.name)
    }
    const cutoffTs = `${cutoff} 00:00:00+00`
    await client.query('delete from call_minutes where minute < $1', [cutoffTs])
    await client.query('delete from endpoint_minutes where minute < $1', [cutoffTs])
    await client.query('delete from endpoint_days where day < $1::date', [cutoff])
    await client.query('delete from story_events where occurred_at < $1', [cutoffTs])
    const secondsDays = options.secondsRetentionDays ?? 2
    await client.query('delete from endpoint_seconds where second < $1', [new Date(now.getTime() - secondsDays * 86_400_000)])
    await client.query('commit')
    return { skipped: false, created, dropped }
  } catch (err) {
    await client.query('rollback').catch(() => undefined)
    throw err
  } finally {
    client.release()
  }
}
