import { randomUUID, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { z } from 'zod'
import { AlertEvent, topics, type ParticipantCertificates } from '@ponte/contracts'
import { assertSchemaName, enqueueEvent, type Logger, type Pool } from '@ponte/platform'
import { evaluate, transitions, type AlertThresholds, type EndpointWindow, type Transition, type Verdict } from '../domain/alerts.ts'
import { computeMetrics } from '../domain/metrics.ts'
import type { AvailabilityStore } from './pg-availability.ts'

/** Options of {@link createAlerting}. */
export interface AlertingOptions {
  pool: Pool
  availability: AvailabilityStore
  thresholds: AlertThresholds
  slaOf: (method: string, endpoint: string) => number | undefined
  /** Schemas whose outbox backlog is watched (read-only; a schema without an outbox is skipped). */
  outboxSchemas: readonly string[]
  /** Unconsumed api-call events, when the ingestion runs in this process. */
  consumerLag?: (() => Promise<number>) | undefined
  /** PEM certificate files watched for expiry (the bank's transport, signing and server certificates). */
  certificateFiles: readonly string[]
  /**
   * The TPPs' certificates from the directory connector (`GET /internal/certificates/expiry`); unset: not watched.
   * When it fails, or a keystore could not be read, the TPP certificate alerts concerned keep their state.
   */
  participantCertificates?: (() => Promise<ParticipantCertificateListing>) | undefined
  /** Webhook receiving every transition as JSON; unset: no delivery. */
  webhookUrl?: string | undefined
  logger: Logger
}

/** One round's outcome. */
export interface AlertRound { skipped: boolean; fired: string[]; resolved: string[] }

/** Evaluates the alert rules and records transitions. */
export interface Alerting {
  /** One round at `now`: evaluate, then record each transition (state, history, event, webhook) in one transaction. */
  evaluate(now: Date): Promise<AlertRound>
}

type ParticipantCertificateListing = z.infer<typeof ParticipantCertificates>

/** Subject of a TPP certificate alert: stable per software statement and key (a renewal under the same key resolves it). */
const TPP_PREFIX = 'certificate-expiry:tpp '
const tppSubject = (c: { softwareStatementId: string; kid: string; organisationId: string; subjectDn: string }) =>
  `tpp ${c.softwareStatementId} key ${c.kid} (organisation ${c.organisationId}): ${c.subjectDn}`

/**
 * The TPPs' certificates, and the alert keys whose absence must not resolve them (the directory, or that software
 * statement's keystore, could not be read this round).
 */
async function readParticipantCertificates(source: AlertingOptions['participantCertificates'], log: Logger) {
  if (!source) return { certificates: [], keep: () => false }
  try {
    const listing = await source()
    const unreadable = new Set(listing.unreadable.map((u) => u.softwareStatementId))
    if (unreadable.size) log.warn({ unreadable: listing.unreadable }, 'TPP keystores unreadable: their certificate alerts keep their state')
    return {
      certificates: listing.certificates.map((c) => ({ subject: tppSubject(c), notAfter: new Date(c.notAfter) })),
      keep: (alertKey: string) => [...unreadable].some((id) => alertKey.startsWith(`${TPP_PREFIX}${id} `)),
    }
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'TPP certificates unavailable from the directory: their alerts keep their state')
    return { certificates: [], keep: (alertKey: string) => alertKey.startsWith(TPP_PREFIX) }
  }
}

/** The certificates of the watched files (a file that cannot be read is itself reported with expiry now). */
function readCertificates(files: readonly string[], now: Date, log: Logger) {
  return files.flatMap((file) => {
    try {
      const pem = readFileSync(file, 'utf8')
      const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
      return blocks.map((b) => { const c = new X509Certificate(b); return { subject: `${file}: ${c.subject.replaceAll('\n', ', ')}`, notAfter: new Date(c.validTo) } })
    } catch (err) {
      log.warn({ file, err: err instanceof Error ? err.message : String(err) }, 'certificate file unreadable')
      return [{ subject: `${file}: unreadable`, notAfter: now }]
    }
  })
}

