import { z } from 'zod'
import { DirectoryEvent } from './directory-events.ts'
import { eventEnvelope, EventTime } from './envelope.ts'
import { PaymentEvent } from './payments.ts'
import { TrafficPolicyEvent } from './traffic.ts'
import { ApiCatalogEvent, ClientEvent } from './operations-events.ts'

/** Kafka topic names. A breaking change of a payload is a new topic version, never an edit in place. */
export const topics = {
  consent: 'ponte.consent.v1',
  apiCall: 'ponte.api-call.v1',
  trafficPolicy: 'ponte.traffic-policy.v1',
  directory: 'ponte.directory.v1',
  payment: 'ponte.payment.v1',
  audit: 'ponte.audit.v1',
  alert: 'ponte.alert.v1',
  apiCatalog: 'ponte.api-catalog.v1',
  client: 'ponte.client.v1',
} as const

/** A topic name. */
export type Topic = (typeof topics)[keyof typeof topics]

/** Topic settings used when the platform creates them explicitly (auto-creation is off on Ponte's brokers). */
export const topicSettings: Record<Topic, { partitions: number; compacted: boolean }> = {
  [topics.consent]: { partitions: 3, compacted: false },
  [topics.apiCall]: { partitions: 3, compacted: false },
  [topics.trafficPolicy]: { partitions: 1, compacted: true },
  [topics.directory]: { partitions: 1, compacted: false },
  [topics.payment]: { partitions: 3, compacted: false },
  [topics.audit]: { partitions: 1, compacted: false },
  [topics.alert]: { partitions: 1, compacted: false },
  [topics.apiCatalog]: { partitions: 1, compacted: true },
  [topics.client]: { partitions: 1, compacted: true },
}

const ConsentId = z.string().min(1).max(256)
const ConsentKind = z.enum(['data', 'payment'])
const RejectedBy = z.enum(['USER', 'ASPSP', 'TPP'])
const ConsentActor = z.object({ type: z.enum(['TPP', 'CUSTOMER', 'STAFF', 'SYSTEM']), id: z.string().optional() })

const consentBase = {
  consentId: ConsentId,
  kind: ConsentKind,
  clientId: z.string().min(1),
  organisationId: z.string().optional(),
  /** Payment consents: the Payments API version that created it (`v4` | `v5`; webhooks use it). */
  apiVersion: z.string().optional(),
}

/** A consent was created (`AWAITING_AUTHORISATION`). */
export const ConsentCreated = z.object({
  ...eventEnvelope,
  type: z.literal('consent.created'),
  data: z.object({ ...consentBase, permissions: z.array(z.string()), expirationDateTime: z.string().optional() }),
})
/** A consent was authorised by the customer. */
export const ConsentAuthorised = z.object({
  ...eventEnvelope,
  type: z.literal('consent.authorised'),
  data: z.object({ ...consentBase, resourceIds: z.array(z.string()), expirationDateTime: z.string().optional() }),
})
/** A consent reached `REJECTED` (refused, expired, revoked). Final. */
export const ConsentRejected = z.object({
  ...eventEnvelope,
  type: z.literal('consent.rejected'),
  data: z.object({ ...consentBase, rejectedBy: RejectedBy, reason: z.string(), previousStatus: z.string(), actor: ConsentActor.optional() }),
})
/** An authorised consent's expiry was extended. */
export const ConsentExtended = z.object({
  ...eventEnvelope,
  type: z.literal('consent.extended'),
  data: z.object({ ...consentBase, previousExpirationDateTime: z.string().optional(), expirationDateTime: z.string().optional() }),
})
/** A payment consent was consumed by its payments (`CONSUMED`). Final. */
export const ConsentConsumed = z.object({
  ...eventEnvelope,
  type: z.literal('consent.consumed'),
  data: z.object({ ...consentBase, paymentIds: z.array(z.string()) }),
})
/**
 * A payment consent that needs several approvers received one that is not the last: the first (it becomes
 * `PARTIALLY_ACCEPTED`) or another one in the bank's channels (it stays so). The last approval is `consent.authorised`.
 */
export const ConsentApprovalRecorded = z.object({
  ...eventEnvelope,
  type: z.literal('consent.approval_recorded'),
  data: z.object({ ...consentBase, approvals: z.number().int().positive(), approversRequired: z.number().int().min(2), expirationDateTime: z.string().optional() }),
})
/** Any event of `ponte.consent.v1`. */
export const ConsentEvent = z.discriminatedUnion('type', [ConsentCreated, ConsentAuthorised, ConsentRejected, ConsentExtended, ConsentConsumed, ConsentApprovalRecorded])
export type ConsentEvent = z.infer<typeof ConsentEvent>

