import { execFile } from 'node:child_process'
import { createConnection } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
export { ensureDatabase } from '@ponte/platform'

/** Repository root. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** Where the real servers used by tests are; override with the same variables the services use. */
export function testInfra() {
  const base = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ponte_test'
  return {
    databaseUrl: base,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  }
}

/** Resolves true when a TCP connection to host:port opens within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

const exec = promisify(execFile)

/** Runs `scripts/kafka.sh <args>` with extra environment (a second broker on other ports, for outage tests). */
export async function kafkaScript(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('bash', [`${repoRoot}scripts/kafka.sh`, ...args], { env: { ...process.env, ...env }, cwd: repoRoot, timeout: 180_000 })
  return stdout
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(probe: () => Promise<T> | T, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Deletes Kafka topics a test created for itself (missing ones are ignored). */
export async function deleteTopics(names: string[]): Promise<void> {
  if (names.length === 0) return
  const { createKafka, createLogger } = await import('@ponte/platform')
  const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'test-cleanup', logger: createLogger({ service: 'test-cleanup', level: 'silent' }) })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const present = names.filter((n) => existing.has(n))
    if (present.length) await admin.deleteTopics({ topics: present, timeout: 10_000 })
  } finally {
    await admin.disconnect()
  }
}
