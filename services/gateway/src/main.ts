import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { createLogger, loadServiceKeys, loadTls, openRuntime, orExit, runService } from '@ponte/platform'
import { superviseWorkers } from './adapters/workers.ts'
import { createWorkerPublisher } from './adapters/worker-publisher.ts'
import { composeGateway } from './compose.ts'
import { loadConfig } from './config.ts'

// The only file that reads the environment and listens. It opens the process-wide runtime (logger, Kafka client) and
// the event worker; composeGateway (compose.ts) opens the gateway's own connections (Redis, upstream pools, JWKS agent,
// Kafka subscriptions), so the integration tests build exactly this gateway without a process.
const config = orExit(() => loadConfig(process.env))
// Checked in the primary too, so a bad key or certificate stops the gateway instead of a loop of dying workers.
const serviceKeys = orExit(() => loadServiceKeys(config.serviceKeys))
const https = orExit(() => loadTls(config.tls))
// One process per core by default (GATEWAY_WORKERS): the primary only supervises, the workers share the listener and
// each runs the whole gateway below (its own caches, Kafka subscriptions and connections).
const workers = config.workers === 0 ? availableParallelism() : config.workers
if (workers > 1 && cluster.isPrimary) {
  superviseWorkers({ workers, logger: createLogger({ service: config.service, level: config.logLevel }), shutdownTimeoutMs: config.shutdownTimeoutMs })
} else {
  const runtime = await openRuntime({ service: config.service, logLevel: config.logLevel, kafka: config.kafka })
  // Kafka and Redis outages degrade (events buffered, limits per LIMITS_ON_REDIS_DOWN) without leaving rotation, so
  // neither is a readiness check.
  // api-call events are produced from a worker thread: kafkajs encoding stays off the request loop.
  const events = createWorkerPublisher({ brokers: config.kafka.brokers, clientId: `${config.service}-events`, logLevel: config.logLevel })
  const gateway = await composeGateway({ config, logger: runtime.logger, kafka: runtime.kafka!, publisher: events, serviceKeys, https, readiness: [] })
  const address = await runService({
    app: gateway.app,
    host: config.http.host,
    port: config.http.port,
    closers: [...gateway.closers, () => events.close(), ...runtime.closers],
    shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics, drainDelayMs: config.drainDelayMs,
  })
  runtime.logger.info({ address, policies: gateway.policies.size, ...(cluster.isWorker ? { worker: process.pid } : {}) }, 'gateway listening')
}
