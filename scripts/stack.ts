/**
 * Brings the whole platform up on one machine (`make up`) and down again (`make down`).
 *
 *   node scripts/stack.ts up       checks PostgreSQL/Redis, starts Kafka, creates the database, the dev PKI, the
 *                                  internal service keys and the topics, starts every service in the background
 *                                  (logs in .run/logs), waits until every /readyz is green, prints the endpoints.
 *   node scripts/stack.ts down     stops exactly what `up` started (services, then Kafka if `up` started it).
 *   node scripts/stack.ts status   one line per service.
 *
 * Idempotent: `up` on a running stack only starts what is missing.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'undici'
import { canConnect, kafkaScript, repoRoot } from '@ponte/testkit'
import { prepareDevEnvironment } from './dev-setup.ts'
import { createProgress, type Progress } from './progress.ts'
import { services, type StackService } from './stack-services.ts'

const run = `${repoRoot}.run`
const logs = `${run}/logs`
const pids = `${run}/pids`
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ponte'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'

function fail(message: string): never {
  console.error(`ponte: ${message}`)
  process.exit(1)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function pidOf(name: string): number | undefined {
  const file = `${pids}/${name}.pid`
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8'))
  return Number.isInteger(pid) && alive(pid) ? pid : undefined
}

async function checkPrerequisites() {
  const db = new URL(databaseUrl)
  if (!(await canConnect(db.hostname, Number(db.port || 5432)))) {
    fail(`PostgreSQL is not reachable at ${db.host}: start it (e.g. 'pg_ctlcluster 15 main start') or set DATABASE_URL`)
  }
  const redis = new URL(redisUrl)
  if (!(await canConnect(redis.hostname, Number(redis.port || 6379)))) {
    fail(`Redis is not reachable at ${redis.host}: start it (e.g. 'redis-server --daemonize yes') or set REDIS_URL`)
  }
}

async function startKafka(): Promise<void> {
  const [host, port] = kafkaBrokers.split(',')[0]!.split(':')
  if (await canConnect(host!, Number(port))) return
  if (process.env.KAFKA_BROKERS) fail(`Kafka is not reachable at ${kafkaBrokers}`)
  console.log('ponte: starting Kafka (first run fetches the broker from Maven Central)')
  // The fetch in the foreground, its progress on this terminal (or plain lines in a log); a no-op once fetched.
  const fetched = spawnSync('bash', [`${repoRoot}scripts/kafka.sh`, 'fetch'], { cwd: repoRoot, stdio: 'inherit' })
  if (fetched.status !== 0) fail('fetching the Kafka broker failed (see above)')
  try {
    await kafkaScript(['start'])
    await kafkaScript(['wait'])
  } catch (err) {
    fail(`Kafka did not start: ${(err as { stderr?: string }).stderr?.trim().split('\n').pop() ?? String(err)}`)
  }
  writeFileSync(`${run}/kafka.started-by-up`, '')
}

/** Shared, generated-once material: dev PKI, internal service keys, database, topics. */
async function prepare(): Promise<Record<string, string>> {
  mkdirSync(logs, { recursive: true })
  mkdirSync(pids, { recursive: true })
  const env = await prepareDevEnvironment({ pkiDir: `${repoRoot}.pki`, keysDir: run, databaseUrl, kafkaBrokers: kafkaBrokers.split(',') })
  return { ...env, REDIS_URL: redisUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }
}

function startService(svc: StackService, env: Record<string, string>): void {
  if (pidOf(svc.name)) return
  const out = openSync(`${logs}/${svc.name}.log`, 'a')
  const child = spawn(process.execPath, ['--import', '@ponte/platform/otel', 'src/main.ts'], {
    cwd: `${repoRoot}services/${svc.name}`,
    env: { ...process.env, ...env, ...svc.env(env), METRICS_PORT: String(svc.metricsPort), OTEL_SERVICE_NAME: `ponte-${svc.name}` },
    stdio: ['ignore', out, out],
    detached: true,
  })
  writeFileSync(`${pids}/${svc.name}.pid`, String(child.pid))
  child.unref()
}

