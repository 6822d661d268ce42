import { ApiCall } from '@ponte/contracts'
import { testLogger } from '@ponte/testkit'
import { describe, expect, test } from 'vitest'
import { apiCallEvent, createCallEvents, type ApiCallData } from './call-events.ts'

const data: ApiCallData = { interactionId: '0b6c4f3e-8a6f-4c83-9d39-6f0a7f7f6c11', endpoint: '/open-banking/accounts/v2/accounts/{accountId}', method: 'GET', status: 200, ttfbMs: 1.5, receivedAt: '2026-01-01T00:00:00.123Z', requestBytes: 0, responseBytes: 10 }

describe('api-call events', () => {
  test('the envelope validates against the contract', () => {
    expect(() => ApiCall.parse(apiCallEvent(data, new Date()))).not.toThrow()
  })

  test('a full buffer drops new events, counts them and logs a line, without throwing or waiting', async () => {
    const { logger, lines } = testLogger()
    let release: () => void = () => undefined
    const sent: unknown[] = []
    const publisher = { sendRaw: (_t: string, m: unknown[]) => new Promise<void>((r) => { release = () => { sent.push(...m); r() } }) }
    const events = createCallEvents({ publisher, logger, maxBuffered: 3, batchSize: 100, flushIntervalMs: 60_000 })
    for (let i = 0; i < 5; i++) events.record(data)
    expect(events.stats).toMatchObject({ recorded: 5, dropped: 2, buffered: 3 })
    expect(lines.some((l) => l.msg === 'api-call event buffer full: events dropped')).toBe(true)
    const flushing = events.flush()
    release()
    await flushing
    expect(sent).toHaveLength(3)
    expect(events.stats.published).toBe(3)
    await events.close()
  })

  test('a failed send keeps the events for the next flush', async () => {
    const { logger } = testLogger()
    let fail = true
    const publisher = { sendRaw: async () => { if (fail) throw new Error('broker down') } }
    const events = createCallEvents({ publisher, logger, maxBuffered: 10, batchSize: 10, flushIntervalMs: 60_000 })
    events.record(data)
    await events.flush()
    expect(events.stats).toMatchObject({ sendFailures: 1, buffered: 1, published: 0 })
    fail = false
    await events.flush()
    expect(events.stats).toMatchObject({ buffered: 0, published: 1 })
    await events.close()
  })
})
