import { randomUUID } from 'node:crypto'
import { withTransaction, type Pool, type PoolClient } from '@ponte/platform'
import { nextStep, webhookUrl, type RetryPolicy, type WebhookTarget } from '../domain/webhooks.ts'
import type { WebhookAttemptResult } from './webhook-sender.ts'

/** A notification claimed for one attempt. */
export interface ClaimedNotification {
  id: number
  url: string
  occurredAt: Date
  createdAt: Date
  /** The number of this attempt (1 for the first). */
  attempt: number
  claimToken: string
}

/** A stored notification with its attempts, as the admin console reads it. */
export interface WebhookNotificationView {
  id: string
  eventId: string
  eventType: string
  clientId: string
  resourceKind: 'consent' | 'payment'
  resourceId: string
  apiVersion: string
  url: string
  status: 'PENDING' | 'DELIVERED' | 'FAILED'
  attempts: { attempt: number; interactionId: string; startedAt: string; durationMs: number; httpStatus: number | null; error: string | null }[]
  createdAt: string
  nextAttemptAt: string | null
  finishedAt: string | null
  lastError: string | null
}

/**
 * Stores the notifications of one event, one per registered URI, in the caller's transaction (the consumer's inbox
 * transaction): `(event id, URI)` is unique, so a redelivered event stores nothing new. Answers how many were added.
 */
export async function enqueueNotifications(
  client: PoolClient,
  o: { eventId: string; eventType: string; organisationId: string | undefined; target: WebhookTarget; baseUris: readonly string[]; now: Date },
): Promise<number> {
  let added = 0
  for (const baseUri of o.baseUris) {
    const { rowCount } = await client.query(
      `insert into webhook_notification (event_id, event_type, client_id, organisation_id, resource_kind, resource_id, api_version, base_uri, url, occurred_at, created_at, next_attempt_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) on conflict (event_id, base_uri) do nothing`,
      [o.eventId, o.eventType, o.target.clientId, o.organisationId ?? null, o.target.kind, o.target.resourceId, o.target.apiVersion, baseUri, webhookUrl(baseUri, o.target), o.target.occurredAt, o.now],
    )
    added += rowCount ?? 0
  }
  return added
}

/** The delivery job's view of the table. */
export interface WebhookStore {
  /**
   * Claims up to `limit` due notifications for one attempt each (`FOR UPDATE SKIP LOCKED`, so concurrent processes
   * never claim the same one): their attempt count goes up and they are leased until `now + leaseMs`.
   */
  claimDue(now: Date, limit: number, leaseMs: number): Promise<ClaimedNotification[]>
  /** Records an attempt and moves the notification on (delivered, retried later, or given up). */
  record(n: ClaimedNotification, result: WebhookAttemptResult, now: Date): Promise<void>
  /** Notifications (newest first) of a client and/or a resource, with their attempts. */
  list(filter: { clientId?: string | undefined; resourceId?: string | undefined; limit: number }): Promise<WebhookNotificationView[]>
  /** The earliest due time of a pending notification (to wake the job). */
  nextDue(): Promise<Date | undefined>
}

/** The PostgreSQL store of notifications and attempts. */
export function createPgWebhookStore(pool: Pool, policy: RetryPolicy): WebhookStore {
  return {
    async claimDue(now, limit, leaseMs) {
      const token = randomUUID()
      const { rows } = await pool.query(
        `update webhook_notification n set attempts = n.attempts + 1, claim_token = $2, next_attempt_at = $1::timestamptz + make_interval(secs => $4::double precision / 1000)
         where n.id in (select id from webhook_notification where status = 'PENDING' and next_attempt_at <= $1 order by next_attempt_at, id limit $3 for update skip locked)
         returning n.id, n.url, n.occurred_at, n.created_at, n.attempts`,
        [now, token, limit, leaseMs],
      )
      return rows.map((r) => ({ id: Number(r.id), url: r.url as string, occurredAt: r.occurred_at as Date, createdAt: r.created_at as Date, attempt: r.attempts as number, claimToken: token }))
    },

    async record(n, result, now) {
      const step = nextStep({ httpStatus: result.httpStatus, attempts: n.attempt, createdAt: n.createdAt, now }, policy)
      await withTransaction(pool, async (c) => {
        await c.query(
          `insert into webhook_attempt (notification_id, attempt, interaction_id, started_at, duration_ms, http_status, error) values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (notification_id, attempt) do nothing`,
          [n.id, n.attempt, result.interactionId, result.startedAt, result.durationMs, result.httpStatus ?? null, result.error ?? null],
        )
        // Only the holder of the claim moves the notification on (a lease that ran out was claimed again elsewhere).
        await c.query(
          `update webhook_notification set status = $3, next_attempt_at = $4, finished_at = $5, last_error = $6, claim_token = null
           where id = $1 and claim_token = $2 and status = 'PENDING'`,
          [n.id, n.claimToken, step.status, step.status === 'PENDING' ? step.nextAttemptAt : null, step.status === 'PENDING' ? null : now, result.error ?? null],
        )
      })
    },

    async list(filter) {
      const { rows } = await pool.query(
        `select n.*, coalesce((select json_agg(json_build_object('attempt', a.attempt, 'interactionId', a.interaction_id, 'startedAt', a.started_at, 'durationMs', a.duration_ms,
             'httpStatus', a.http_status, 'error', a.error) order by a.attempt) from webhook_attempt a where a.notification_id = n.id), '[]'::json) as attempt_list
         from webhook_notification n
         where ($1::text is null or n.client_id = $1) and ($2::text is null or n.resource_id = $2)
         order by n.id desc limit $3`,
        [filter.clientId ?? null, filter.resourceId ?? null, filter.limit],
      )
      const iso = (d: Date | null) => (d ? d.toISOString() : null)
      return rows.map((r) => ({
        id: String(r.id),
        eventId: r.event_id,
        eventType: r.event_type,
        clientId: r.client_id,
        resourceKind: r.resource_kind,
        resourceId: r.resource_id,
        apiVersion: r.api_version,
        url: r.url,
        status: r.status,
        attempts: (r.attempt_list as WebhookNotificationView['attempts']).map((a) => ({ ...a, startedAt: new Date(a.startedAt).toISOString() })),
        createdAt: (r.created_at as Date).toISOString(),
        nextAttemptAt: r.status === 'PENDING' ? iso(r.next_attempt_at) : null,
        finishedAt: iso(r.finished_at),
        lastError: r.last_error,
      }))
    },

    async nextDue() {
      const { rows } = await pool.query(`select min(next_attempt_at) as due from webhook_notification where status = 'PENDING'`)
      return rows[0]?.due ? (rows[0].due as Date) : undefined
    },
  }
}