/** The alerting of trace on PostgreSQL. Replicas take turns: a round runs under a transaction-scoped advisory lock. */
export function createAlerting(options: AlertingOptions): Alerting {
  const { pool } = options
  const th = options.thresholds
  const log = options.logger.child({ component: 'alerting' })

  async function gather(now: Date) {
    const input = await options.availability.metricsInput(now, 'CURRENT')
    const availability = computeMetrics({ ...input, baseUrl: '' }).map((r) => ({ endpoint: r.endpoint, uptimeRate: Number(r.availability.uptime.uptimeRate) }))
    const { rows } = await pool.query<{ endpoint: string; method: string; calls: number; s5xx: number; s429: number; s529: number; over1500: number; over2000: number; over4000: number }>(
      `select endpoint, method, sum(calls)::int as calls, (sum(calls) filter (where status >= 500))::int as s5xx,
              (sum(calls) filter (where status = 429))::int as s429, (sum(calls) filter (where status = 529))::int as s529,
              sum(over_1500)::int as over1500, sum(over_2000)::int as over2000, sum(over_4000)::int as over4000
         from call_minutes where minute >= $1 and minute < $2 group by endpoint, method`,
      [new Date(now.getTime() - th.windowMinutes * 60_000), now])
    const windows: EndpointWindow[] = rows.map((r) => ({ ...r, s5xx: r.s5xx ?? 0, s429: r.s429 ?? 0, s529: r.s529 ?? 0 }))
    const outboxBacklog: Array<{ schema: string; pending: number }> = []
    for (const schema of options.outboxSchemas) {
      const name = assertSchemaName(schema)
      const exists = await pool.query<{ t: string | null }>('select to_regclass($1) as t', [`${name}.outbox`])
      if (!exists.rows[0]?.t) continue
      const r = await pool.query<{ n: number }>(`select count(*)::int as n from "${name}".outbox where published_at is null`)
      outboxBacklog.push({ schema: name, pending: r.rows[0]!.n })
    }
    let consumerLag: number | undefined
    try { consumerLag = options.consumerLag ? await options.consumerLag() : undefined } catch { consumerLag = undefined }
    if (consumerLag !== undefined && consumerLag < 0) consumerLag = undefined
    const tpp = await readParticipantCertificates(options.participantCertificates, log)
    const certificates = [...readCertificates(options.certificateFiles, now, log), ...tpp.certificates]
    return { input: { now, availability, windows, slaOf: options.slaOf, outboxBacklog, consumerLag, certificates }, keep: tpp.keep }
  }

  return {
    async evaluate(now) {
      const gathered = await gather(now)
      const verdicts = evaluate(gathered.input, th)
      const client = await pool.connect()
      try {
        await client.query('begin')
        const lock = await client.query<{ ok: boolean }>("select pg_try_advisory_xact_lock(hashtext(current_schema() || 'trace.alerts')) as ok")
        if (!lock.rows[0]?.ok) { await client.query('rollback'); return { skipped: true, fired: [], resolved: [] } }
        const firingRows = await client.query<{ alert_key: string; rule: Verdict['rule']; subject: string; threshold: number; fired_at: Date }>(
          "select alert_key, rule, subject, threshold, fired_at from alerts where state = 'firing' for update")
        const firing = new Map(firingRows.rows.map((r) => [r.alert_key, r]))
        const seen = new Set(verdicts.map((v) => v.alertKey))
        const changes: Transition[] = transitions(verdicts, new Set(firing.keys()))
        // A firing alert whose subject is no longer observed (no calls in the window, schema gone) resolves.
        for (const [key, r] of firing) {
          if (!seen.has(key) && !gathered.keep(key)) changes.push({ to: 'resolved', verdict: { alertKey: key, rule: r.rule, subject: r.subject, firing: false, value: 0, threshold: r.threshold, message: 'no longer observed' } })
        }
        for (const { verdict: v, to } of changes) {
          const firedAt = to === 'firing' ? now : firing.get(v.alertKey)?.fired_at ?? now
          await client.query(
            `insert into alerts (alert_key, rule, subject, state, value, threshold, message, fired_at, resolved_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (alert_key) do update set state = excluded.state, value = excluded.value, threshold = excluded.threshold,
               message = excluded.message, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at, updated_at = excluded.updated_at`,
            [v.alertKey, v.rule, v.subject, to, v.value, v.threshold, v.message, firedAt, to === 'resolved' ? now : null, now])
          await client.query('insert into alert_history (alert_key, state, at, value, message) values ($1, $2, $3, $4, $5)', [v.alertKey, to, now, v.value, v.message])
          const data = { alertKey: v.alertKey, rule: v.rule, subject: v.subject, value: v.value, threshold: v.threshold, message: v.message.slice(0, 2_000), firedAt: firedAt.toISOString() }
          const event: AlertEvent = to === 'firing'
            ? { id: randomUUID(), source: 'trace', occurredAt: now.toISOString(), version: 1, type: 'alert.firing', data }
            : { id: randomUUID(), source: 'trace', occurredAt: now.toISOString(), version: 1, type: 'alert.resolved', data: { ...data, resolvedAt: now.toISOString() } }
          await enqueueEvent(client, { topic: topics.alert, key: v.alertKey, schema: AlertEvent, event })
          if (options.webhookUrl) await client.query('insert into alert_deliveries (event_id, payload, next_attempt_at) values ($1, $2, $3)', [event.id, JSON.stringify(event), now])
        }
        await client.query('commit')
        const fired = changes.filter((c) => c.to === 'firing').map((c) => c.verdict.alertKey)
        const resolved = changes.filter((c) => c.to === 'resolved').map((c) => c.verdict.alertKey)
        if (fired.length || resolved.length) log.warn({ fired, resolved }, 'alerts changed')
        return { skipped: false, fired, resolved }
      } catch (err) {
        await client.query('rollback').catch(() => undefined)
        throw err
      } finally {
        client.release()
      }
    },
  }
}