/** One regulated API call seen by the gateway (`ponte.api-call.v1`), accepted or refused. Never raw resource ids. */
export const ApiCall = z.object({
  ...eventEnvelope,
  type: z.literal('api.call'),
  data: z.object({
    interactionId: z.uuid(),
    organisationId: z.string().optional(),
    clientId: z.string().optional(),
    softwareStatementId: z.string().optional(),
    consentId: z.string().optional(),
    /** The templated endpoint, e.g. `/open-banking/accounts/v2/accounts/{accountId}`. */
    endpoint: z.string().min(1),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']),
    status: z.number().int().min(100).max(599),
    /** Time to first byte, ms. */
    ttfbMs: z.number().nonnegative(),
    /** When the request arrived, with milliseconds. */
    receivedAt: EventTime,
    requestBytes: z.number().int().nonnegative(),
    responseBytes: z.number().int().nonnegative(),
    /** The error code when refused. */
    errorCode: z.string().optional(),
    /** The payment id when the call is about one (payment APIs); never a customer-data resource id. */
    paymentId: z.string().max(256).optional(),
    /** The W3C trace id (32 lowercase hex) of the call's OpenTelemetry trace, when tracing is on. */
    traceId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  }),
})
export type ApiCall = z.infer<typeof ApiCall>
/** Any event of `ponte.api-call.v1`. */
export const ApiCallEvent = z.discriminatedUnion('type', [ApiCall])
export type ApiCallEvent = z.infer<typeof ApiCallEvent>

const alertData = z.object({
  /** Stable identity of the alert: rule and subject, e.g. `error-share:GET /open-banking/accounts/v2/accounts`. */
  alertKey: z.string().min(1).max(500),
  rule: z.enum(['availability', 'latency-p95', 'error-share', 'throttle-share', 'overload-share', 'outbox-backlog', 'consumer-lag', 'certificate-expiry']),
  /** What the rule looked at: an endpoint, a schema, a consumer group, a certificate. */
  subject: z.string().min(1).max(500),
  /** The measured value and the configured threshold it crossed (or came back under). */
  value: z.number(),
  threshold: z.number(),
  message: z.string().max(2_000),
  firedAt: EventTime,
})
/** An SLA or operations alert started firing (trace, `ponte.alert.v1`, key = alertKey). */
export const AlertFiring = z.object({ ...eventEnvelope, type: z.literal('alert.firing'), data: alertData })
/** A firing alert resolved. */
export const AlertResolved = z.object({ ...eventEnvelope, type: z.literal('alert.resolved'), data: alertData.extend({ resolvedAt: EventTime }) })
/** Any event of `ponte.alert.v1`. */
export const AlertEvent = z.discriminatedUnion('type', [AlertFiring, AlertResolved])
export type AlertEvent = z.infer<typeof AlertEvent>
/**
 * One entry of the admin console's audit trail (`ponte.audit.v1`): a staff action or login attempt, as recorded in the
 * console's append-only, hash-chained store. `hash` and `prevHash` let a consumer check the chain it receives.
 */
export const StaffAuditRecorded = z.object({
  ...eventEnvelope,
  type: z.literal('audit.staff-action'),
  data: z.object({
    seq: z.number().int().positive(),
    entryId: z.uuid(),
    at: EventTime,
    actorId: z.string().nullable(),
    actorEmail: z.string().nullable(),
    address: z.string().nullable(),
    action: z.string().min(1),
    outcome: z.enum(['success', 'failure', 'denied']),
    target: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    detail: z.unknown(),
    requestId: z.string().nullable(),
    prevHash: z.string().regex(/^[0-9a-f]{64}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
  }),
})
/** Any event of `ponte.audit.v1`. */
export const AuditEvent = z.discriminatedUnion('type', [StaffAuditRecorded])
export type AuditEvent = z.infer<typeof AuditEvent>

/** Event schema by topic, for consumers that parse what they read. */
export const eventSchemas = {
  [topics.consent]: ConsentEvent,
  [topics.apiCall]: ApiCallEvent,
  [topics.directory]: DirectoryEvent,
  [topics.trafficPolicy]: TrafficPolicyEvent,
  [topics.payment]: PaymentEvent,
  [topics.alert]: AlertEvent,
  [topics.audit]: AuditEvent,
  [topics.apiCatalog]: ApiCatalogEvent,
  [topics.client]: ClientEvent,
} as const
