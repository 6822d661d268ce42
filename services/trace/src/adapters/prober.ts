import { readFileSync } from 'node:fs'
import type { Logger } from '@ponte/platform'
import { Agent, request, type Dispatcher } from 'undici'
import type { AvailabilityStore } from './pg-availability.ts'

/** One API group to probe and the base URL of the service that owns it. */
export interface ProbeTarget { api: string; serviceUrl: string }

/** Options of {@link startProber}. */
export interface ProberOptions {
  availability: AvailabilityStore
  logger: Logger
  /** The gateway's base URL: its readiness is the first half of every probe (the path a TPP's call takes). */
  gatewayUrl: string
  targets: readonly ProbeTarget[]
  intervalMs: number
  timeoutMs: number
  /** Trust anchors for the gateway's TLS certificate (PEM file); default: the system store. */
  caFile?: string | undefined
  clock?: () => Date
}

/** A running prober. */
export interface Prober {
  /** Probes every group once now and records the results. */
  probeOnce(): Promise<Array<{ api: string; ok: boolean; reason?: string }>>
  stop(): Promise<void>
}

async function ready(dispatcher: Dispatcher | undefined, url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await request(new URL('/readyz', url), { method: 'GET', ...(dispatcher ? { dispatcher } : {}), headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) })
    await res.body.dump()
    return res.statusCode === 200 ? undefined : `${new URL(url).host} answered ${res.statusCode}`
  } catch (err) {
    return `${new URL(url).host} unreachable: ${err instanceof Error ? err.message.slice(0, 120) : String(err)}`
  }
}

/**
 * Probes each regulated API group every `intervalMs` (docs/regulation/traffic-and-slas.md: status polled every 30 s with
 * a 1 s timeout): a group is up when the gateway is ready (the way in) and the service that owns the group is ready.
 * Each result is recorded per minute (down = every probe of the minute failed, partial = some did).
 */
export function startProber(options: ProberOptions): Prober {
  const clock = options.clock ?? (() => new Date())
  const log = options.logger.child({ component: 'prober' })
  const tls = options.gatewayUrl.startsWith('https:') ? new Agent({ connect: { ...(options.caFile ? { ca: readFileSync(options.caFile, 'utf8') } : {}) } }) : undefined
  let last = new Map<string, boolean>()

  async function probeOnce() {
    const at = clock()
    const gateway = await ready(tls, options.gatewayUrl, options.timeoutMs)
    const services = new Map<string, Promise<string | undefined>>()
    for (const t of options.targets) if (!services.has(t.serviceUrl)) services.set(t.serviceUrl, ready(undefined, t.serviceUrl, options.timeoutMs))
    const results = await Promise.all(options.targets.map(async (t) => {
      const reason = gateway ?? (await services.get(t.serviceUrl)!)
      await options.availability.recordProbe(t.api, reason === undefined, at)
      return { api: t.api, ok: reason === undefined, ...(reason ? { reason } : {}) }
    }))
    const now = new Map(results.map((r) => [r.api, r.ok]))
    for (const r of results) if (last.get(r.api) !== r.ok) log[r.ok ? 'info' : 'warn']({ api: r.api, reason: r.reason }, r.ok ? 'API group up' : 'API group down')
    last = now
    return results
  }

  let stopped = false
  let running: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    if (stopped) return
    running = probeOnce().catch((err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'probe round failed'))
  }, options.intervalMs)
  timer.unref()
  return {
    probeOnce,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
      await tls?.close()
    },
  }
}

/** Parses `api=url` pairs (`PROBE_TARGETS`). */
export function parseProbeTargets(list: readonly string[]): ProbeTarget[] {
  return list.map((pair) => {
    const i = pair.indexOf('=')
    const api = pair.slice(0, i).trim()
    const serviceUrl = pair.slice(i + 1).trim()
    if (i < 1 || !/^[a-z0-9-]+\/v\d+$/.test(api) || !URL.canParse(serviceUrl)) throw new Error(`PROBE_TARGETS: "${pair}" is not api/vN=http://host:port`)
    return { api, serviceUrl }
  })
}
