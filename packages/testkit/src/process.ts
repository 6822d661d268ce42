import { spawn, type ChildProcess } from 'node:child_process'
import { repoRoot, testInfra } from './infra.ts'

/** A service started as its own process, the way `make up` starts it. */
export interface ServiceProcess {
  /** The address it listens on, from its "listening" log line. */
  address: string
  /** Every line it wrote (stdout and stderr). */
  output: string[]
  /** Its process id (memory and descriptors are read from /proc/<pid>). */
  pid: number
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts `services/<name>/src/main.ts` with `env` (on top of this process's environment) and resolves once it logs
 * the address it listens on; rejects with its output if it exits first or takes longer than `timeoutMs`.
 */
export function startServiceProcess(name: string, env: Record<string, string>, timeoutMs = 30_000, nodeArgs: string[] = []): Promise<ServiceProcess> {
  const output: string[] = []
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'src/main.ts'], {
    cwd: `${repoRoot}services/${name}`,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} did not listen within ${timeoutMs} ms:\n${output.join('\n')}`)) }, timeoutMs)
    const onData = (chunk: Buffer) => {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue
        output.push(line)
        if (line.startsWith('{')) {
          try {
            const entry = JSON.parse(line) as { address?: string; msg?: string }
            if (entry.address && entry.msg?.endsWith('listening')) {
              clearTimeout(timer)
              resolve({ address: entry.address, output, pid: child.pid!, stop: async (signal = 'SIGTERM') => { child.kill(signal); return exited } })
            }
          } catch { /* not JSON */ }
        }
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code} before listening:\n${output.join('\n')}`)) })
  })
}

/** Runs `services/<name>/src/main.ts` expecting it to refuse to start; resolves with its exit code and output. */
export function runServiceExpectingExit(name: string, env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts'], { cwd: `${repoRoot}services/${name}`, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c) => { output += String(c) })
    child.stderr.on('data', (c) => { output += String(c) })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} kept running:\n${output}`)) }, timeoutMs)
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, output }) })
  })
}

/**
 * The environment `make up` gives every service (scripts/dev-setup.ts), pointed at the test servers: the test database,
 * Redis (optionally another logical database, so a running `make up` never shares counters with the test), Kafka, the
 * repository's dev PKI and the given service-token keys. Tracing stays off.
 */
export async function serviceTestEnv(serviceTokenEnv: Record<string, string>, options: { redisDb?: number } = {}): Promise<Record<string, string>> {
  const { loadOrCreateDevPki } = await import('@ponte/pki')
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const infra = testInfra()
  const redis = new URL(infra.redisUrl)
  if (options.redisDb !== undefined) redis.pathname = `/${options.redisDb}`
  return {
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: redis.toString(),
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    ...serviceTokenEnv,
    TLS_CERT_FILE: pki.files.serverChain,
    TLS_KEY_FILE: pki.files.serverPrivateKey,
    TLS_CLIENT_CA_FILE: pki.files.caBundle,
    PONTE_DEV_PKI_DIR: `${repoRoot}.pki`,
    ALLOW_DEV_DEFAULTS: 'true',
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    // Any free port: tests run side by side and next to `make up`.
    METRICS_PORT: '0',
    // The gateway's event-loop shedding signal measures the whole machine's contention when test files run side by
    // side; tests of behaviour keep it off, services/gateway/test/overload.test.ts and the benchmarks turn it on.
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
  }
}