/** Options of {@link deliverWebhooks}. */
export interface WebhookOptions { pool: Pool; url: string; timeoutMs: number; maxAttempts: number; now: Date; fetch?: typeof globalThis.fetch }

/**
 * Posts pending alert events to the webhook as JSON, oldest first (`FOR UPDATE SKIP LOCKED`: replicas never send the
 * same row at once). A failure (no answer, non-2xx) is retried with exponential backoff (2^attempts s, at most 10 min)
 * up to `maxAttempts`, then kept with its last error and not retried. Returns how many were delivered.
 */
export async function deliverWebhooks(options: WebhookOptions): Promise<number> {
  const f = options.fetch ?? globalThis.fetch
  const client = await options.pool.connect()
  let delivered = 0
  try {
    await client.query('begin')
    const { rows } = await client.query<{ seq: string; payload: unknown; attempts: number }>(
      `select seq, payload, attempts from alert_deliveries where delivered_at is null and next_attempt_at <= $1 and attempts < $2
        order by seq limit 20 for update skip locked`, [options.now, options.maxAttempts])
    for (const r of rows) {
      let error: string | undefined
      try {
        const res = await f(options.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.payload), signal: AbortSignal.timeout(options.timeoutMs) })
        await res.arrayBuffer().catch(() => undefined)
        if (!res.ok) error = `webhook answered ${res.status}`
      } catch (err) {
        error = err instanceof Error ? err.message.slice(0, 300) : String(err)
      }
      if (error === undefined) {
        delivered++
        await client.query('update alert_deliveries set delivered_at = $2, attempts = attempts + 1, last_error = null where seq = $1', [r.seq, options.now])
      } else {
        const backoffS = Math.min(600, 2 ** r.attempts)
        await client.query('update alert_deliveries set attempts = attempts + 1, last_error = $2, next_attempt_at = $3 where seq = $1',
          [r.seq, error, new Date(options.now.getTime() + backoffS * 1_000)])
      }
    }
    await client.query('commit')
    return delivered
  } catch (err) {
    await client.query('rollback').catch(() => undefined)
    throw err
  } finally {
    client.release()
  }
}

/** Alert state and history for the internal API. */
export function createAlertReader(pool: Pool) {
  return {
    async list(state?: 'firing' | 'resolved') {
      const { rows } = await pool.query(
        `select alert_key as "alertKey", rule, subject, state, value, threshold, message, fired_at as "firedAt", resolved_at as "resolvedAt", updated_at as "updatedAt"
           from alerts where $1::text is null or state = $1 order by updated_at desc limit 1000`, [state ?? null])
      return rows
    },
    async history(alertKey: string | undefined, limit: number) {
      const { rows } = await pool.query(
        `select alert_key as "alertKey", state, at, value, message from alert_history where $1::text is null or alert_key = $1 order by seq desc limit $2`, [alertKey ?? null, limit])
      return rows
    },
  }
}