const insecureLocal = new Agent({ connect: { rejectUnauthorized: false } })

async function ready(svc: StackService): Promise<boolean> {
  try {
    const res = await request(`${svc.readyUrl}/readyz`, { dispatcher: insecureLocal, signal: AbortSignal.timeout(2_000) })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  }
}

async function waitReady(group: StackService[], progress: Progress, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const pending = new Set(group)
  while (pending.size) {
    for (const svc of [...pending]) {
      if (!pidOf(svc.name)) fail(`${svc.name} exited during start; see .run/logs/${svc.name}.log:\n${tail(svc.name)}`)
      if (await ready(svc)) {
        pending.delete(svc)
        progress.increment()
      }
    }
    if (!pending.size) break
    if (Date.now() > deadline) fail(`not ready after ${timeoutMs / 1000} s: ${[...pending].map((s) => s.name).join(', ')} (see .run/logs/)`)
    await new Promise((r) => setTimeout(r, 300))
  }
}

function tail(name: string): string {
  try {
    return readFileSync(`${logs}/${name}.log`, 'utf8').trim().split('\n').slice(-8).join('\n')
  } catch {
    return ''
  }
}

async function up() {
  await checkPrerequisites()
  mkdirSync(run, { recursive: true })
  await startKafka()
  const env = await prepare()
  for (const svc of services) await svc.beforeStart?.({ env, databaseUrl })
  const groups = [...new Set(services.map((s) => s.group))].sort((a, b) => a - b)
  // Services become ready one by one (migrations, the demo bank): a bar on a terminal, plain lines in a log.
  const progress = createProgress({ label: 'ponte', unit: 'services' })
  try {
    for (const g of groups) {
      const group = services.filter((s) => s.group === g)
      for (const svc of group) startService(svc, env)
      progress.phase(`starting ${group.map((s) => s.name).join(', ')}`, group.length)
      await waitReady(group, progress)
    }
  } finally {
    progress.stop()
  }
  console.log('\nPonte is up. Endpoints:')
  for (const svc of services) for (const [label, url] of svc.endpoints) console.log(`  ${label.padEnd(34)} ${url}`)
  console.log(`  ${'Prometheus metrics (GET /metrics)'.padEnd(34)} ${services.map((s) => `${s.name} :${s.metricsPort}`).join(', ')}`)
  console.log(`\nLogs: .run/logs/<service>.log (make logs). Stop: make down.`)
}

async function stopPid(name: string, pid: number) {
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + 15_000
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  if (alive(pid)) process.kill(pid, 'SIGKILL')
  console.log(`ponte: stopped ${name}`)
}

async function down() {
  await Promise.all([...services].reverse().map(async (svc) => {
    const pid = pidOf(svc.name)
    if (pid) await stopPid(svc.name, pid)
    rmSync(`${pids}/${svc.name}.pid`, { force: true })
  }))
  if (existsSync(`${run}/kafka.started-by-up`)) {
    await kafkaScript(['stop']).catch((err) => console.error(`ponte: kafka stop failed: ${String(err)}`))
    rmSync(`${run}/kafka.started-by-up`, { force: true })
    console.log('ponte: stopped Kafka')
  }
}

async function status() {
  for (const svc of services) {
    const pid = pidOf(svc.name)
    console.log(`${svc.name.padEnd(12)} ${pid ? `running (pid ${pid})` : 'stopped'}${pid ? ((await ready(svc)) ? ', ready' : ', not ready') : ''}`)
  }
}


const command = process.argv[2]
if (command === 'up') await up()
else if (command === 'down') await down()
else if (command === 'status') await status()
else fail('usage: node scripts/stack.ts up|down|status')
