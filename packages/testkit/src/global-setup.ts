import { topicSettings } from '@ponte/contracts'
import { createKafka, createLogger, ensureTopics } from '@ponte/platform'
import { canConnect, ensureDatabase, kafkaScript, testInfra } from './infra.ts'

/**
 * Makes the real servers the tests and benchmarks need ready: checks that PostgreSQL and Redis answer (one-line
 * explanation otherwise), creates the test database, starts the project's Kafka broker when none answers, and creates
 * every `ponte.*` topic. Returns what undoes it (stops the broker it started, unless KEEP_KAFKA is set).
 */
export async function prepareInfra(): Promise<() => Promise<void>> {
  const infra = testInfra()
  const pgUrl = new URL(infra.databaseUrl)
  if (!(await canConnect(pgUrl.hostname, Number(pgUrl.port || 5432)))) {
    throw new Error(`PostgreSQL is not reachable at ${pgUrl.host}: start it (e.g. pg_ctlcluster 15 main start) or set TEST_DATABASE_URL`)
  }
  const redisUrl = new URL(infra.redisUrl)
  if (!(await canConnect(redisUrl.hostname, Number(redisUrl.port || 6379)))) {
    throw new Error(`Redis is not reachable at ${redisUrl.host}: start it (e.g. redis-server --daemonize yes) or set REDIS_URL`)
  }
  await ensureDatabase(infra.databaseUrl)

  const [host, port] = infra.kafkaBrokers[0]!.split(':')
  let startedKafka = false
  if (!(await canConnect(host!, Number(port)))) {
    await kafkaScript(['start'])
    await kafkaScript(['wait'])
    startedKafka = true
  }
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'test-setup', logger: createLogger({ service: 'test-setup', level: 'warn' }) })
  await ensureTopics(kafka, Object.entries(topicSettings).map(([topic, s]) => ({ topic, ...s })))

  return async () => {
    if (startedKafka && !process.env.KEEP_KAFKA) await kafkaScript(['stop'])
  }
}

/** Vitest global setup: runs {@link prepareInfra} once before the test files. */
export default function setup(): Promise<() => Promise<void>> {
  return prepareInfra()
}
