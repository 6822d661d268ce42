import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createKafka, createPublisher, ensureTopics, subscribe, type Subscription } from '@ponte/platform'
import { testInfra, testLogger, waitFor } from '@ponte/testkit'

const Ping = z.object({ id: z.uuid(), type: z.literal('test.ping'), data: z.object({ n: z.number().int() }) })
type Ping = z.infer<typeof Ping>

describe('Kafka wrapper (real broker)', () => {
  const { logger } = testLogger('kafka-test')
  const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'kafka-test', logger })
  const publisher = createPublisher(kafka)
  const topic = `test.kafka.${randomUUID()}`
  const subs: Subscription[] = []
  afterAll(async () => {
    for (const s of subs) await s.stop()
    await publisher.disconnect()
    const admin = kafka.admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
    await admin.disconnect()
  })

  it('publishes and consumes a typed event; a malformed event is skipped without stopping the consumer', async () => {
    expect(await ensureTopics(kafka, [{ topic, partitions: 1, compacted: false }])).toEqual([topic])
    expect(await ensureTopics(kafka, [{ topic, partitions: 1, compacted: false }])).toEqual([])

    const received: Ping[] = []
    const sub = await subscribe({ kafka, groupId: `g-${randomUUID()}`, topic, schema: Ping, logger, fromBeginning: true,
      handler: async (event) => { received.push(event) } })
    subs.push(sub)

    // 1. a valid event, 2. a message that is not JSON, 3. JSON that breaks the schema, 4. another valid event
    await publisher.publish(topic, Ping, { id: randomUUID(), type: 'test.ping', data: { n: 1 } }, 'k')
    await publisher.sendRaw(topic, [{ key: 'k', value: '{not json' }])
    await publisher.sendRaw(topic, [{ key: 'k', value: JSON.stringify({ id: 'x', type: 'test.ping', data: { n: 'two' } }) }])
    await publisher.publish(topic, Ping, { id: randomUUID(), type: 'test.ping', data: { n: 4 } }, 'k')

    await waitFor(() => received.length >= 2, { timeoutMs: 30_000, what: 'two valid events' })
    expect(received.map((e) => e.data.n)).toEqual([1, 4])
    expect(sub.stats).toEqual({ handled: 2, rejected: 2 })
  })

  it('a group reading from the end resumes where it stopped: what was published while it was away is not skipped', async () => {
    // Two partitions, nothing consumed (so nothing committed by the consumer) before the group stops.
    const away = `${topic}.away`
    await ensureTopics(kafka, [{ topic: away, partitions: 2, compacted: false }])
    await publisher.publish(away, Ping, { id: randomUUID(), type: 'test.ping', data: { n: 0 } }, 'before')
    const groupId = `g-${randomUUID()}`
    const received: number[] = []
    const start = async () => {
      const sub = await subscribe({ kafka, groupId, topic: away, schema: Ping, logger, handler: async (event) => { received.push(event.data.n) } })
      subs.push(sub)
      await sub.ready
      return sub
    }
    const first = await start()
    await first.stop()
    subs.splice(subs.indexOf(first), 1)
    // Published on both partitions while the group is away.
    for (let n = 1; n <= 6; n++) await publisher.publish(away, Ping, { id: randomUUID(), type: 'test.ping', data: { n } }, `key-${n}`)
    await start()
    await waitFor(() => received.length >= 6, { timeoutMs: 30_000, what: 'the events published while the group was away' })
    // The event from before the group's first start stays unread: a new group begins at the end.
    expect(received.sort()).toEqual([1, 2, 3, 4, 5, 6])
    const admin = kafka.admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [away] }).catch(() => undefined)
    await admin.disconnect()
  }, 60_000)

  it('refuses to publish an event that does not match its schema', async () => {
    await expect(publisher.publish(topic, Ping, { id: 'nope', type: 'test.ping', data: { n: 1 } } as never, 'k')).rejects.toThrow()
  })
})
