/**
 * The capacity model of docs/operations/capacity.md: reads the measured figures from docs/benchmarks.md (written by
 * `make bench`), sizes each tier for 300, 3 000 and 30 000 requests/s, and rewrites the doc's generated section.
 *
 *   node scripts/capacity.ts           rewrite docs/operations/capacity.md's tables (bench/run.ts runs it after a full run)
 *   node scripts/capacity.ts --check   exit 1 when the doc is not what the figures give
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { k8sServices } from './k8s.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
export const benchmarksPath = `${root}docs/benchmarks.md`
export const capacityPath = `${root}docs/operations/capacity.md`

/** One input: a figure, where it comes from. */
export interface Input { value: number; source: string }

/** The measured inputs of the model. */
export interface Inputs {
  /** Gateway CPU per request on the full protected path (µs, one process). */
  gatewayCpuUs: Input
  /** Redis CPU per gateway request (the one limits script; µs). */
  redisCpuUs: Input
  /** Requests/s one gateway process held with p95 under the SLA in the open-loop capacity steps. */
  gatewayP95Capacity: Input
  /** Throughput factor from one to two gateway workers on this machine. */
  gatewayWorkersFactor: Input
  /** client_credentials tokens/s of one auth-server process. */
  tokensPerProcess: Input
  /** Consent creations/s of one consent process (one PostgreSQL transaction each). */
  consentCreatesPerProcess: Input
  /** Consent lookups/s of one consent process (the gateway's cache misses). */
  consentLookupsPerProcess: Input
}

/**
 * Figures measured by partial runs (`node bench/run.ts <case>`), used until a full `make bench` puts the case in
 * docs/benchmarks.md; the doc marks them. Machine: 2 shared vCPUs, noisy (another test suite ran beside them).
 */
const partialRuns: Partial<Record<keyof Inputs, Input>> = {
  gatewayWorkersFactor: { value: 1.41, source: 'partial run of bench case gateway-workers, 2026-12-07 (per round ×1.55, ×1.10, ×1.41)' },
  consentCreatesPerProcess: { value: 213, source: 'partial run of bench case consent-create, 2026-12-07 (p50 81 ms, p99 281 ms; a test suite ran beside it)' },
}

function find(text: string, re: RegExp): number | undefined {
  const m = re.exec(text)
  return m ? Number(m[1]!.replace(/\s/g, '')) : undefined
}

/** Reads the inputs from docs/benchmarks.md's text; a missing figure falls back to a partial run, or throws. */
export function readInputs(bench: string): Inputs {
  const get = (key: keyof Inputs, re: RegExp, what: string): Input => {
    const v = find(bench, re)
    if (v !== undefined && Number.isFinite(v)) return { value: v, source: `docs/benchmarks.md: ${what}` }
    const partial = partialRuns[key]
    if (partial) return partial
    throw new Error(`docs/benchmarks.md has no figure for ${what} (run make bench)`)
  }
  return {
    gatewayCpuUs: get('gatewayCpuUs', /\| \(c\) Ponte gateway[^|]*server CPU µs\/request[^|]*?gateway (\d+)/, 'gateway (c), gateway CPU µs/request'),
    redisCpuUs: get('redisCpuUs', /\| \(c\) Ponte gateway[^|]*server CPU µs\/request[^|]*?redis (\d+)/, 'gateway (c), Redis CPU µs/request'),
    gatewayP95Capacity: get('gatewayP95Capacity', /capacity of one gateway process with p95 < 1 500 ms: ≥ (\d+)/, 'capacity of one gateway process with p95 < 1 500 ms'),
    gatewayWorkersFactor: get('gatewayWorkersFactor', /scaling factor from one to two workers: ×([\d.]+)/, 'scaling factor from one to two workers'),
    tokensPerProcess: get('tokensPerProcess', /\| POST \/token client_credentials[^|]*\| (\d+) \|/, 'POST /token client_credentials requests/s'),
    consentCreatesPerProcess: get('consentCreatesPerProcess', /\| create, 20 keep-alive connections[^|]*\| (\d+) \|/, 'consent creation requests/s'),
    consentLookupsPerProcess: get('consentLookupsPerProcess', /\| lookup, 20 keep-alive connections[^|]*\| (\d+) \|/, 'consent lookup requests/s'),
  }
}

