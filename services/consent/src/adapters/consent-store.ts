import type { Pool, PoolClient } from '@ponte/platform'
import type { ConsentAuditEntry, ConsentResource, ConsentSearchQuery, Permission } from '@ponte/contracts'
import type { Change, Consent, Extension, PaymentConsentDetails } from '../domain/consent.ts'

/** A pool or a client inside a transaction. */
export type Queryable = Pool | PoolClient

const COLUMNS = `consent_id, kind, status, client_id, organisation_id, permissions, logged_user_cpf, business_entity_cnpj,
  expiration_date_time, created_at, status_updated_at, authorisation_deadline, resources, authorised_cpf, authorised_cnpj, acr,
  rejected_by, rejection_reason, rejection_information, is_linked, link_id, details`

interface ConsentRow {
  consent_id: string
  kind: Consent['kind']
  status: Consent['status']
  client_id: string
  organisation_id: string | null
  /** Written only from a resolved permission list. */
  permissions: Permission[]
  logged_user_cpf: string
  business_entity_cnpj: string | null
  expiration_date_time: Date | null
  created_at: Date
  status_updated_at: Date
  authorisation_deadline: Date
  resources: ConsentResource[]
  authorised_cpf: string | null
  authorised_cnpj: string | null
  acr: string | null
  rejected_by: NonNullable<Consent['rejection']>['rejectedBy'] | null
  rejection_reason: NonNullable<Consent['rejection']>['reason'] | null
  rejection_information: string | null
  is_linked: boolean | null
  link_id: string | null
  details: { payment?: StoredPayment }
}

/** A payment consent's details as stored in `details.payment` (JSON: no `Date`s). */
type StoredPayment = PaymentConsentDetails

function toConsent(r: ConsentRow): Consent {
  return {
    consentId: r.consent_id,
    kind: r.kind,
    status: r.status,
    clientId: r.client_id,
    permissions: r.permissions,
    loggedUserCpf: r.logged_user_cpf,
    createdAt: r.created_at,
    statusUpdatedAt: r.status_updated_at,
    authorisationDeadline: r.authorisation_deadline,
    resources: r.resources,
    ...(r.organisation_id ? { organisationId: r.organisation_id } : {}),
    ...(r.business_entity_cnpj ? { businessEntityCnpj: r.business_entity_cnpj } : {}),
    ...(r.expiration_date_time ? { expirationDateTime: r.expiration_date_time } : {}),
    ...(r.authorised_cpf ? { authorisedCpf: r.authorised_cpf } : {}),
    ...(r.authorised_cnpj ? { authorisedCnpj: r.authorised_cnpj } : {}),
    ...(r.acr ? { acr: r.acr } : {}),
    ...(r.rejected_by && r.rejection_reason
      ? { rejection: { rejectedBy: r.rejected_by, reason: r.rejection_reason, ...(r.rejection_information ? { additionalInformation: r.rejection_information } : {}) } }
      : {}),
    ...(r.is_linked !== null ? { isLinked: r.is_linked } : {}),
    ...(r.link_id ? { linkId: r.link_id } : {}),
    ...(r.kind === 'payment' && r.details.payment ? { payment: r.details.payment } : {}),
  }
}

/** Reads one consent by id (primary key), optionally locking its row until the transaction ends. */
export async function selectConsent(q: Queryable, consentId: string, forUpdate = false): Promise<Consent | undefined> {
  const { rows } = await q.query<ConsentRow>(`select ${COLUMNS} from consents where consent_id = $1${forUpdate ? ' for update' : ''}`, [consentId])
  return rows[0] ? toConsent(rows[0]) : undefined
}

function values(c: Consent): unknown[] {
  return [
    c.consentId, c.kind, c.status, c.clientId, c.organisationId ?? null, c.permissions, c.loggedUserCpf, c.businessEntityCnpj ?? null,
    c.expirationDateTime ?? null, c.createdAt, c.statusUpdatedAt, c.authorisationDeadline, JSON.stringify(c.resources),
    c.authorisedCpf ?? null, c.authorisedCnpj ?? null, c.acr ?? null, c.rejection?.rejectedBy ?? null, c.rejection?.reason ?? null,
    c.rejection?.additionalInformation ?? null, c.isLinked ?? null, c.linkId ?? null, JSON.stringify(detailsOf(c)),
  ]
}

function detailsOf(c: Consent): { payment?: StoredPayment } {
  return c.payment ? { payment: c.payment } : {}
}

/** Inserts a new consent. */
export async function insertConsent(client: PoolClient, c: Consent): Promise<void> {
  await client.query(
    `insert into consents (${COLUMNS}) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)`,
    values(c),
  )
}

/**
 * Writes the new state of a consent, only if its status is still `expectedStatus` (the row is locked by the caller;
 * the condition is a second guard). Returns whether the row was updated.
 */
