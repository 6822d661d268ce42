import type { Logger } from '@ponte/platform'
import type { Payments } from './pg-payments.ts'

/** The payments scheduler: debits due payments and follows settlement, from the database (restart-safe). */
export interface PaymentScheduler {
  /** One sweep: due debits, then settlement follow-up; answers how many payments moved. */
  sweep(): Promise<number>
  start(): void
  stop(): Promise<void>
}

/**
 * Every `pollMs`, debits the payments that are due (received, or scheduled for today in Brasília) and moves the
 * debits awaiting settlement to ACSC or RJCT. Work is claimed row by row with `FOR UPDATE SKIP LOCKED`, so several
 * processes share it, and nothing lives only in memory: a process that dies leaves its work to the next sweep.
 */
export function createPaymentScheduler(o: { payments: Payments; pollMs: number; logger: Logger }): PaymentScheduler {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let stopped = true

  let lastPurge = 0
  const sweep = () => (running ??= (async () => {
    const moved = (await o.payments.runDue()) + (await o.payments.followSettlement())
    // Expired idempotency keys are also ignored on read; this only keeps the table small (once a minute at most).
    if (Date.now() - lastPurge > 60_000) {
      lastPurge = Date.now()
      await o.payments.purgeExpiredKeys()
    }
    return moved
  })().finally(() => { running = undefined }))

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      sweep().catch((err: unknown) => o.logger.error({ err }, 'payments sweep failed; the next poll retries')).finally(schedule)
    }, o.pollMs)
    timer.unref()
  }

  return {
    sweep,
    start() {
      if (!stopped) return
      stopped = false
      schedule()
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running?.catch(() => undefined)
    },
  }
}