/** What the model assumes about the traffic and the servers (not measured here; stated in the doc). */
export const assumptions = {
  /** Share of gateway requests that are token requests (client_credentials and code exchanges; tokens live 15 min). */
  tokenShare: 0.05,
  /** Share of gateway requests that create a consent. */
  consentCreateShare: 0.02,
  /** Share of gateway requests whose consent is not in the gateway's cache (a lookup on the consent service). */
  consentMissShare: 0.02,
  /** CPU utilisation at which each tier is sized (the HPAs' target): p95 stays far from the knee. */
  targetUtilisation: 0.65,
  /** Trace ingestion: api-call events/s one trace consumer stores (batched inserts), until `make bench` measures it. */
  traceEventsPerProcess: 5_000,
  /** One api-call event on Kafka (JSON, bytes). */
  eventBytes: 800,
  /** PostgreSQL: row writes/s one core sustains with WAL on SSD, batched (a conservative planning figure). */
  pgWritesPerCore: 4_000,
  /** Kafka: produce MB/s per broker kept for headroom; partitions per api-call topic at least the trace replicas. */
  kafkaMbPerBroker: 30,
  /** Redis: the share of one core a primary may use before the limiter's latency grows. */
  redisUtilisation: 0.6,
  /** The largest single PostgreSQL primary planned for (cores). */
  pgMaxCores: 32,
  /** Mean time a transaction holds a server connection (a few statements, PostgreSQL in the same zone), ms. */
  pgTransactionMs: 2,
  /** api-call events trace stores per transaction (its batches). */
  traceBatch: 100,
  /** DATABASE_POOL_MAX of every pod (the default). */
  podPoolMax: 10,
  /** Connections kept free on the primary for operators, replication and monitoring. */
  pgReservedConnections: 20,
}

export interface Step {
  rate: number
  gateway: { cores: number; pods: number }
  authServer: { cores: number; pods: number }
  consent: { cores: number; pods: number }
  trace: { pods: number }
  postgres: { writesPerSecond: number; cores: number }
  /** PgBouncer in transaction mode (docs/operations/postgres.md#sizing-with-the-pooler). */
  pooler: { transactionsPerSecond: number; serverConnections: number; clientConnections: number; directConnections: number; maxConnections: number }
  kafka: { partitions: number; brokers: number; mbPerSecond: number }
  redis: { utilisation: number; primaries: number }
  bottleneck: string
}

const ceil = Math.ceil

