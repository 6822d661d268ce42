import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  assertSearchPath, createKafka, createOutboxRelay, createPool, createPublisher, enqueueEvent, ensureTopics, migrate, subscribe,
  withTransaction, type Pool,
} from '@ponte/platform'
import { deleteTopics, startPgBouncer, testLogger, testSchema, waitFor, type PgBouncer } from '@ponte/testkit'

const Thing = z.object({ id: z.uuid(), type: z.literal('thing.changed'), data: z.object({ thingId: z.string() }) })
const dir = fileURLToPath(new URL('./fixtures/migrations', import.meta.url))

// A private PgBouncer in transaction mode in front of the shared PostgreSQL, two server connections per role: what a
// service sends must work when consecutive transactions of one client land on different server connections
// (docs/decisions/platform-pgbouncer.md).
describe('PostgreSQL through PgBouncer in transaction mode', () => {
  const schema = testSchema('platform_bouncer')
  const other = testSchema('platform_bouncer_b')
  const role = schema.name
  const otherRole = other.name
  const topic = `test.bouncer.${schema.name}`
  const { logger } = testLogger('bouncer-test')
  let bouncer: PgBouncer
  const pools: Pool[] = []
  const pooled = (r: string, s: string) => {
    const pool = createPool({ url: bouncer.url(r), schema: s, pooler: 'transaction', max: 8 })
    pools.push(pool)
    return pool
  }

  beforeAll(async () => {
    // Migrations go the direct way (they hold a session advisory lock).
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir })
    await migrate({ url: other.databaseUrl, schema: other.name, dir })
    bouncer = await startPgBouncer({ roles: { [role]: schema.name, [otherRole]: other.name }, poolSize: 2 })
  }, 30_000)
  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => undefined)
    await bouncer?.stop()
    await schema.drop()
    await other.drop()
    await deleteTopics([topic]).catch(() => undefined)
  })

  it('refuses the startup options of a direct connection, which is why a pooled pool sends none', async () => {
    const direct = createPool({ url: bouncer.url(role), schema: schema.name })
    pools.push(direct)
    await expect(direct.query('select 1')).rejects.toThrow(/unsupported startup parameter/)
  })

  it('resolves every statement in the role\'s schema, under concurrency, with the role\'s statement timeout', async () => {
    const pool = pooled(role, schema.name)
    await assertSearchPath(pool, schema.name)
    // Sixteen clients over two server connections: each transaction sees its own writes, in its own schema.
    const names = Array.from({ length: 16 }, (_, i) => `w-${i}`)
    const seen = await Promise.all(names.map((name) => withTransaction(pool, async (c) => {
      await c.query('insert into widget (name) values ($1)', [name])
      const { rows } = await c.query<{ n: number; s: string }>('select count(*)::int as n, current_schema() as s from widget where name = $1', [name])
      return rows[0]!
    })))
    expect(seen.every((r) => r.n === 1 && r.s === schema.name)).toBe(true)
    const { rows } = await pool.query<{ t: string }>('select current_setting(\'statement_timeout\') as t')
    expect(rows[0]!.t).toBe('10s')
    // Nothing went to the other schema.
    const otherPool = pooled(otherRole, other.name)
    expect((await otherPool.query<{ n: number }>("select count(*)::int as n from widget where name like 'w-%'")).rows[0]!.n).toBe(0)
  })

  it('stops a service whose role resolves names in another schema', async () => {
    const wrong = pooled(otherRole, schema.name)
    await expect(assertSearchPath(wrong, schema.name)).rejects.toThrow(/ALTER ROLE .* SET search_path/)
  })

  it('relays the outbox through the pooler, woken by LISTEN on a session connection', async () => {
    const pool = pooled(role, schema.name)
    const session = createPool({ url: schema.databaseUrl, schema: schema.name, max: 2 })
    pools.push(session)
    const kafka = createKafka({ brokers: ['127.0.0.1:9092'], clientId: 'bouncer-test', logger })
    const publisher = createPublisher(kafka)
    await ensureTopics(kafka, [{ topic, partitions: 1, compacted: false }])
    const seen: string[] = []
    const sub = await subscribe({ kafka, groupId: `g-${randomUUID()}`, topic, schema: Thing, logger, fromBeginning: true, handler: async (e) => { seen.push(e.id) } })
    // Polling every five minutes: the event arrives within the wait only if the NOTIFY reached the relay's LISTEN.
    const relay = createOutboxRelay({ pool, listenPool: session, publisher, logger, intervalMs: 300_000 })
    try {
      // This relay's own session (its pool is named after the schema), not another service listening on the server.
      await waitFor(async () => (await session.query(`select 1 from pg_stat_activity where query = 'listen ponte_outbox' and application_name = $1`, [schema.name])).rowCount! > 0 || undefined,
        { timeoutMs: 30_000, what: 'the relay to listen' })
      await relay.flush()
      const id = randomUUID()
      await withTransaction(pool, (c) => enqueueEvent(c, { topic, key: 'k', schema: Thing, event: { id, type: 'thing.changed', data: { thingId: 'k' } } }))
      await waitFor(() => seen.includes(id) || undefined, { timeoutMs: 90_000, what: 'the event at the consumer' })
      expect((await pool.query<{ n: number }>('select count(*)::int as n from outbox where published_at is null')).rows[0]!.n).toBe(0)
    } finally {
      await relay.stop()
      await sub.stop()
      await publisher.disconnect().catch(() => undefined)
    }
  }, 180_000)
})
