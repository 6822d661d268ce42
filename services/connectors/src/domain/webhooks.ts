import type { ConsentEvent, PaymentEvent, PaymentsApiVersion } from '@ponte/contracts'

/**
 * Webhook notifications of payment consents and Pix payments (Webhooks v1.3, specs/ofb/webhook-v1.3.0.yaml). Pure
 * rules: which events notify, the path and body of a notification, which URIs may be called, and the retry policy.
 * Rules: docs/regulation/webhooks.md.
 */

/** What a notification is about: a payment consent or a Pix payment, in the API version that created it. */
export interface WebhookTarget {
  kind: 'consent' | 'payment'
  resourceId: string
  apiVersion: PaymentsApiVersion
  clientId: string
  /** When the change happened (the event's `occurredAt`): the body's `timestamp`. */
  occurredAt: Date
}

const VERSIONS: ReadonlySet<string> = new Set(['v4', 'v5'])
const CONSENT_CHANGES: ReadonlySet<string> = new Set(['consent.created', 'consent.authorised', 'consent.rejected', 'consent.consumed'])

/**
 * The notification an event calls for, if any: every payment event (created or status changed), and a payment
 * consent's status changes (created, authorised, rejected, consumed, and the first approval of several, which makes it
 * PARTIALLY_ACCEPTED; a later approval that is not the last changes no status). Data consents, extensions and events
 * without a Payments API version notify nothing (docs/regulation/webhooks.md#notification-paths).
 */
export function webhookTargetOf(event: PaymentEvent | ConsentEvent): WebhookTarget | undefined {
  const occurredAt = new Date(event.occurredAt)
  if (event.type === 'payment.created' || event.type === 'payment.status-changed') {
    return { kind: 'payment', resourceId: event.data.paymentId, apiVersion: event.data.apiVersion, clientId: event.data.clientId, occurredAt }
  }
  const partiallyAccepted = event.type === 'consent.approval_recorded' && event.data.approvals === 1
  if (!(CONSENT_CHANGES.has(event.type) || partiallyAccepted) || event.data.kind !== 'payment') return undefined
  const version = event.data.apiVersion
  if (version === undefined || !VERSIONS.has(version)) return undefined
  return { kind: 'consent', resourceId: event.data.consentId, apiVersion: version as PaymentsApiVersion, clientId: event.data.clientId, occurredAt }
}

/** A path segment: percent-encoded, but a URN's colons kept as they are (`urn:bank:consent-1`). */
function segment(id: string): string {
  return encodeURIComponent(id).replace(/%3A/gi, ':')
}

/**
 * The path appended to the client's registered base URI, in the version that created the resource
 * (docs/regulation/webhooks.md#notification-paths, #notification-api-version).
 */
export function webhookPath(target: Pick<WebhookTarget, 'kind' | 'resourceId' | 'apiVersion'>): string {
  const base = `/open-banking/webhook/v1/payments/${target.apiVersion}`
  return target.kind === 'consent' ? `${base}/consents/${segment(target.resourceId)}` : `${base}/pix/payments/${segment(target.resourceId)}`
}

/** The full URL of a notification: the registered base URI (no trailing slash) followed by {@link webhookPath}. */
export function webhookUrl(baseUri: string, target: Pick<WebhookTarget, 'kind' | 'resourceId' | 'apiVersion'>): string {
  return baseUri.replace(/\/+$/, '') + webhookPath(target)
}

/** RFC 3339 UTC to the second, as `Timestamp` requires (`2021-05-21T08:30:00Z`, at most 20 characters). */
export function webhookTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The notification body (`RequestBodyWebhook`): no resource data, only when the change happened. */
export function webhookBody(occurredAt: Date): { data: { timestamp: string } } {
  return { data: { timestamp: webhookTimestamp(occurredAt) } }
}

/**
 * Why a registered URI may not be called, or undefined when it may: only `https` base URIs without credentials,
 * query or fragment (the client registered them; they equal its software statement's `software_api_webhook_uris`,
 * docs/regulation/webhooks.md#webhook-registration). Nothing else is ever called, so a notification cannot be pointed
 * at another host.
 */
export function refusedUri(uri: string): string | undefined {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'not a URL'
  }
  if (url.protocol !== 'https:') return 'not https'
  if (url.username || url.password) return 'credentials in the URI'
  if (url.search || url.hash) return 'query or fragment in the URI'
  return undefined
}

/** How long and how often a notification is retried. */
export interface RetryPolicy {
  /** Wait before the second attempt; doubled after each failure. */
  initialBackoffMs: number
  /** Upper bound of one wait. */
  maxBackoffMs: number
  /** No attempt starts later than this after the notification was stored; then it is given up. */
  maxAgeMs: number
}

/** The wait after `attempts` failed attempts (1 → initial, 2 → 2 × initial, … capped). */
export function backoffMs(attempts: number, policy: RetryPolicy): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 30)
  return Math.min(policy.initialBackoffMs * 2 ** exp, policy.maxBackoffMs)
}

/** What one attempt's outcome means for the notification. */
export type NextStep = { status: 'DELIVERED' } | { status: 'PENDING'; nextAttemptAt: Date } | { status: 'FAILED' }

/**
 * After an attempt: 202 delivers (docs/regulation/webhooks.md#delivery); anything else (another status, a TLS or
 * connection error, a timeout) is retried with exponential backoff until the notification is `maxAgeMs` old, then
 * given up.
 */
export function nextStep(o: { httpStatus: number | undefined; attempts: number; createdAt: Date; now: Date }, policy: RetryPolicy): NextStep {
  if (o.httpStatus === 202) return { status: 'DELIVERED' }
  const next = new Date(o.now.getTime() + backoffMs(o.attempts, policy))
  if (next.getTime() > o.createdAt.getTime() + policy.maxAgeMs) return { status: 'FAILED' }
  return { status: 'PENDING', nextAttemptAt: next }
}
