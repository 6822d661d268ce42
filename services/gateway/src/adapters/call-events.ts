import { randomUUID } from 'node:crypto'
import { topics, type ApiCall } from '@ponte/contracts'
import type { EventPublisher, Logger } from '@ponte/platform'

/** The payload of one api-call event. */
export type ApiCallData = ApiCall['data']

/** Options of {@link createCallEvents}. */
export interface CallEventsOptions {
  publisher: Pick<EventPublisher, 'sendRaw'>
  logger: Logger
  /** Events held while Kafka is slow or down; beyond this, new events are dropped (counted and logged). */
  maxBuffered: number
  /** Events per Kafka request. */
  batchSize: number
  /** How often the buffer is flushed. */
  flushIntervalMs: number
  now?: () => Date
}

/** Buffered, never-blocking producer of `ponte.api-call.v1`. */
export interface CallEvents {
  /** Queues one event; never throws, never waits. */
  record(data: ApiCallData): void
  /** Sends what is buffered (also run by the timer). */
  flush(): Promise<void>
  /** Stops the timer and flushes once. */
  close(): Promise<void>
  readonly stats: { recorded: number; published: number; dropped: number; sendFailures: number; buffered: number }
}

interface Message { key: string; value: string; headers: Record<string, string> }
/** Every api-call message carries the same headers (one shared object). */
const HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'event-type': 'api.call' })

/** Builds the event envelope around a payload. */
export function apiCallEvent(data: ApiCallData, now: Date): ApiCall {
  return { id: randomUUID(), source: 'gateway', occurredAt: now.toISOString(), version: 1, interactionId: data.interactionId, type: 'api.call', data }
}

/** Creates the buffer and starts its flush timer. */
export function createCallEvents(options: CallEventsOptions): CallEvents {
  const now = options.now ?? (() => new Date())
  let buffer: Message[] = []
  let sending = false
  let droppedSinceLog = 0
  let lastDropLog = 0
  const stats = { recorded: 0, published: 0, dropped: 0, sendFailures: 0, get buffered() { return buffer.length } }

  const drop = (n: number) => {
    stats.dropped += n
    droppedSinceLog += n
    const t = Date.now()
    // One line per second at most while dropping, each with the count since the previous line.
    if (t - lastDropLog >= 1_000) {
      options.logger.error({ dropped: droppedSinceLog, droppedTotal: stats.dropped, maxBuffered: options.maxBuffered }, 'api-call event buffer full: events dropped')
      droppedSinceLog = 0
      lastDropLog = t
    }
  }

  async function flush(): Promise<void> {
    if (sending || buffer.length === 0) return
    sending = true
    try {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, options.batchSize)
        try {
          await options.publisher.sendRaw(topics.apiCall, batch)
        } catch (err) {
          stats.sendFailures++
          options.logger.warn({ err: err instanceof Error ? err.message : String(err), buffered: buffer.length }, 'api-call events not sent; will retry')
          return
        }
        buffer = buffer.slice(batch.length)
        stats.published += batch.length
      }
    } finally {
      sending = false
    }
  }

  const timer = setInterval(() => void flush(), options.flushIntervalMs)
  timer.unref()

  return {
    stats,
    record(data) {
      stats.recorded++
      if (buffer.length >= options.maxBuffered) return drop(1)
      const event = apiCallEvent(data, now())
      buffer.push({ key: data.interactionId, value: JSON.stringify(event), headers: HEADERS })
      if (buffer.length >= options.batchSize && !sending) void flush()
    },
    flush,
    async close() {
      clearInterval(timer)
      await flush()
      if (buffer.length > 0) drop(buffer.length)
    },
  }
}
