/**
 * Checks, before `make test`, that PostgreSQL and Redis answer, and says in one line what to start when one does not.
 * (Kafka is started by the test run itself when none answers.)
 */
import { canConnect } from '@ponte/testkit'

const db = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ponte_test')
const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const problems: string[] = []
if (!(await canConnect(db.hostname, Number(db.port || 5432)))) {
  problems.push(`PostgreSQL is not reachable at ${db.host}: start it (e.g. 'pg_ctlcluster 15 main start') or set TEST_DATABASE_URL`)
}
if (!(await canConnect(redis.hostname, Number(redis.port || 6379)))) {
  problems.push(`Redis is not reachable at ${redis.host}: start it (e.g. 'redis-server --daemonize yes') or set REDIS_URL`)
}
for (const p of problems) console.error(`ponte: ${p}`)
if (problems.length) process.exit(1)
