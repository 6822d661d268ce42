import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client'
import type { Logger } from './logger.ts'

/**
 * Prometheus metrics of a service process (docs/decisions/observability-metrics.md).
 *
 * One registry per process, served by a listener of its own ({@link startMetricsListener}), never by the service's
 * public listener. Request-path code never touches prom-client: the HTTP histogram keeps one pre-bound series per
 * route × method × status (an array update per request, no allocation), and everything else (cache hits, limiter
 * decisions, consumer lag, outbox backlog) is read from counters the components already keep, when Prometheus scrapes.
 */
export const metricsRegistry = new Registry()

/** One sample of a metric family: its labels and its value. */
export interface MetricSample {
  labels: Readonly<Record<string, string>>
  value: number
}

/** Something that reports samples of a family when Prometheus scrapes (sync or async). */
export type MetricSource = () => readonly MetricSample[] | Promise<readonly MetricSample[]>

interface PromValue { labels: Record<string, string | number>; value: number; metricName?: string }

/** A counter or gauge family whose samples come from registered sources, read at scrape time. */
class SourcedFamily {
  readonly sources = new Set<MetricSource>()
  readonly aggregator = 'sum'
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  constructor(name: string, help: string, type: 'counter' | 'gauge') {
    this.name = name
    this.help = help
    this.type = type
  }
  async get() {
    // Sources answering the same label set (two components of one kind in a process) are summed: one series each.
    const byLabels = new Map<string, PromValue>()
    const answers = await Promise.all([...this.sources].map((source) => Promise.resolve().then(source).catch(() => {
      // A source that cannot answer now (e.g. the database is down) reports nothing this scrape.
      return [] as readonly MetricSample[]
    })))
    for (const samples of answers) {
      for (const s of samples) {
        const key = JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)))
        const seen = byLabels.get(key)
        if (seen) seen.value += s.value
        else byLabels.set(key, { labels: { ...s.labels }, value: s.value })
      }
    }
    return { name: this.name, help: this.help, type: this.type, values: [...byLabels.values()], aggregator: this.aggregator }
  }
}

const families = new Map<string, SourcedFamily>()

/**
 * Adds a source to the counter or gauge family `name` (created on first use); returns the function that removes it.
 * Several sources may feed one family (e.g. two outbox relays in one process), each with its own labels.
 */
export function registerMetricSource(name: string, help: string, type: 'counter' | 'gauge', source: MetricSource): () => void {
  let family = families.get(name)
  if (!family) {
    family = new SourcedFamily(name, help, type)
    families.set(name, family)
    metricsRegistry.registerMetric(family as unknown as Metric)
  }
  family.sources.add(source)
  const f = family
  return () => { f.sources.delete(source) }
}

/** Upper bounds (seconds) of the latency histograms: fine below 100 ms (the gateway), and the p95 SLA tiers 1.5, 2 and 4 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 4, 5, 10]

/** One label set of a {@link PreboundHistogram}: observing updates numbers in place. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); above the last bound only `count` moves. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  readonly labels: Readonly<Record<string, string>>
  private readonly bounds: readonly number[]
  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
    this.labels = labels
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length)
  }

  observe(value: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && value > b[i]!) i++
    if (i < b.length) this.counts[i]!++
    this.sum += value
    this.count++
  }
}

/** A histogram whose label sets are bound once ({@link series}) and observed without allocation. */
export class PreboundHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly all = new Map<string, HistogramSeries>()
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]
  readonly bounds: readonly number[]
  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[] = LATENCY_BUCKETS) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
    this.bounds = bounds
  }

  /** The series of these label values (in `labelNames` order), created on first use. Bind once, observe often. */
  series(...values: string[]): HistogramSeries {
    const key = values.join('\u0000')
    let s = this.all.get(key)
    if (!s) {
      const labels: Record<string, string> = {}
      this.labelNames.forEach((n, i) => { labels[n] = values[i] ?? '' })
      s = new HistogramSeries(labels, this.bounds)
      this.all.set(key, s)
    }
    return s
  }

  get() {
    const values: PromValue[] = []
    for (const s of this.all.values()) {
      if (s.count === 0) continue
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!
        values.push({ labels: { ...s.labels, le: this.bounds[i]! }, value: cumulative, metricName: `${this.name}_bucket` })
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` })
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` })
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}

/** HTTP server latency per route template (never a raw path), method and status code, in seconds. */
export const httpRequestDuration = new PreboundHistogram(
  'ponte_http_request_duration_seconds',
  'Time from request received to response sent, per route template, method and status code',
  ['route', 'method', 'status'],
)
metricsRegistry.registerMetric(httpRequestDuration as unknown as Metric)

let processMetricsOn = false

/** Options of {@link startMetricsListener}. */
export interface MetricsListenerOptions {
  host: string
  /** 0 picks a free port (tests). */
  port: number
  logger: Logger
  /** Registry to serve (default: the process registry). */
  registry?: Registry
}

/** A running metrics listener. */
export interface MetricsListener {
  /** `http://host:port` it answers on. */
  address: string
  close(): Promise<void>
}

/**
 * Serves `GET /metrics` (Prometheus text format) on a listener of its own, apart from the service's API listener:
 * a regulated listener never exposes it, and who may read it is decided by where it binds (default 127.0.0.1).
 * Node's process metrics (CPU, memory, event-loop lag, GC) are added the first time a listener starts.
 */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const registry = options.registry ?? metricsRegistry
  if (!processMetricsOn && registry === metricsRegistry) {
    processMetricsOn = true
    collectDefaultMetrics({ register: metricsRegistry })
  }
  const server: Server = createHttpServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end(path === '/metrics' ? 'method not allowed\n' : 'not found: only /metrics is served here\n')
      return
    }
    registry.metrics().then(
      (text) => { res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text) },
      (err: unknown) => {
        options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics collection failed')
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n')
      },
    )
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host, () => resolve()))
  const { port } = server.address() as AddressInfo
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    address: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }),
  }
}
