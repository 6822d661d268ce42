import { randomUUID } from 'node:crypto'
import { ConsentEvent, topics, type ConsentSearchQuery, type PaymentsApiVersion, type Permission, type PermissionGroupName } from '@ponte/contracts'
import { DomainError, enqueueEvent, withTransaction, type Pool, type PoolClient } from '@ponte/platform'
import {
  auditTrail, claimIdempotencyKey, deleteExpiredIdempotencyKeys, insertAudit, insertConsent, insertExtension, listExtensions, lockDue,
  searchConsents, selectConsent, selectIdempotencyKey, updateConsent,
} from './consent-store.ts'
import {
  approvePayment, authorise, authorisePayment, consume, createConsent, createPaymentConsent, dueTransition, extend, parseRequestedExpiry, refusals, reject,
  revoke, revokeByTpp,
  type AuthoriseInput, type ApprovePaymentInput, type AuthorisePaymentInput, type Change, type Consent, type Decision, type ExtendInput, type Extension, type RejectInput,
  type RevokeInput,
} from '../domain/consent.ts'
import { acceptPaymentConsent, consentError, requestHash } from '../domain/payment-rules.ts'
import { eventFor } from '../domain/events.ts'
import { resolvePermissions } from '../domain/permissions.ts'

/** The time source; tests pass one they move by hand. */
export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() }

/** Where new ids come from. Consent ids are `urn:<prefix>:<uuid v4>` (122 random bits: unguessable). */
export interface Ids { consentId(): string; eventId(): string }
export function createIds(prefix: string): Ids {
  return { consentId: () => `urn:${prefix}:${randomUUID()}`, eventId: () => randomUUID() }
}

/** Who is calling, for the audit trail: the internal service (`gateway`, `auth-server`, `admin`, `scheduler`) and the interaction. */
export interface CallMeta { via: string; interactionId?: string }

/** `POST /consents` input, as received from the TPP (permissions already known and distinct). */
export interface CreateConsentInput {
  clientId: string
  organisationId?: string
  permissions: Permission[]
  loggedUserCpf: string
  businessEntityCnpj?: string
  expirationDateTime?: string
  isLinked?: boolean
}

/** `POST /open-banking/payments/{v4|v5}/consents` input, as forwarded by the gateway. */
export interface CreatePaymentConsentInput {
  apiVersion: PaymentsApiVersion
  clientId: string
  organisationId: string
  idempotencyKey: string
  /** The request body, `{"data": …}` (checked here, so a replay is answered before the rules run again). */
  body: { data: Record<string, unknown> }
}

/** How long an `x-idempotency-key` is remembered (docs/regulation/payments.md#idempotency). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000

/** The consent application service: every read and state change of a consent goes through it. */
export interface ConsentService {
  /** Validates, trims and stores a new consent; 422 with the spec's codes. */
  create(input: CreateConsentInput, meta: CallMeta): Promise<Consent>
  /** The consent, with any due time-based transition applied first; undefined when unknown. */
  get(consentId: string, meta: CallMeta): Promise<Consent | undefined>
  /** The customer approved (auth-server). */
  authorise(consentId: string, input: AuthoriseInput, meta: CallMeta): Promise<Consent>
  /** The customer refused, or the journey failed (auth-server). */
  reject(consentId: string, input: RejectInput, meta: CallMeta): Promise<Consent>
  /** Revocation by customer, staff or system. */
  revoke(consentId: string, input: RevokeInput, meta: CallMeta): Promise<Consent>
  /** `DELETE /consents/{id}` by its TPP (403 for another client's consent). */
  revokeByTpp(consentId: string, clientId: string, meta: CallMeta): Promise<Consent>
  /** `POST /consents/{id}/extends` by its TPP with the customer's token. */
  extend(consentId: string, clientId: string, input: ExtendInput, meta: CallMeta): Promise<Consent>
  /** One page of a consent's renewals (newest first). */
  extensions(consentId: string, page: number, pageSize: number): Promise<{ items: Extension[]; total: number }>
  /** Applies due time-based transitions to up to `limit` consents; returns how many changed. */
  expireDue(limit: number): Promise<number>
  /**
   * Creates a payment consent, or answers the consent created earlier with the same `x-idempotency-key` and the same
   * `data` (`replayed`); 422 `ERRO_IDEMPOTENCIA` for other `data`, 403 for another organisation's key.
   */
  createPayment(input: CreatePaymentConsentInput, meta: CallMeta): Promise<{ consent: Consent; replayed: boolean }>
  /** The customer approved a payment consent at LoA3 (auth-server). */
  authorisePayment(consentId: string, input: AuthorisePaymentInput, meta: CallMeta): Promise<Consent>
  /** Another approver's decision on a PARTIALLY_ACCEPTED payment consent, from a bank channel. */
  approvePayment(consentId: string, input: ApprovePaymentInput, meta: CallMeta): Promise<Consent>
  /** Its payments were initiated (connectors); idempotent. */
  consume(consentId: string, input: { paymentIds: string[]; by: string }, meta: CallMeta): Promise<Consent>
  /** Forgets up to `limit` idempotency keys past their 24 hours; returns how many. */
  sweepIdempotencyKeys(limit: number): Promise<number>
  search(query: ConsentSearchQuery): Promise<{ items: Consent[]; total: number }>
  audit(consentId: string): ReturnType<typeof auditTrail>
}