export async function updateConsent(client: PoolClient, c: Consent, expectedStatus: Consent['status']): Promise<boolean> {
  const { rowCount } = await client.query(
    `update consents set status = $2, permissions = $3, expiration_date_time = $4, status_updated_at = $5, resources = $6,
       authorised_cpf = $7, authorised_cnpj = $8, acr = $9, rejected_by = $10, rejection_reason = $11, rejection_information = $12,
       is_linked = $13, link_id = $14, details = $16, authorisation_deadline = $17
     where consent_id = $1 and status = $15`,
    [c.consentId, c.status, c.permissions, c.expirationDateTime ?? null, c.statusUpdatedAt, JSON.stringify(c.resources),
      c.authorisedCpf ?? null, c.authorisedCnpj ?? null, c.acr ?? null, c.rejection?.rejectedBy ?? null, c.rejection?.reason ?? null,
      c.rejection?.additionalInformation ?? null, c.isLinked ?? null, c.linkId ?? null, expectedStatus, JSON.stringify(detailsOf(c)), c.authorisationDeadline],
  )
  return rowCount === 1
}

/** Appends the audit row of a change. */
export async function insertAudit(client: PoolClient, change: Change, meta: { at: Date; via: string; interactionId?: string; eventId: string }): Promise<void> {
  await client.query(
    `insert into consent_audit (consent_id, at, action, actor_type, actor_id, via, from_status, to_status, reason, additional_information, interaction_id, event_id)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
    [change.after.consentId, meta.at, change.action, change.actor.type, change.actor.id ?? null, meta.via, change.before?.status ?? null,
      change.after.status, change.reason ?? null, change.additionalInformation ?? null, meta.interactionId ?? null, meta.eventId],
  )
}

/** Appends a renewal to the extensions history. */
export async function insertExtension(client: PoolClient, consentId: string, e: Extension, interactionId?: string): Promise<void> {
  await client.query(
    `insert into consent_extensions (consent_id, requested_at, expiration_date_time, previous_expiration_date_time, logged_user_cpf,
       business_entity_cnpj, customer_ip_address, customer_user_agent, interaction_id) values ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
    [consentId, e.requestedAt, e.expirationDateTime ?? null, e.previousExpirationDateTime ?? null, e.loggedUserCpf, e.businessEntityCnpj ?? null,
      e.customerIpAddress, e.customerUserAgent, interactionId ?? null],
  )
}

/** One page of a consent's renewals, newest first, and how many there are. */
export async function listExtensions(q: Queryable, consentId: string, limit: number, offset: number): Promise<{ items: Extension[]; total: number }> {
  const { rows } = await q.query<{
    requested_at: Date; expiration_date_time: Date | null; previous_expiration_date_time: Date | null; logged_user_cpf: string
    business_entity_cnpj: string | null; customer_ip_address: string; customer_user_agent: string; total: string
  }>(
    `select requested_at, expiration_date_time, previous_expiration_date_time, logged_user_cpf, business_entity_cnpj,
       customer_ip_address, customer_user_agent, count(*) over () as total
     from consent_extensions where consent_id = $1 order by requested_at desc, seq desc limit $2 offset $3`,
    [consentId, limit, offset],
  )
  let total = rows[0] ? Number(rows[0].total) : 0
  if (rows.length === 0 && offset > 0) {
    const count = await q.query<{ n: string }>('select count(*) as n from consent_extensions where consent_id = $1', [consentId])
    total = Number(count.rows[0]!.n)
  }
  return {
    total,
    items: rows.map((r) => ({
      requestedAt: r.requested_at,
      loggedUserCpf: r.logged_user_cpf,
      customerIpAddress: r.customer_ip_address,
      customerUserAgent: r.customer_user_agent,
      ...(r.expiration_date_time ? { expirationDateTime: r.expiration_date_time } : {}),
      ...(r.previous_expiration_date_time ? { previousExpirationDateTime: r.previous_expiration_date_time } : {}),
      ...(r.business_entity_cnpj ? { businessEntityCnpj: r.business_entity_cnpj } : {}),
    })),
  }
}

/**
 * Locks up to `limit` consents whose time-based transition is due at `now`, skipping rows another replica holds.
 * Must run inside a transaction; the locks last until it ends.
 */
export async function lockDue(client: PoolClient, now: Date, limit: number): Promise<Consent[]> {
  const awaiting = await client.query<ConsentRow>(
    `select ${COLUMNS} from consents where status in ('AWAITING_AUTHORISATION', 'PARTIALLY_ACCEPTED') and authorisation_deadline <= $1
     order by authorisation_deadline limit $2 for update skip locked`, [now, limit])
  const left = limit - awaiting.rows.length
  const expired = left > 0
    ? await client.query<ConsentRow>(
      `select ${COLUMNS} from consents where status = 'AUTHORISED' and expiration_date_time <= $1
       order by expiration_date_time limit $2 for update skip locked`, [now, left])
    : { rows: [] as ConsentRow[] }
  return [...awaiting.rows, ...expired.rows].map(toConsent)
}