/** Sizes every tier for `rate` gateway requests/s. */
export function size(rate: number, inputs: Inputs, a = assumptions): Step {
  const gatewayPerCore = (1e6 / inputs.gatewayCpuUs.value) * a.targetUtilisation
  const gatewayCores = ceil(rate / gatewayPerCore)
  // Pods of two workers each (GATEWAY_WORKERS=2, CPU limit 2); at least two for availability.
  const gatewayPods = Math.max(2, ceil(gatewayCores / 2))
  const tokens = rate * a.tokenShare
  const authCores = ceil(tokens / (inputs.tokensPerProcess.value * a.targetUtilisation))
  const consentOps = rate * a.consentCreateShare / inputs.consentCreatesPerProcess.value + rate * a.consentMissShare / inputs.consentLookupsPerProcess.value
  const consentCores = ceil(consentOps / a.targetUtilisation)
  const tracePods = Math.max(2, ceil(rate / (a.traceEventsPerProcess * a.targetUtilisation)))
  // Row writes: each call stored by trace, each consent creation (consent, audit, outbox) and each token (grant row).
  const writes = rate + rate * a.consentCreateShare * 3 + tokens
  const pgCores = Math.max(2, ceil(writes / (a.pgWritesPerCore * a.targetUtilisation)))
  // Through the pooler: one transaction per call at the owning service (the data read, or the consent's), tokens two
  // (client and grant), consent creations and cache misses one each, trace one per batch. Server connections busy at
  // once are transactions/s × their duration (Little's law), sized at the utilisation target; clients are every pod's
  // pool; direct connections one LISTEN per relaying pod and one per auth-server pod.
  const transactions = rate + tokens * 2 + rate * (a.consentCreateShare + a.consentMissShare) + rate / a.traceBatch
  const serverConnections = Math.max(10, ceil((transactions * a.pgTransactionMs) / 1000 / a.targetUtilisation))
  const authPods = Math.max(2, authCores)
  const consentPods = Math.max(2, consentCores)
  const dbPods = authPods + consentPods + tracePods + 4 * 2 // connectors, directory, traffic, admin at 2 each
  const clientConnections = dbPods * a.podPoolMax
  const directConnections = dbPods + authPods
  const maxConnections = serverConnections + directConnections + a.pgReservedConnections
  const mb = (rate * a.eventBytes) / 1e6
  const brokers = Math.max(3, ceil(mb / a.kafkaMbPerBroker) * 3)
  const partitions = Math.max(6, tracePods * 2)
  const redisUse = (rate * inputs.redisCpuUs.value) / 1e6
  const redisPrimaries = Math.max(1, ceil(redisUse / a.redisUtilisation))
  // The first limit reached, each tier against its ceiling as deployed: the HPAs' maxReplicas (infra/k8s), one
  // PostgreSQL primary of pgMaxCores, one Redis primary (single-threaded), three Kafka brokers.
  const max = (name: string) => k8sServices.find((s) => s.name === name)!.replicas.max
  const pressures: Array<[string, number]> = [
    ['Redis primary running the limits script', redisUse / a.redisUtilisation],
    ['PostgreSQL primary writes', writes / (a.pgWritesPerCore * a.pgMaxCores * a.targetUtilisation)],
    ['auth-server token signing', tokens / (inputs.tokensPerProcess.value * max('auth-server') * a.targetUtilisation)],
    ['gateway CPU', rate / gatewayPerCore / (max('gateway') * 2)],
    ['consent writes', consentOps / a.targetUtilisation / max('consent')],
    ['trace ingestion', rate / (a.traceEventsPerProcess * a.targetUtilisation) / max('trace')],
    ['Kafka bandwidth', mb / (a.kafkaMbPerBroker * 3)],
  ]
  pressures.sort((x, y) => y[1] - x[1])
  const show = ([what, load]: [string, number]) => `${what} (${Math.round(load * 100)} % of its ceiling${load > 1 ? ': past it' : ''})`
  const bottleneck = `${show(pressures[0]!)}; next: ${show(pressures[1]!)}`
  return {
    rate,
    gateway: { cores: gatewayCores, pods: gatewayPods },
    authServer: { cores: authCores, pods: authPods },
    consent: { cores: consentCores, pods: consentPods },
    trace: { pods: tracePods },
    postgres: { writesPerSecond: Math.round(writes), cores: pgCores },
    pooler: { transactionsPerSecond: Math.round(transactions), serverConnections, clientConnections, directConnections, maxConnections },
    kafka: { partitions, brokers, mbPerSecond: Math.round(mb * 10) / 10 },
    redis: { utilisation: Math.round(redisUse * 100) / 100, primaries: redisPrimaries },
    bottleneck,
  }
}

export const rates = [300, 3_000, 30_000]