/** Options of {@link createConsentService}. */
export interface ConsentServiceDeps {
  pool: Pool
  clock: Clock
  ids: Ids
  /** Per-resource permission groups the bank offers; the others are trimmed from requests. */
  offeredGroups: ReadonlySet<PermissionGroupName>
}

const notFound = () => new DomainError('NOT_FOUND', 'consentimento não encontrado')
const foreign = () => new DomainError('FORBIDDEN', 'o consentimento pertence a outro cliente')

/**
 * Creates the consent service. Each state change runs in one transaction that locks the consent row
 * (`SELECT … FOR UPDATE`), asks the domain for a decision, writes the new state (guarded by the old status), the audit
 * row and the `ponte.consent.v1` event into the outbox, then commits; a refusal is raised only after that commit, so
 * an expiry found on the way is recorded even when the request is refused.
 */
export function createConsentService(deps: ConsentServiceDeps): ConsentService {
  const { pool, clock, ids } = deps

  async function persist(client: PoolClient, change: Change, at: Date, meta: CallMeta): Promise<void> {
    if (change.action === 'created') {
      await insertConsent(client, change.after)
    } else if (!(await updateConsent(client, change.after, change.before!.status))) {
      throw new Error(`consent ${change.after.consentId} changed under a lock`)
    }
    if (change.extension) await insertExtension(client, change.after.consentId, change.extension, meta.interactionId)
    const eventId = ids.eventId()
    await insertAudit(client, change, { at, via: meta.via, eventId, ...(meta.interactionId ? { interactionId: meta.interactionId } : {}) })
    await enqueueEvent(client, {
      topic: topics.consent,
      key: change.after.consentId,
      schema: ConsentEvent,
      event: eventFor(change, { eventId, occurredAt: at, ...(meta.interactionId ? { interactionId: meta.interactionId } : {}) }),
    })
  }

  async function transition(
    consentId: string,
    meta: CallMeta,
    decide: (c: Consent, now: Date) => Decision,
    guard?: (c: Consent) => DomainError | undefined,
  ): Promise<Consent> {
    const now = clock.now()
    const { consent, refusal } = await withTransaction(pool, async (client) => {
      const current = await selectConsent(client, consentId, true)
      if (!current) throw notFound()
      const denied = guard?.(current)
      if (denied) throw denied
      const decision = decide(current, now)
      if (decision.change) await persist(client, decision.change, now, meta)
      return { consent: decision.change?.after ?? current, refusal: decision.refusal }
    })
    if (refusal) throw refusal
    return consent
  }

  async function get(consentId: string, meta: CallMeta): Promise<Consent | undefined> {
    const current = await selectConsent(pool, consentId)
    if (!current || !dueTransition(current, clock.now())) return current
    // Overdue: record the expiry now, so no reader ever sees a consent that should already be REJECTED.
    return transition(consentId, meta, (c, now) => {
      const due = dueTransition(c, now)
      return due ? { change: due } : {}
    })
  }

  // The Consents API's own routes (DELETE, extends) see data consents only; payment consents are not its resources.
  const owned = (clientId: string) => (c: Consent) => (c.kind !== 'data' ? notFound() : c.clientId === clientId ? undefined : foreign())

  return {
    async create(input, meta) {
      const now = clock.now()
      const resolution = resolvePermissions(input.permissions, { hasBusinessEntity: Boolean(input.businessEntityCnpj), offered: deps.offeredGroups })
      if (!resolution.ok) {
        throw new DomainError('UNPROCESSABLE_ENTITY', resolution.detail, { ofbCode: resolution.code, title: titles[resolution.code] })
      }
      const expiry = parseRequestedExpiry(input.expirationDateTime, now)
      if (!expiry.ok) throw refusals.expiryInvalid(expiry.detail)
      const change = createConsent({
        consentId: ids.consentId(),
        clientId: input.clientId,
        permissions: resolution.permissions,
        loggedUserCpf: input.loggedUserCpf,
        ...(input.organisationId ? { organisationId: input.organisationId } : {}),
        ...(input.businessEntityCnpj ? { businessEntityCnpj: input.businessEntityCnpj } : {}),
        ...(expiry.value ? { expirationDateTime: expiry.value } : {}),
        ...(input.isLinked !== undefined ? { isLinked: input.isLinked } : {}),
      }, now)
      await withTransaction(pool, (client) => persist(client, change, now, meta))
      return change.after
    },

    get,

    authorise: (consentId, input, meta) => transition(consentId, meta, (c, now) => authorise(c, input, now)),
    reject: (consentId, input, meta) => transition(consentId, meta, (c, now) => reject(c, input, now)),
    revoke: (consentId, input, meta) => transition(consentId, meta, (c, now) => revoke(c, input, now)),
    revokeByTpp: (consentId, clientId, meta) => transition(consentId, meta, (c, now) => revokeByTpp(c, clientId, now), owned(clientId)),
    extend: (consentId, clientId, input, meta) => transition(consentId, meta, (c, now) => extend(c, input, now), owned(clientId)),

    extensions: (consentId, page, pageSize) => listExtensions(pool, consentId, pageSize, (page - 1) * pageSize),

    async expireDue(limit) {
      const now = clock.now()
      return withTransaction(pool, async (client) => {
        const due = await lockDue(client, now, limit)
        let changed = 0
        for (const c of due) {
          const change = dueTransition(c, now)
          if (!change) continue
          await persist(client, change, now, { via: 'scheduler' })
          changed++
        }
        return changed
      })
    },

    async createPayment(input, meta) {
      const now = clock.now()
      const scope = `POST /open-banking/payments/${input.apiVersion}/consents`
      const hash = requestHash(input.body.data)
      const consentId = ids.consentId()
      // The key is claimed and the consent inserted in one transaction: a refused request stores no key, and of
      // concurrent requests with one key exactly one inserts (the others wait on the key's row, then replay).
      const outcome = await withTransaction(pool, async (client) => {
        const record = { organisationId: input.organisationId, clientId: input.clientId, requestHash: hash, consentId }
        if (!(await claimIdempotencyKey(client, scope, input.idempotencyKey, record, now, new Date(now.getTime() + IDEMPOTENCY_TTL_MS)))) {
          return { existing: await selectIdempotencyKey(client, scope, input.idempotencyKey, now) }
        }
        const request = acceptPaymentConsent(input.body, input.apiVersion, now)
        const change = createPaymentConsent({ consentId, clientId: input.clientId, organisationId: input.organisationId, apiVersion: input.apiVersion, request }, now)
        await persist(client, change, now, meta)
        return { created: change.after }
      })
      if (outcome.created) return { consent: outcome.created, replayed: false }
      const existing = outcome.existing
      if (!existing) throw new Error('idempotency key neither claimed nor found')
      if (existing.organisationId !== input.organisationId) {
        throw new DomainError('FORBIDDEN', 'a chave de idempotência (x-idempotency-key) pertence a outra organização')
      }
      if (existing.requestHash !== hash) {
        throw consentError('ERRO_IDEMPOTENCIA', 'Conteúdo da mensagem (claim data) diverge do conteúdo associado a esta chave de idempotência (x-idempotency-key).')
      }
      // The original answer, with the consent's current state.
      const consent = await get(existing.consentId, meta)
      if (!consent) throw new Error(`consent ${existing.consentId} of an idempotency key is missing`)
      return { consent, replayed: true }
    },

    authorisePayment: (consentId, input, meta) => transition(consentId, meta, (c, now) => authorisePayment(c, input, now)),
    approvePayment: (consentId, input, meta) => transition(consentId, meta, (c, now) => approvePayment(c, input, now)),
    consume: (consentId, input, meta) => transition(consentId, meta, (c, now) => consume(c, input, now)),
    sweepIdempotencyKeys: (limit) => deleteExpiredIdempotencyKeys(pool, clock.now(), limit),

    search: (query) => searchConsents(pool, query),
    audit: (consentId) => auditTrail(pool, consentId),
  }
}

const titles: Record<string, string> = {
  COMBINACAO_PERMISSOES_INCORRETA: 'Combinação de permissões incorreta',
  PERMISSAO_PF_PJ_EM_CONJUNTO: 'Permissões PF e PJ em conjunto',
  INFORMACOES_PJ_NAO_INFORMADAS: 'Informações PJ não informadas',
  PERMISSOES_PJ_INCORRETAS: 'Permissões PJ incorretas',
  SEM_PERMISSOES_FUNCIONAIS_RESTANTES: 'Sem permissões funcionais restantes',
}
