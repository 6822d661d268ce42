import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Agent, request } from 'undici'

/** One delivery attempt's result. */
export interface WebhookAttemptResult {
  interactionId: string
  startedAt: Date
  durationMs: number
  /** The client's HTTP status, when it answered. */
  httpStatus?: number
  /** Why the attempt did not reach an answer (TLS, connection, timeout), or what the answer was when not 202. */
  error?: string
}

/** Sends one notification. */
export interface WebhookSender {
  /** POSTs `body` to `url` with a fresh `x-webhook-interaction-id`; never throws. */
  send(url: string, body: unknown): Promise<WebhookAttemptResult>
  close(): Promise<void>
}

/** Options of {@link createWebhookSender}. */
export interface WebhookSenderOptions {
  /** The bank's transport (BRCAC) certificate chain and key, PEM: the client certificate of every delivery. */
  clientCertificate: { chainPem: string; privateKeyPem: string }
  /** Trust anchors (PEM) of the clients' webhook server certificates; undefined: the system store. */
  ca?: string | undefined
  /** Connect + answer budget of one attempt. */
  timeoutMs: number
  clock?: () => Date
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } }
  const code = e.cause?.code ?? e.code
  const message = e.cause?.message ?? e.message ?? String(err)
  return (code ? `${code}: ${message}` : message).slice(0, 500)
}

/**
 * Delivers notifications over mutual TLS with the bank's transport certificate (docs/regulation/webhooks.md#transport-security,
 * docs/regulation/security-profile.md): the client's server certificate must chain to `ca` and name the host;
 * redirects are never followed (an answer other than 202 is a failed attempt), and each attempt is bounded by
 * `timeoutMs`. Each attempt carries a new `x-webhook-interaction-id` (docs/regulation/webhooks.md#webhook-interaction-id).
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const clock = options.clock ?? (() => new Date())
  const dispatcher = new Agent({
    connect: {
      cert: options.clientCertificate.chainPem,
      key: options.clientCertificate.privateKeyPem,
      ...(options.ca ? { ca: options.ca } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      timeout: options.timeoutMs,
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connections: 16,
    keepAliveTimeout: 10_000,
  })
  return {
    async send(url, body) {
      const interactionId = randomUUID()
      const startedAt = clock()
      const t0 = performance.now()
      const done = (r: { httpStatus?: number; error?: string }): WebhookAttemptResult => ({ interactionId, startedAt, durationMs: Math.round(performance.now() - t0), ...r })
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-webhook-interaction-id': interactionId },
          body: JSON.stringify(body),
          dispatcher,
          signal: AbortSignal.timeout(options.timeoutMs),
        })
        await res.body.dump({ limit: 16_384 }).catch(() => undefined)
        return done(res.statusCode === 202 ? { httpStatus: 202 } : { httpStatus: res.statusCode, error: `answered ${res.statusCode}, expected 202` })
      } catch (err) {
        return done({ error: describe(err) })
      }
    },
    close: () => dispatcher.close(),
  }
}
