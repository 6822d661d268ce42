import { parentPort, workerData } from 'node:worker_threads'
import { createKafka, createLogger, createPublisher, type EventPublisher } from '@ponte/platform'
import { unpack } from './worker-publisher.ts'

/**
 * The thread that owns the gateway's api-call producer (see `worker-publisher.ts`): kafkajs encodes each message in
 * JavaScript (partitioning hash, record encoding, CRC32C), which costs tens of microseconds per event; here it runs
 * beside the request loop instead of inside it.
 */
interface Options { brokers: string[]; clientId: string; logLevel: string }
interface Batch { id: number; topic: string; messages?: Parameters<EventPublisher['sendRaw']>[1]; packed?: string }

const options = workerData as Options
const logger = createLogger({ service: 'gateway', level: options.logLevel as 'info' })
const publisher = createPublisher(createKafka({ brokers: options.brokers, clientId: options.clientId, logger }))
const port = parentPort!

port.on('message', (m: Batch | { close: true }) => {
  if ('close' in m) {
    void publisher.disconnect().catch(() => undefined).finally(() => port.close())
    return
  }
  publisher.sendRaw(m.topic, m.packed !== undefined ? unpack(m.packed) : m.messages ?? []).then(
    () => port.postMessage({ id: m.id }),
    (err: unknown) => port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) }),
  )
})
