import { topicSettings, topics } from '@ponte/contracts'
import { bootService, createOutboxRelay, ensureTopics, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadCatalogue } from './adapters/catalogue-file.ts'
import { syncPolicyTopic } from './adapters/policy-topic-sync.ts'
import { createUsageReader } from './adapters/usage-reader.ts'
import { loadConfig } from './config.ts'
import { indexCatalogue } from './domain/policy-rules.ts'
import { createPolicyService } from './adapters/policy-service.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const catalogue = orExit(() => loadCatalogue())
const { runtime, serviceAuth } = await bootService(config, new URL('../migrations', import.meta.url))
const { logger, pool, kafka, publisher, redis } = runtime
if (!pool || !kafka || !publisher || !redis) throw new Error('runtime without PostgreSQL, Kafka or Redis')

const policies = createPolicyService({ pool, catalogue: indexCatalogue(catalogue), topic: config.policyTopic })
const seeded = await policies.seedDefaults()
logger.info({ ...seeded, endpoints: catalogue.length }, 'default policies in line with the NFR reference')

// Events leave through the outbox; while Kafka is down they wait there and the relay retries.
const relay = createOutboxRelay({ pool, listenPool: runtime.sessionPool, publisher, logger })
runtime.closers.unshift(() => relay.stop())

// Make the compacted topic hold the whole current set (first start, lost topic, or a topic behind the table).
let stopping = false
runtime.closers.unshift(async () => { stopping = true })
void (async () => {
  for (let attempt = 1, waitMs = 1_000; !stopping; attempt++, waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      await ensureTopics(kafka, [{ topic: config.policyTopic, ...topicSettings[topics.trafficPolicy] }])
      const result = await syncPolicyTopic({ pool, kafka, logger, topic: config.policyTopic })
      logger.info({ ...result, attempt }, 'policy topic checked against the table')
      return
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err), attempt, retryInMs: waitMs }, 'policy topic check failed; will retry')
      await new Promise((r) => setTimeout(r, waitMs).unref())
    }
  }
})()

const app = buildApp({
  serviceAuth,
  server: { logger, readiness: runtime.readiness },
  policies,
  catalogue,
  usage: createUsageReader(redis),
})
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics })
logger.info({ address }, 'traffic listening')
