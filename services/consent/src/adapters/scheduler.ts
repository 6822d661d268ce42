import type { Logger } from '@ponte/platform'
import type { ConsentService } from './consent-service.ts'

/** Options of {@link createExpiryScheduler}. */
export interface ExpirySchedulerOptions {
  consents: Pick<ConsentService, 'expireDue' | 'sweepIdempotencyKeys'>
  logger: Logger
  /** Pause between sweeps when nothing is due. */
  intervalMs: number
  /** Consents transitioned per transaction. */
  batchSize: number
}

/** A running expiry scheduler. */
export interface ExpiryScheduler {
  /** Sweeps until nothing is due; returns how many consents changed. */
  runOnce(): Promise<number>
  /** Counters since start, and when the last sweep finished without error (readiness). */
  readonly stats: { swept: number; failures: number; lastSuccessAt?: Date }
  stop(): Promise<void>
}

/**
 * Applies the time-based transitions (data consents: 60-minute authorisation window, expiry date; payment consents:
 * 5-minute authorisation and 60-minute consumption windows) and forgets idempotency keys past their 24 hours, in the
 * background. It keeps no
 * timers per consent: each sweep asks the database what is due at the clock's now, so nothing is missed across
 * restarts, and rows are claimed with `FOR UPDATE SKIP LOCKED`, so replicas sweeping at once never transition the same
 * consent twice. Reads apply the same transition lazily, so the sweep only bounds how late events are.
 */
export function createExpiryScheduler(options: ExpirySchedulerOptions): ExpiryScheduler {
  const log = options.logger.child({ component: 'expiry-scheduler' })
  const stats: ExpiryScheduler['stats'] = { swept: 0, failures: 0 }
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let wake: () => void = () => undefined
  let running: Promise<number> | undefined

  async function sweep(): Promise<number> {
    let total = 0
    for (;;) {
      const n = await options.consents.expireDue(options.batchSize)
      total += n
      if (n < options.batchSize || stopped) break
    }
    // Payment consent idempotency keys are kept 24 hours (docs/regulation/payments.md#idempotency).
    while (!stopped && (await options.consents.sweepIdempotencyKeys(options.batchSize)) === options.batchSize);
    stats.swept += total
    stats.lastSuccessAt = new Date()
    if (total > 0) log.info({ transitioned: total }, 'due consents expired')
    return total
  }

  const runOnce = () => (running ??= sweep().finally(() => { running = undefined }))

  const loop = (async () => {
    while (!stopped) {
      try {
        await runOnce()
      } catch (err) {
        stats.failures++
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'expiry sweep failed; will retry')
      }
      if (stopped) break
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.intervalMs)
        wake = () => { clearTimeout(timer); resolve() }
      })
    }
  })()

  return {
    runOnce,
    stats,
    async stop() {
      stopped = true
      wake()
      await loop
      await running?.catch(() => undefined)
    },
  }
}
