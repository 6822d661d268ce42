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
import type { BenchRow } from './lib.ts'

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
}

/** Latency of the answers with one status (ms). */
export interface StatusLatency { count: number; p50: number; p95: number; p99: number }

const pctl = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0)
const r2 = (n: number) => Math.round(n * 100) / 100

async function measure(name: string, o: OpenLoopOptions): Promise<BenchRow & { statuses?: Record<string, StatusLatency> }> {
  const url = new URL(o.origin)
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`benchmarks target loopback only, not ${url.hostname}`)
  const connections = o.connections ?? 16
  const pool = new Pool(o.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, ...(o.tls ? { connect: { ...o.tls, rejectUnauthorized: true, servername: o.tls.servername ?? 'localhost' } } : {}) })
  // Open the connections first: the first requests must not pay the handshakes.
  await Promise.all(Array.from({ length: Math.min(connections, 8) }, () => pool.request({ method: 'GET', path: o.path, headers: o.headers }).then((r) => r.body.dump())))
  const latencies = new Float64Array(Math.round(o.rate * o.seconds))
  let done = 0
  let errors = 0
  let non2xx = 0
  const total = latencies.length
  const perStatus = new Map<number, number[]>()
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
            const list = perStatus.get(res.statusCode)
            if (list) list.push(latency)
            else perStatus.set(res.statusCode, [latency])
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
  const statuses = o.byStatus
    ? Object.fromEntries([...perStatus].map(([status, list]) => {
      list.sort((a, b) => a - b)
      return [String(status), { count: list.length, p50: r2(pctl(list, 50)), p95: r2(pctl(list, 95)), p99: r2(pctl(list, 99)) }]
    }))
    : undefined
  return { case: name, requestsPerSecond: Math.round(done / elapsed), p50: r2(pctl(sorted, 50)), p95: r2(pctl(sorted, 95)), p99: r2(pctl(sorted, 99)), errors, non2xx, ...(statuses ? { statuses } : {}) }
}

/** Runs one open-loop measurement in a fresh process and returns its row. */
export function openLoop(name: string, o: OpenLoopOptions): Promise<BenchRow & { statuses?: Record<string, StatusLatency> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify({ name, ...o })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c) => { out += String(c) })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (code !== 0 || !line) return reject(new Error(`open-loop run "${name}" failed (exit ${code})`))
      resolve(JSON.parse(line) as BenchRow & { statuses?: Record<string, StatusLatency> })
    })
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { name, ...o } = JSON.parse(process.argv[2] ?? '{}') as OpenLoopOptions & { name: string }
  process.stdout.write(`${JSON.stringify(await measure(name, o))}\n`)
  process.exit(0)
}
