import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { Logger } from '@ponte/platform'

/** The event-loop delay histogram's tick. */
const RESOLUTION_MS = 10
/** The adaptive limit never goes under this many calls in progress (nor over the cap): a process always serves something. */
const MIN_LIMIT = 32
/** Multiplicative decrease of the limit after a late window. */
const DECREASE = 0.75
/** Additive increase after a window on time in which the limit was reached: this share of it (at least one call). */
const INCREASE = 0.05

/** Options of {@link createAdmission}. */
export interface AdmissionOptions {
  /** Regulated calls in progress at once in this process beyond which new ones are shed, always (0: no cap). */
  maxInFlight: number
  /** Mean event-loop delay over one sample window that counts as late, and makes the adaptive limit fall (0: off). */
  maxEventLoopDelayMs: number
  /**
   * Share of a sample window the event loop may be busy before the adaptive limit falls (1, the default: no bound).
   * Only read while the delay signal is on.
   */
  maxEventLoopUtilization?: number
  /** Length of a sample window. Default 50 ms. */
  sampleMs?: number
  /** Where shedding starting and stopping is logged (once each, not per call). */
  logger?: Logger
}

/** Counters read by `/metrics` and `/internal/stats`. */
export interface AdmissionStats {
  admitted: number
  shedInFlight: number
  shedEventLoop: number
  inFlight: number
  /** The adaptive limit of calls in progress (the cap when the event-loop signal is off). */
  limit: number
  /** The last window's mean event-loop delay, in milliseconds. */
  eventLoopDelayMs: number
  /** The share of the last window the event loop was busy (0 to 1). */
  eventLoopUtilization: number
}

/** Why a call was shed, or `undefined` when it is admitted. */
export type ShedReason = 'in_flight' | 'event_loop'

/** The gateway's load shedding: decides per call, in constant time, before any work is spent on it. */
export interface Admission {
  /** Admits the call (and counts it in flight until {@link release}) or says why it is shed. */
  admit(): ShedReason | undefined
  /** The admitted call is answered (or its client went away). */
  release(): void
  readonly stats: AdmissionStats
  close(): void
}

/**
 * Sheds load before it is worked on (docs/decisions/gateway-load-shedding.md). A call is admitted while the calls in
 * progress in this process are under a limit:
 * - the cap (`maxInFlight`) bounds memory and latency whatever the clients do;
 * - under it, an adaptive limit follows the event loop (additive increase, multiplicative decrease): after a window
 *   (default 50 ms) whose mean event-loop delay exceeds `maxEventLoopDelayMs`, or in which the loop was busy more than
 *   `maxEventLoopUtilization` of the time, the limit falls by a quarter; after a window within both in which the limit
 *   was reached, it rises by 5 %. The process then settles at the calls in progress its CPU carries with the loop on
 *   time and some of it idle, serving about its capacity and refusing the excess at once, instead of queueing
 *   everything or refusing everything. The idle share matters: calls queue in the kernel's socket buffers, where the
 *   loop's delay does not see them, as soon as the loop is never idle. A slow upstream makes the loop neither late nor
 *   busy, so it does not lower the limit: calls waiting on the bank's core cost no CPU.
 * A shed call costs a header parse and a short refusal, so refusals stay fast while the process is saturated.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const cap = options.maxInFlight > 0 ? options.maxInFlight : Number.POSITIVE_INFINITY
  const stats: AdmissionStats = { admitted: 0, shedInFlight: 0, shedEventLoop: 0, inFlight: 0, limit: cap, eventLoopDelayMs: 0, eventLoopUtilization: 0 }
  const shedTotal = () => stats.shedInFlight + stats.shedEventLoop
  // Per window: the most calls in progress at once, and whether the limit was reached.
  let peak = 0
  let reached = false
  // Shedding episodes, logged when they start and end.
  let shedBefore = 0
  let episodeStart: number | undefined

  const adapt = (late: boolean) => {
    if (late && peak > MIN_LIMIT) {
      // Late or busy with more than the floor in progress: a quarter under what was in progress (a limit far above the
      // calls in progress would mean nothing). With no more than the floor in progress, the calls are not what holds
      // the loop (a collection, a start-up), and a lower limit would only refuse the next burst.
      stats.limit = Math.min(cap, Math.max(MIN_LIMIT, Math.floor(Math.min(stats.limit, Math.max(peak, MIN_LIMIT)) * DECREASE)))
    } else if (reached && stats.limit < cap) {
      stats.limit = Math.min(cap, stats.limit + Math.max(1, Math.ceil(stats.limit * INCREASE)))
    }
    peak = stats.inFlight
    reached = stats.inFlight >= stats.limit
  }
  const logEpisodes = () => {
    const total = shedTotal()
    if (total > shedBefore && episodeStart === undefined) {
      episodeStart = shedBefore
      options.logger?.warn({ limit: stats.limit, inFlight: stats.inFlight, eventLoopDelayMs: stats.eventLoopDelayMs }, 'gateway overloaded: shedding calls (529)')
    } else if (total === shedBefore && episodeStart !== undefined) {
      options.logger?.info({ limit: stats.limit, shed: total - episodeStart }, 'gateway no longer shedding calls')
      episodeStart = undefined
    }
    shedBefore = total
  }

  const histogram = options.maxEventLoopDelayMs > 0 ? monitorEventLoopDelay({ resolution: RESOLUTION_MS }) : undefined
  histogram?.enable()
  let elu = performance.eventLoopUtilization()
  const timer = setInterval(() => {
    if (histogram) {
      // The histogram holds the time between its own ticks, in nanoseconds: the lateness is what exceeds the tick
      // (RESOLUTION_MS). An empty window (no tick yet) reads NaN.
      const mean = histogram.mean / 1e6 - RESOLUTION_MS
      histogram.reset()
      stats.eventLoopDelayMs = Number.isFinite(mean) ? Math.max(0, Math.round(mean * 100) / 100) : 0
      const now = performance.eventLoopUtilization()
      stats.eventLoopUtilization = Math.round(performance.eventLoopUtilization(now, elu).utilization * 1000) / 1000
      elu = now
      adapt(stats.eventLoopDelayMs > options.maxEventLoopDelayMs || stats.eventLoopUtilization > (options.maxEventLoopUtilization ?? 1))
    }
    logEpisodes()
  }, options.sampleMs ?? 50)
  timer.unref()

  return {
    admit() {
      if (stats.inFlight >= stats.limit) {
        reached = true
        if (stats.inFlight >= cap) { stats.shedInFlight++; return 'in_flight' }
        stats.shedEventLoop++
        return 'event_loop'
      }
      if (++stats.inFlight > peak) peak = stats.inFlight
      if (stats.inFlight >= stats.limit) reached = true
      stats.admitted++
      return undefined
    },
    release() { stats.inFlight-- },
    stats,
    close() {
      clearInterval(timer)
      histogram?.disable()
    },
  }
}
