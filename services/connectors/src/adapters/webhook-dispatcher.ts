import type { Logger } from '@ponte/platform'
import { webhookBody } from '../domain/webhooks.ts'
import type { WebhookStore } from './pg-webhooks.ts'
import type { WebhookSender } from './webhook-sender.ts'

/** Options of {@link createWebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  store: WebhookStore
  sender: WebhookSender
  /** How often the job looks for due notifications (it is also woken when new ones are stored). */
  pollMs: number
  /** Notifications attempted at once by one process. */
  concurrency: number
  /** How long a claimed notification stays invisible to other processes (longer than one attempt). */
  leaseMs: number
  clock?: () => Date
  logger?: Logger
}

/** The webhook delivery job. */
export interface WebhookDispatcher {
  /** Attempts every notification due now (and those that fall due meanwhile); answers how many attempts it made. */
  deliverDue(): Promise<number>
  /** Runs a sweep soon (new notifications were stored). */
  wake(): void
  start(): void
  /** Stops polling and waits for the running sweep. */
  stop(): Promise<void>
}

/**
 * Delivers stored notifications from the database, so deliveries survive restarts and several processes share them:
 * each sweep claims due notifications with `FOR UPDATE SKIP LOCKED` and a lease, attempts them outside any transaction,
 * and records each attempt. Delivery never runs on a request's path: a slow or absent client delays only its own
 * notifications.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const clock = options.clock ?? (() => new Date())
  const log = options.logger?.child({ component: 'webhooks' })
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let again = false
  let stopped = true

  async function sweep(): Promise<number> {
    let n = 0
    for (;;) {
      again = false
      const claimed = await options.store.claimDue(clock(), options.concurrency, options.leaseMs)
      if (claimed.length === 0 && !again) return n
      await Promise.all(claimed.map(async (c) => {
        const result = await options.sender.send(c.url, webhookBody(c.occurredAt))
        await options.store.record(c, result, clock())
        log?.info({ notificationId: c.id, attempt: c.attempt, url: c.url, httpStatus: result.httpStatus, error: result.error, interactionId: result.interactionId, durationMs: result.durationMs }, 'webhook attempt')
      }))
      n += claimed.length
    }
  }

  /** One sweep at a time per process (other processes are kept apart by SKIP LOCKED). */
  function deliverDue(): Promise<number> {
    if (running) {
      again = true
      return running
    }
    running = sweep().finally(() => { running = undefined })
    return running
  }

  function safeSweep(): void {
    deliverDue().catch((err: unknown) => log?.error({ err }, 'webhook sweep failed; the next poll retries'))
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      safeSweep()
      schedule()
    }, options.pollMs)
    timer.unref()
  }

  return {
    deliverDue,
    wake() {
      if (!stopped) safeSweep()
    },
    start() {
      if (!stopped) return
      stopped = false
      safeSweep()
      schedule()
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running?.catch(() => undefined)
    },
  }
}
