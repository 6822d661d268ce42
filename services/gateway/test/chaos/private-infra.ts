// Private PostgreSQL, Redis and Kafka servers for the fault suite: each on a free port, its data in a temporary
// directory, started and stopped by the suite alone. The faults are made on these, never on the shared servers the
// rest of the machine uses.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { canConnect, freePorts, kafkaScript, waitFor } from '@ponte/testkit'

const exec = promisify(execFile)

/** PostgreSQL's server binaries (Debian's layout); PG_BIN overrides. */
const PG_BIN = process.env.PG_BIN ?? ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) => existsSync(`${d}/initdb`)) ?? '/usr/lib/postgresql/15/bin'

/** initdb and postgres refuse to run as root: as root they run as the `postgres` system user. */
async function asPostgres(cmd: string, args: string[]): Promise<string> {
  const root = process.getuid?.() === 0
  const { stdout } = await exec(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, { timeout: 120_000 })
  return stdout
}

export interface PrivatePostgres {
  url: string
  port: number
  /** `pg_ctl restart -m fast`: every open connection is cut, the server is back once it accepts connections. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'ponte-chaos-pg-'))
  const data = join(dir, 'data')
  if (process.getuid?.() === 0) {
    const { stdout } = await exec('id', ['-u', 'postgres'])
    const { stdout: gid } = await exec('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
    chmodSync(dir, 0o700)
  }
  const [port] = await freePorts(1) as [number]
  await asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c shared_buffers=64MB`
  const ctl = (...args: string[]) => asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', ...args])
  await ctl('-o', opts, 'start')
  return {
    url: `postgres://postgres@127.0.0.1:${port}/ponte_test`,
    port,
    restart: async () => { await ctl('-o', opts, '-m', 'fast', 'restart') },
    stop: async () => {
      await ctl('-m', 'immediate', 'stop').catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface PrivateRedis {
  url: string
  /** Kills the server (SIGKILL: no goodbye to the clients); nothing answers on its port until {@link start}. */
  kill(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const [port] = await freePorts(1) as [number]
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' })
    await waitFor(() => canConnect('127.0.0.1', port), { timeoutMs: 10_000, what: 'private redis-server' })
  }
  const kill = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    const exited = new Promise((r) => c.once('exit', r))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, kill, start, stop: kill }
}

export interface PrivateKafka {
  brokers: string
  /** Stops the broker (SIGKILL: as a crashed broker) and keeps its data; {@link start} brings the same broker back. */
  kill(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

/** A single-node broker from scripts/kafka.sh in a directory of its own (as the outbox tests start one). */
export async function startPrivateKafka(): Promise<PrivateKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'ponte-chaos-kafka-'))
  const [port, controller] = await freePorts(2) as [number, number]
  const env = { KAFKA_DATA_DIR: join(dir, 'data'), KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_HEAP_OPTS: '-Xms256m -Xmx384m', KAFKA_WAIT_TIMEOUT: '300' }
  const start = async () => {
    await kafkaScript(['start'], env)
    await kafkaScript(['wait'], env)
  }
  await start().catch(async (err: unknown) => {
    await kafkaScript(['stop', '--kill'], env).catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
    throw err
  })
  return {
    brokers: `127.0.0.1:${port}`,
    kill: async () => { await kafkaScript(['stop', '--kill'], env) },
    start,
    stop: async () => {
      await kafkaScript(['stop', '--kill'], env).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
