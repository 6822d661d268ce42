import { z } from 'zod'

/** Filters of the call search (trace `GET /internal/calls`, used by the admin console). All optional, combined with AND. */
export const CallSearchQuery = z.object({
  interactionId: z.uuid().optional(),
  consentId: z.string().min(1).max(256).optional(),
  paymentId: z.string().min(1).max(256).optional(),
  organisationId: z.string().min(1).max(256).optional(),
  clientId: z.string().min(1).max(256).optional(),
  /** The endpoint template, e.g. `/open-banking/accounts/v2/accounts/{accountId}`. */
  endpoint: z.string().min(1).max(500).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
  statusClass: z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']).optional(),
  /** Calls received at or after this instant. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Calls received before this instant. */
  to: z.iso.datetime({ offset: true }).optional(),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
})
export type CallSearchQuery = z.infer<typeof CallSearchQuery>

/** One stored call: the gateway's record, with templates instead of paths and no personal data. */
export const CallRecord = z.object({
  eventId: z.uuid(),
  interactionId: z.uuid(),
  receivedAt: z.string(),
  organisationId: z.string().nullable(),
  clientId: z.string().nullable(),
  softwareStatementId: z.string().nullable(),
  consentId: z.string().nullable(),
  paymentId: z.string().nullable(),
  endpoint: z.string(),
  method: z.string(),
  status: z.number().int(),
  ttfbMs: z.number(),
  requestBytes: z.number().int(),
  responseBytes: z.number().int(),
  errorCode: z.string().nullable(),
  /** The OpenTelemetry trace id, when the call was traced. */
  traceId: z.string().nullable(),
})
export type CallRecord = z.infer<typeof CallRecord>

/** A page of the call search, newest first. */
export const CallSearchResult = z.object({ calls: z.array(CallRecord), nextCursor: z.string().nullable() })
export type CallSearchResult = z.infer<typeof CallSearchResult>

/** A consent, payment or audit event related to a call. */
export const CallStoryEntry = z.object({
  eventId: z.uuid(),
  topic: z.string(),
  type: z.string(),
  occurredAt: z.string(),
  interactionId: z.string().nullable(),
  consentId: z.string().nullable(),
  paymentId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
})
export type CallStoryEntry = z.infer<typeof CallStoryEntry>

/** A call's whole story: the gateway record, the related transitions and audit entries, and its trace id. */
export const CallDetail = z.object({ call: CallRecord, story: z.array(CallStoryEntry), traceId: z.string().nullable() })
export type CallDetail = z.infer<typeof CallDetail>

/** A scheduled outage to announce (trace `POST /internal/outages`). */
export const NewScheduledOutage = z.object({
  /** Planned start (UTC). */
  startsAt: z.iso.datetime({ offset: true }),
  /** Planned end (UTC), after the start. */
  endsAt: z.iso.datetime({ offset: true }),
  /** Affected API groups such as `accounts/v2`; empty or absent means every API. */
  apis: z.array(z.string().regex(/^[a-z0-9-]+\/v\d+$/)).max(100).default([]),
  /** Shown to TPPs and customers on `/discovery/v2/outages` and `/status`. */
  explanation: z.string().trim().min(1).max(2_000),
})
export type NewScheduledOutage = z.infer<typeof NewScheduledOutage>

/** A registered scheduled outage. */
export const ScheduledOutage = z.object({ outageId: z.uuid(), startsAt: z.string(), endsAt: z.string(), apis: z.array(z.string()), explanation: z.string() })
export type ScheduledOutage = z.infer<typeof ScheduledOutage>

/** The window of the operations overview (trace `GET /internal/overview`, the admin console's dashboard). */
export const TraceOverviewQuery = z.object({
  /** Minutes back from now, per-minute series and p95 alike. */
  minutes: z.coerce.number().int().min(5).max(1_440).default(60),
})
export type TraceOverviewQuery = z.infer<typeof TraceOverviewQuery>

const OverviewCounts = z.object({
  calls: z.number().int(),
  /** 5xx except 529, and 408 (the admin metrics' errors). */
  errors: z.number().int(),
  s423: z.number().int(),
  s429: z.number().int(),
  s529: z.number().int(),
})

/**
 * What the regulated APIs did lately: calls, errors and rejections per minute, the p95 time to first byte of each SLA
 * tier (1 500, 2 000, 4 000 ms, from the NFR reference) against its target, and today's availability.
 */
export const TraceOverview = z.object({
  generatedAt: z.string(),
  windowMinutes: z.number().int(),
  /** One entry per minute of the window with calls, oldest first. */
  minutes: z.array(OverviewCounts.extend({ minute: z.string() })),
  totals: OverviewCounts,
  tiers: z.array(z.object({
    /** The tier's p95 target (ms). */
    slaMs: z.number().int(),
    calls: z.number().int(),
    /** The p95 time to first byte over the window (ms); null without calls. */
    p95Ms: z.number().nullable(),
    /** Share of the tier's calls slower than its target. */
    overShare: z.number(),
  })),
  availability: z.object({
    /** Today's (Brasília day) share of time in which no endpoint was down; null before the first call of the day. */
    general: z.number().nullable(),
    /** The endpoints with the lowest availability today, lowest first (at most 10). */
    lowest: z.array(z.object({ endpoint: z.string(), uptimeRate: z.number() })),
  }),
})
export type TraceOverview = z.infer<typeof TraceOverview>
