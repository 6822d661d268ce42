import { Worker } from 'node:worker_threads'
import type { EventPublisher } from '@ponte/platform'

/** Options of {@link createWorkerPublisher}. */
export interface WorkerPublisherOptions {
  brokers: readonly string[]
  clientId: string
  logLevel: string
}

/** A `sendRaw` whose Kafka producer lives in a worker thread; `close` disconnects it and ends the thread. */
export type WorkerPublisher = Pick<EventPublisher, 'sendRaw'> & { close(): Promise<void> }

type Messages = Parameters<EventPublisher['sendRaw']>[1]
const SEP = '\u0001'
const FIELD = '\u0000'

/**
 * A batch of string messages as one string (copied across threads at memcpy speed instead of cloned object by
 * object): `key NUL value NUL headersJson` joined by SOH. `undefined` when a message does not fit (a Buffer, a
 * partition, or a control character that would be ambiguous); the batch then goes as objects.
 */
export function pack(messages: Messages): string | undefined {
  const parts: string[] = []
  let lastHeaders: unknown
  let lastJson = ''
  for (const m of messages) {
    const { key, value, headers } = m
    if (typeof key !== 'string' || typeof value !== 'string' || m.partition !== undefined || m.timestamp !== undefined) return undefined
    if (key.includes(FIELD) || key.includes(SEP) || value.includes(FIELD) || value.includes(SEP)) return undefined
    if (headers !== lastHeaders) {
      lastHeaders = headers
      lastJson = headers ? JSON.stringify(headers) : ''
    }
    parts.push(`${key}${FIELD}${value}${FIELD}${lastJson}`)
  }
  return parts.join(SEP)
}

/** The inverse of {@link pack}. */
export function unpack(packed: string): Messages {
  if (packed === '') return []
  let lastJson = ''
  let lastHeaders: Record<string, string> | undefined
  return packed.split(SEP).map((p) => {
    const a = p.indexOf(FIELD)
    const b = p.indexOf(FIELD, a + 1)
    const json = p.slice(b + 1)
    if (json !== lastJson) {
      lastJson = json
      lastHeaders = json ? (JSON.parse(json) as Record<string, string>) : undefined
    }
    return { key: p.slice(0, a), value: p.slice(a + 1, b), ...(lastHeaders ? { headers: lastHeaders } : {}) }
  })
}

/**
 * Sends batches of pre-serialised messages through a producer owned by a worker thread, so the encoding cost of
 * kafkajs stays off the request loop. A batch resolves once the broker acknowledged it, or rejects with the
 * producer's error (callers keep and retry it). A thread that dies is started again by the next batch.
 */
export function createWorkerPublisher(options: WorkerPublisherOptions): WorkerPublisher {
  let worker: Worker | undefined
  let nextId = 1
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }

  function start(): Worker {
    const w = new Worker(new URL('./event-worker.ts', import.meta.url), { workerData: { brokers: [...options.brokers], clientId: options.clientId, logLevel: options.logLevel } })
    w.unref()
    w.on('message', (m: { id: number; error?: string }) => {
      const p = pending.get(m.id)
      if (!p) return
      pending.delete(m.id)
      if (m.error === undefined) p.resolve()
      else p.reject(new Error(m.error))
    })
    w.on('error', (err) => failAll(err))
    w.on('exit', (code) => {
      if (worker === w) worker = undefined
      failAll(new Error(`event publisher thread exited (${code})`))
    })
    return w
  }

  return {
    sendRaw(topic, messages) {
      worker ??= start()
      const id = nextId++
      const done = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }))
      // While a batch is in flight the thread must keep the process alive (the flush awaits it).
      worker.ref()
      const packed = pack(messages)
      worker.postMessage(packed === undefined ? { id, topic, messages } : { id, topic, packed })
      return done.finally(() => { if (pending.size === 0) worker?.unref() })
    },
    async close() {
      const w = worker
      if (!w) return
      worker = undefined
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()))
      w.postMessage({ close: true })
      const timer = setTimeout(() => void w.terminate(), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}
