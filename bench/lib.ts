/**
 * Shared pieces of the benchmark harness: a bounded autocannon run over loopback, the server-in-a-child-process
 * helper (so the load generator and the server under test never share an event loop), machine facts, and the
 * result shape every case returns to `bench/run.ts`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

/** One measured row. Latencies in ms. */
export interface BenchRow {
  case: string
  requestsPerSecond: number
  p50: number
  p95?: number
  p99: number
  errors?: number
  non2xx?: number
  note?: string
}

/** What a benchmark case returns. */
export interface BenchResult {
  title: string
  /** What was measured, how, and how to read it. */
  description: string
  rows: BenchRow[]
  /** Extra figures or ratios, already formatted. */
  notes?: string[]
}

/** Options of {@link load}. */
export interface LoadOptions {
  url: string
  connections?: number
  durationSeconds?: number
  /** Open-loop total rate (requests/s); absent = closed loop, as fast as possible. */
  overallRate?: number
  headers?: Record<string, string>
  method?: 'GET' | 'POST'
  body?: string
  tlsOptions?: Record<string, unknown>
  pipelining?: number
}

/** A bounded load run over loopback; returns requests/s and latency percentiles (ms). */
export async function load(name: string, o: LoadOptions): Promise<BenchRow> {
  const url = new URL(o.url)
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`benchmarks target loopback only, not ${url.hostname}`)
  const result = await autocannon({
    url: o.url,
    connections: o.connections ?? 20,
    duration: Math.min(o.durationSeconds ?? 8, 15),
    pipelining: o.pipelining ?? 1,
    method: o.method ?? 'GET',
    headers: o.headers ?? {},
    ...(o.body ? { body: o.body } : {}),
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    ...(o.tlsOptions ? { tlsOptions: o.tlsOptions } : {}),
  } as autocannon.Options)
  const lat = result.latency as unknown as Record<string, number>
  return {
    case: name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: lat.p50 ?? 0,
    p95: lat.p97_5 !== undefined ? (lat.p90 + lat.p97_5) / 2 : lat.p99 ?? 0,
    p99: lat.p99 ?? 0,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }
}

/** A server running in its own process for the duration of a case. */
export interface ChildServer {
  /** What the child printed as its ready line (JSON), e.g. `{ "port": 1234 }`. */
  info: Record<string, unknown>
  pid: number
  stop(): Promise<void>
}

/** Options of {@link startChild}. */
export interface ChildOptions {
  args?: string[]
  env?: Record<string, string>
  /** Flags for node itself (e.g. `--cpu-prof`). */
  nodeFlags?: string[]
  /** How long the ready line may take; past it the child is killed. */
  startTimeoutMs?: number
  /** CPUs the child (every thread of it) may run on, as `taskset -c` takes them (e.g. `0`); default: any. */
  cpus?: string
}

/**
 * Starts a server script in a child process and waits for its JSON ready line on stdout. `script` is a file name under
 * `bench/servers/` or an absolute path.
 */
export async function startChild(script: string, o: ChildOptions = {}): Promise<ChildServer> {
  const file = script.startsWith('/') ? script : fileURLToPath(new URL(`./servers/${script}`, import.meta.url))
  const startTimeoutMs = o.startTimeoutMs ?? 60_000
  const [command, ...rest] = onCpus([process.execPath, ...(o.nodeFlags ?? []), file, ...(o.args ?? [])], o.cpus)
  const child: ChildProcess = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...o.env } })
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = ''
    // A server that does not come up is stopped, so it cannot load the machine under the next cases.
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script} did not start within ${Math.round(startTimeoutMs / 1000)} s`))
    }, startTimeoutMs)
    child.stdout!.on('data', (chunk) => {
      buf += String(chunk)
      const line = buf.split('\n').find((l) => l.startsWith('{'))
      if (line) { clearTimeout(timer); resolve(JSON.parse(line) as Record<string, unknown>) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}`)) })
  })
  return {
    info,
    pid: child.pid!,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    }),
  }
}

/**
 * The command line that runs `argv` on `cpuList` only (`taskset -c` syntax), or `argv` itself without one. taskset
 * execs the program in place: the pid is the program's, and every thread it starts inherits the CPU set.
 */
export const onCpus = (argv: string[], cpuList?: string): string[] => cpuList === undefined ? argv : ['taskset', '-c', cpuList, ...argv]

/**
 * Pins this process (every thread of it) to `cpuList` (`taskset -c` syntax) and returns a function that restores the CPU
 * set it had, so a case can keep its load generator off the cores of the server it measures.
 */
export function pinSelf(cpuList: string): () => void {
  const before = execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' }).split(':').pop()!.trim()
  const set = (list: string) => { execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' }) }
  set(cpuList)
  return () => set(before)
}

/** The `p`th percentile of ascending `sorted` values (0 when empty). */
export const pctl = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0)

/** Rounds to two decimals, as the reports print figures. */
export const r2 = (n: number) => Math.round(n * 100) / 100

/** Machine facts for the report header. */
export function machine(): string {
  const cpu = cpus()
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`
}

/** Formats a ratio as a percentage. */
export const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)} %`

/** Runs a standalone benchmark script (`bench/<file>`) and returns the last JSON line it printed. */
export async function runScript(file: string, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url))
  const child = spawn(process.execPath, [path], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  let out = ''
  child.stdout!.on('data', (c) => { out += String(c) })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'))
  if (!line) throw new Error(`${file} exited with ${code} and printed no result`)
  return JSON.parse(line) as Record<string, unknown>
}
