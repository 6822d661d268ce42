/**
 * Open-loop load, in a process of its own: requests are scheduled at a fixed rate whatever the answers, and each
 * latency is measured from its scheduled time (no coordinated omission). A keep-alive pool carries them.
 *
 * Run by `bench/gateway.ts` through {@link openLoop}, so the latencies are not disturbed by the harness's own heap
 * (autocannon's results, earlier runs) or event loop. As a script: `node bench/open-loop.ts '<json options>'` prints
 * one JSON row.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { onCpus, pctl, r2, type BenchRow } from './lib.ts'

/** What one open-loop run sends. TLS material as PEM strings (it crosses a process boundary). */
export interface OpenLoopOptions {
  origin: string
  path: string
  rate: number
  seconds: number
  headers: Record<string, string>
  tls?: { cert: string; key: string; ca: string; servername?: string }
  connections?: number
  /** Also report the count and latency of each status apart (`statuses` of the row). */
  byStatus?: boolean
  /** Open every connection before the clock starts (default: the first 8), as long-lived clients hold theirs. */
  openAll?: boolean
  /** CPUs the generator runs on (`taskset -c` syntax); default: any. */
  cpus?: string
  /** With `byStatus`: also report each status over the calls scheduled after this many seconds (`settled`). */
  settleSeconds?: number
}

/** Latency of the answers with one status (ms). */
export interface StatusLatency { count: number; p50: number; p95: number; p99: number }

const STARTED = '{"started":true}'

/** One open-loop row; `statuses` and `settled` (after `settleSeconds`) with `byStatus`. */
export type OpenLoopRow = BenchRow & { statuses?: Record<string, StatusLatency>; settled?: Record<string, StatusLatency> }

const byStatusRows = (perStatus: Map<number, number[]>) => Object.fromEntries([...perStatus].map(([status, list]) => {
  list.sort((a, b) => a - b)
  return [String(status), { count: list.length, p50: r2(pctl(list, 50)), p95: r2(pctl(list, 95)), p99: r2(pctl(list, 99)) }]
}))

async function measure(name: string, o: OpenLoopOptions): Promise<OpenLoopRow> {
  const url = new URL(o.origin)
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`benchmarks target loopback only, not ${url.hostname}`)
  const connections = o.connections ?? 16
  const pool = new Pool(o.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, ...(o.tls ? { connect: { ...o.tls, rejectUnauthorized: true, servername: o.tls.servername ?? 'localhost' } } : {}) })
  // Open the connections first: the first requests must not pay the handshakes. As many requests at once as
  // connections make the pool open each of them.
  await Promise.all(Array.from({ length: o.openAll ? connections : Math.min(connections, 8) }, () => pool.request({ method: 'GET', path: o.path, headers: o.headers }).then((r) => r.body.dump())))
  // The clock starts now: the parent learns it from this line (see {@link openLoop}'s onStart).
  process.stdout.write(`${STARTED}\n`)
  const latencies = new Float64Array(Math.round(o.rate * o.seconds))
  let done = 0
  let errors = 0
  let non2xx = 0
  const total = latencies.length
  const perStatus = new Map<number, number[]>()
  const settledPerStatus = new Map<number, number[]>()
  const settleAt = (o.settleSeconds ?? Number.POSITIVE_INFINITY) * 1000
  const start = performance.now()
  const inflight: Promise<void>[] = []
  let sent = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate) + 1)
      for (; sent < due; sent++) {
        const scheduled = start + (sent / o.rate) * 1000
        inflight.push(pool.request({ method: 'GET', path: o.path, headers: o.headers }).then(async (res) => {
          await res.body.dump()
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx++
          const latency = performance.now() - scheduled
          latencies[done++] = latency
          if (o.byStatus) {
            for (const map of scheduled - start >= settleAt ? [perStatus, settledPerStatus] : [perStatus]) {
              const list = map.get(res.statusCode)
              if (list) list.push(latency)
              else map.set(res.statusCode, [latency])
            }
          }
        }, () => { errors++ }))
      }
      if (sent >= total) return resolve()
      setTimeout(tick, 1)
    }
    tick()
  })
  await Promise.all(inflight)
  const elapsed = (performance.now() - start) / 1000
  await pool.close()
  const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b)
  return {
    case: name, requestsPerSecond: Math.round(done / elapsed), p50: r2(pctl(sorted, 50)), p95: r2(pctl(sorted, 95)), p99: r2(pctl(sorted, 99)), errors, non2xx,
    ...(o.byStatus ? { statuses: byStatusRows(perStatus) } : {}),
    ...(o.byStatus && o.settleSeconds !== undefined ? { settled: byStatusRows(settledPerStatus) } : {}),
  }
}

/** Runs one open-loop measurement in a fresh process and returns its row. */
export function openLoop(name: string, o: OpenLoopOptions, onStart?: () => void): Promise<OpenLoopRow> {
  const [command, ...rest] = onCpus([process.execPath, fileURLToPath(import.meta.url), JSON.stringify({ name, ...o })], o.cpus)
  const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c) => {
    out += String(c)
    if (onStart && out.includes(STARTED)) {
      onStart()
      onStart = undefined
    }
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{') && l !== STARTED)
      if (code !== 0 || !line) return reject(new Error(`open-loop run "${name}" failed (exit ${code})`))
      resolve(JSON.parse(line) as OpenLoopRow)
    })
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { name, ...o } = JSON.parse(process.argv[2] ?? '{}') as OpenLoopOptions & { name: string }
  process.stdout.write(`${JSON.stringify(await measure(name, o))}\n`)
  process.exit(0)
}
