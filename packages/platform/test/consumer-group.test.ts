import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createKafka, createPool, createPublisher, ensureTopics, idempotentHandler, migrate, subscribe, type Subscription } from '@ponte/platform'
import { testInfra, testLogger, testSchema, waitFor } from '@ponte/testkit'

// Two instances of a service consuming in one group, as scaled-out replicas do: the partitions are shared between
// them, and an event delivered again (a redelivery after a rebalance, or published twice) has one visible effect.
const Thing = z.object({ id: z.uuid(), type: z.literal('thing.changed'), data: z.object({ n: z.number().int() }) })
const dir = fileURLToPath(new URL('./fixtures/migrations', import.meta.url))

describe('one consumer group, two instances', () => {
  const schema = testSchema('platform_group')
  const { logger } = testLogger('group-test')
  const topic = `test.group.${randomUUID()}`
  const subs: Subscription[] = []
  const pools: Array<ReturnType<typeof createPool>> = []
  afterAll(async () => {
    for (const s of subs) await s.stop().catch(() => undefined)
    for (const p of pools) await p.end().catch(() => undefined)
    const admin = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'group-test-admin', logger }).admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
    await admin.disconnect()
    await schema.drop()
  })

  it('shares the partitions and applies each event once, also across a redelivery and an instance leaving', async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir })
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 10 })
    await pool.query('create table effect (event_id uuid not null, n int not null, instance int not null)')
    await ensureTopics(createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'group-test-setup', logger }), [{ topic, partitions: 4, compacted: false }])
    const groupId = `group-test-${randomUUID()}`
    // Each instance: its own Kafka client and pool, the same group and the same inbox (the service's schema).
    const instance = async (i: number) => {
      const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: `group-test-${i}`, logger })
      const own = createPool({ url: schema.databaseUrl, schema: schema.name, max: 5 })
      pools.push(own)
      const sub = await subscribe({ kafka, groupId, topic, schema: Thing, logger, fromBeginning: true,
        handler: idempotentHandler(own, 'group-test', async (event, client) => {
          await client.query('insert into effect (event_id, n, instance) values ($1, $2, $3)', [event.id, event.data.n, i])
        }) })
      subs.push(sub)
      return sub
    }
    const [a, b] = await Promise.all([instance(1), instance(2)])
    await Promise.all([a!.ready, b!.ready])

    const publisher = createPublisher(createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'group-test-pub', logger }))
    const events = Array.from({ length: 200 }, (_, n) => ({ id: randomUUID(), type: 'thing.changed' as const, data: { n } }))
    for (const e of events) await publisher.publish(topic, Thing, e, `key-${e.data.n}`)
    // The first 20 once more, as a redelivery would bring them.
    for (const e of events.slice(0, 20)) await publisher.publish(topic, Thing, e, `key-${e.data.n}`)

    const count = async () => Number((await pool.query<{ n: string }>('select count(*) as n from effect')).rows[0]!.n)
    await waitFor(async () => (await count()) >= 200 && a!.stats.handled + b!.stats.handled >= 220 ? true : undefined, { timeoutMs: 60_000, what: '220 deliveries' })
    const dup = await pool.query('select event_id from effect group by event_id having count(*) > 1')
    expect(dup.rowCount).toBe(0)
    expect(await count()).toBe(200)
    // Both instances got partitions and did work.
    const perInstance = (await pool.query<{ instance: number; n: string }>('select instance, count(*) as n from effect group by instance order by instance')).rows
    expect(perInstance.map((r) => r.instance)).toEqual([1, 2])

    // One instance leaves (a scale-in or a crash): the other takes its partitions; still once each.
    await a!.stop()
    const more = Array.from({ length: 40 }, (_, k) => ({ id: randomUUID(), type: 'thing.changed' as const, data: { n: 200 + k } }))
    for (const e of more) await publisher.publish(topic, Thing, e, `key-${e.data.n}`)
    await waitFor(async () => (await count()) >= 240 ? true : undefined, { timeoutMs: 60_000, what: 'the survivor to take every partition' })
    expect(await count()).toBe(240)
    expect((await pool.query('select 1 from effect where n >= 200 and instance <> 2')).rowCount).toBe(0)
    await publisher.disconnect()
    await pool.end()
  }, 120_000)
})
