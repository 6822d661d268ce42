import { monitorEventLoopDelay } from 'node:perf_hooks'

/** The event-loop delay histogram's tick. */
const RESOLUTION_MS = 10

/** Options of {@link createAdmission}. */
export interface AdmissionOptions {
  /** Regulated calls in progress at once in this process beyond which new ones are shed (0: no cap). */
  maxInFlight: number
  /** Mean event-loop delay over one sample window beyond which new calls are shed until a window under it (0: off). */
  maxEventLoopDelayMs: number
  /** Length of a sample window. Default 100 ms. */
  sampleMs?: number
}

/** Counters read by `/metrics` and `/internal/stats`. */
export interface AdmissionStats {
  admitted: number
  shedInFlight: number
  shedEventLoop: number
  inFlight: number
  /** The last window's mean event-loop delay, in milliseconds. */
  eventLoopDelayMs: number
}

/** Why a call was shed, or `undefined` when it is admitted. */
export type ShedReason = 'in_flight' | 'event_loop_delay'

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
 * Sheds load before it is worked on (docs/decisions/gateway-load-shedding.md). Two signals, either enough:
 * - the calls in progress in this process exceed a cap (memory and latency stay bounded whatever the clients do);
 * - the event loop is late: the mean delay measured over the last window (default 100 ms) exceeds a bound, which on a
 *   saturated CPU happens before the in-flight cap is reached. Shedding then lasts until a window is under the bound,
 *   so the process settles around the bound instead of queueing without end.
 * A shed call costs a header parse and a short refusal, so refusals stay fast while the process is saturated.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const stats: AdmissionStats = { admitted: 0, shedInFlight: 0, shedEventLoop: 0, inFlight: 0, eventLoopDelayMs: 0 }
  let late = false
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined
  let timer: NodeJS.Timeout | undefined
  if (options.maxEventLoopDelayMs > 0) {
    histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    histogram.enable()
    timer = setInterval(() => {
      // The histogram holds the time between its own ticks, in nanoseconds: the lateness is what exceeds the tick
      // (RESOLUTION_MS). An empty window (no tick yet) reads NaN.
      const mean = histogram!.mean / 1e6 - RESOLUTION_MS
      stats.eventLoopDelayMs = Number.isFinite(mean) ? Math.max(0, Math.round(mean * 100) / 100) : 0
      late = stats.eventLoopDelayMs > options.maxEventLoopDelayMs
      histogram!.reset()
    }, options.sampleMs ?? 100)
    timer.unref()
  }
  return {
    admit() {
      if (options.maxInFlight > 0 && stats.inFlight >= options.maxInFlight) { stats.shedInFlight++; return 'in_flight' }
      if (late) { stats.shedEventLoop++; return 'event_loop_delay' }
      stats.inFlight++
      stats.admitted++
      return undefined
    },
    release() { stats.inFlight-- },
    stats,
    close() {
      if (timer) clearInterval(timer)
      histogram?.disable()
    },
  }
}