/** The generated section of docs/operations/capacity.md. */
export function render(inputs: Inputs): string {
  const steps = rates.map((r) => size(r, inputs))
  const fmt = (n: number) => n.toLocaleString('en-US').replaceAll(',', ' ')
  const lines = [
    '<!-- capacity:begin (generated by `node scripts/capacity.ts` from docs/benchmarks.md; do not edit by hand) -->',
    '',
    '### Inputs',
    '',
    '| input | value | source |',
    '|---|---:|---|',
    `| gateway CPU per request, full protected path | ${inputs.gatewayCpuUs.value} µs (${fmt(Math.round(1e6 / inputs.gatewayCpuUs.value))} req/s per core) | ${inputs.gatewayCpuUs.source} |`,
    `| Redis CPU per gateway request | ${inputs.redisCpuUs.value} µs | ${inputs.redisCpuUs.source} |`,
    `| one gateway process, p95 < 1 500 ms | ≥ ${fmt(inputs.gatewayP95Capacity.value)} req/s | ${inputs.gatewayP95Capacity.source} |`,
    `| one to two gateway workers | ×${inputs.gatewayWorkersFactor.value} | ${inputs.gatewayWorkersFactor.source} |`,
    `| token endpoint (client_credentials), one process | ${fmt(inputs.tokensPerProcess.value)} tokens/s | ${inputs.tokensPerProcess.source} |`,
    `| consent creation, one process | ${fmt(inputs.consentCreatesPerProcess.value)} req/s | ${inputs.consentCreatesPerProcess.source} |`,
    `| consent lookup, one process | ${fmt(inputs.consentLookupsPerProcess.value)} req/s | ${inputs.consentLookupsPerProcess.source} |`,
    `| trace ingestion, one process | ${fmt(assumptions.traceEventsPerProcess)} events/s | assumption: not measured (the trace service's call store is not on main yet) |`,
    '| payment initiation | — | not built yet: no figure, not in the model |',
    '',
    `Assumptions: tokens ${assumptions.tokenShare * 100} % and consent creations ${assumptions.consentCreateShare * 100} % of gateway requests, ` +
      `${assumptions.consentMissShare * 100} % consent-cache misses, every tier sized at ${assumptions.targetUtilisation * 100} % CPU (the HPA target), ` +
      `PostgreSQL ${fmt(assumptions.pgWritesPerCore)} row writes/s per core, an api-call event of ${assumptions.eventBytes} bytes, ` +
      `${assumptions.kafkaMbPerBroker} MB/s per Kafka broker, a Redis primary at most ${assumptions.redisUtilisation * 100} % busy. ` +
      `Ceilings for the first bottleneck: the HPAs' maxReplicas in infra/k8s, a PostgreSQL primary of ${assumptions.pgMaxCores} cores, one Redis primary, three Kafka brokers. ` +
      `Pooler: a transaction holds a server connection ${assumptions.pgTransactionMs} ms on average, trace stores ${assumptions.traceBatch} events per transaction, every pod's pool is ${assumptions.podPoolMax} (DATABASE_POOL_MAX), ${assumptions.pgReservedConnections} connections reserved on the primary.`,
    '',
    '### Sizes',
    '',
    `| | ${steps.map((s) => `${fmt(s.rate)} req/s`).join(' | ')} |`,
    `|---|${steps.map(() => '---').join('|')}|`,
    `| gateway | ${steps.map((s) => `${s.gateway.pods} pods × 2 workers (${s.gateway.cores} core${s.gateway.cores > 1 ? 's' : ''} busy)`).join(' | ')} |`,
    `| auth-server | ${steps.map((s) => `${s.authServer.pods} pods (${s.authServer.cores} core${s.authServer.cores > 1 ? 's' : ''})`).join(' | ')} |`,
    `| consent | ${steps.map((s) => `${s.consent.pods} pods (${s.consent.cores} core${s.consent.cores > 1 ? 's' : ''})`).join(' | ')} |`,
    `| trace | ${steps.map((s) => `${s.trace.pods} pods`).join(' | ')} |`,
    `| connectors, directory, traffic, admin | ${steps.map(() => '2 pods each (the bank core sets connectors\' pace)').join(' | ')} |`,
    `| PostgreSQL primary | ${steps.map((s) => `${s.postgres.cores} cores (${fmt(s.postgres.writesPerSecond)} row writes/s) + a standby`).join(' | ')} |`,
    `| PgBouncer (transaction mode) | ${steps.map((s) => `${fmt(s.pooler.transactionsPerSecond)} transactions/s: ${s.pooler.serverConnections} server connections for ${fmt(s.pooler.clientConnections)} client connections`).join(' | ')} |`,
    `| PostgreSQL max_connections | ${steps.map((s) => `≥ ${s.pooler.maxConnections} (pooled ${s.pooler.serverConnections}, direct ${s.pooler.directConnections}, reserved ${assumptions.pgReservedConnections})`).join(' | ')} |`,
    `| Kafka | ${steps.map((s) => `${s.kafka.brokers} brokers, ${s.kafka.partitions} partitions on ponte.api-call.v1, ${s.kafka.mbPerSecond} MB/s`).join(' | ')} |`,
    `| Redis | ${steps.map((s) => `${s.redis.primaries} primar${s.redis.primaries > 1 ? 'ies (Cluster)' : 'y + replica (Sentinel)'}, ${Math.round(s.redis.utilisation * 100)} % of one core in all`).join(' | ')} |`,
    `| first bottleneck | ${steps.map((s) => s.bottleneck).join(' | ')} |`,
    '',
    '<!-- capacity:end -->',
  ]
  return lines.join('\n')
}

const section = /<!-- capacity:begin[\s\S]*?<!-- capacity:end -->/

/** The doc with its generated section replaced. */
export function regenerate(doc: string, bench: string): string {
  if (!section.test(doc)) throw new Error('docs/operations/capacity.md has no capacity:begin/end markers')
  return doc.replace(section, render(readInputs(bench)))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = readFileSync(capacityPath, 'utf8')
  const next = regenerate(doc, readFileSync(benchmarksPath, 'utf8'))
  if (process.argv.includes('--check')) {
    if (next !== doc) { console.error('docs/operations/capacity.md is stale: run node scripts/capacity.ts'); process.exit(1) }
  } else {
    writeFileSync(capacityPath, next)
    console.log(next === doc ? 'docs/operations/capacity.md: up to date' : 'docs/operations/capacity.md: regenerated')
  }
}