/** Admin search: one page, newest first, with the total count. */
export async function searchConsents(q: Queryable, query: ConsentSearchQuery): Promise<{ items: Consent[]; total: number }> {
  const where: string[] = []
  const params: unknown[] = []
  const add = (sql: (n: string) => string, value: unknown) => { params.push(value); where.push(sql(`$${params.length}`)) }
  if (query.clientId) add((n) => `client_id = ${n}`, query.clientId)
  if (query.status) add((n) => `status = ${n}`, query.status)
  if (query.kind) add((n) => `kind = ${n}`, query.kind)
  if (query.document) add((n) => `(logged_user_cpf = ${n} or business_entity_cnpj = ${n} or authorised_cpf = ${n})`, query.document)
  if (query.from) add((n) => `created_at >= ${n}`, new Date(query.from))
  if (query.to) add((n) => `created_at < ${n}`, new Date(query.to))
  params.push(query.pageSize, (query.page - 1) * query.pageSize)
  const { rows } = await q.query<ConsentRow & { total: string }>(
    `select ${COLUMNS}, count(*) over () as total from consents ${where.length ? `where ${where.join(' and ')}` : ''}
     order by created_at desc, consent_id limit $${params.length - 1} offset $${params.length}`,
    params,
  )
  let total = rows[0] ? Number(rows[0].total) : 0
  if (rows.length === 0 && query.page > 1) {
    const count = await q.query<{ n: string }>(`select count(*) as n from consents ${where.length ? `where ${where.join(' and ')}` : ''}`, params.slice(0, -2))
    total = Number(count.rows[0]!.n)
  }
  return { items: rows.map(toConsent), total }
}

/** A consent's audit trail, oldest first. */
export async function auditTrail(q: Queryable, consentId: string): Promise<Array<Omit<ConsentAuditEntry, 'at'> & { at: Date }>> {
  const { rows } = await q.query<{
    at: Date; action: ConsentAuditEntry['action']; actor_type: ConsentAuditEntry['actor']['type']; actor_id: string | null; via: string
    from_status: ConsentAuditEntry['toStatus'] | null; to_status: ConsentAuditEntry['toStatus']; reason: string | null
    additional_information: string | null; interaction_id: string | null
  }>(
    `select at, action, actor_type, actor_id, via, from_status, to_status, reason, additional_information, interaction_id
     from consent_audit where consent_id = $1 order by seq`, [consentId])
  return rows.map((r) => ({
    at: r.at,
    action: r.action,
    actor: { type: r.actor_type, ...(r.actor_id ? { id: r.actor_id } : {}) },
    via: r.via,
    toStatus: r.to_status,
    ...(r.from_status ? { fromStatus: r.from_status } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.additional_information ? { additionalInformation: r.additional_information } : {}),
    ...(r.interaction_id ? { interactionId: r.interaction_id } : {}),
  }))
}

/** A stored `x-idempotency-key` of `POST /consents`. */
export interface IdempotencyRecord {
  organisationId: string
  clientId: string
  requestHash: string
  consentId: string
}

/**
 * Claims `key` in `scope` for a new consent, inside the caller's transaction: inserts the key, or takes over a key
 * whose 24 hours have passed. Returns true when claimed. When another transaction holds the same key uncommitted, the
 * insert waits for it to end (the primary key), so of concurrent requests exactly one claims the key; the others
 * then read the winner's record with {@link selectIdempotencyKey}.
 */
export async function claimIdempotencyKey(
  client: PoolClient, scope: string, key: string, record: IdempotencyRecord, now: Date, expiresAt: Date,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `insert into payment_consent_idempotency (scope, idempotency_key, organisation_id, client_id, request_hash, consent_id, created_at, expires_at)
     values ($1,$2,$3,$4,$5,$6,$7,$8)
     on conflict (scope, idempotency_key) do update set organisation_id = excluded.organisation_id, client_id = excluded.client_id,
       request_hash = excluded.request_hash, consent_id = excluded.consent_id, created_at = excluded.created_at, expires_at = excluded.expires_at
     where payment_consent_idempotency.expires_at <= $7`,
    [scope, key, record.organisationId, record.clientId, record.requestHash, record.consentId, now, expiresAt],
  )
  return rowCount === 1
}

/** The live record of `key` in `scope`, if any. */
export async function selectIdempotencyKey(q: Queryable, scope: string, key: string, now: Date): Promise<IdempotencyRecord | undefined> {
  const { rows } = await q.query<{ organisation_id: string; client_id: string; request_hash: string; consent_id: string }>(
    `select organisation_id, client_id, request_hash, consent_id from payment_consent_idempotency
     where scope = $1 and idempotency_key = $2 and expires_at > $3`, [scope, key, now])
  const r = rows[0]
  return r ? { organisationId: r.organisation_id, clientId: r.client_id, requestHash: r.request_hash, consentId: r.consent_id } : undefined
}

/** Deletes up to `limit` keys past their 24 hours; returns how many. */
export async function deleteExpiredIdempotencyKeys(q: Queryable, now: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from payment_consent_idempotency where ctid in (
       select ctid from payment_consent_idempotency where expires_at <= $1 limit $2 for update skip locked)`, [now, limit])
  return rowCount ?? 0
}
