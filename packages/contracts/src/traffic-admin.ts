import { z } from 'zod'
import { LimitKind, TrafficPolicy } from './traffic.ts'

/**
 * The internal HTTP API of `traffic` (service token, audience `traffic`), used by the admin console and, at start, by
 * the gateway (`GET /internal/policies`). Routes and semantics: services/traffic/README.md.
 */

/** An organisation id as used in policies (directory org ids are UUIDs; `|` and `*` are reserved by policy ids). */
export const PolicyOrganisationId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'letters, digits and . _ : - only (at most 100)')

/** A templated endpoint key `METHOD /path/{param}`. */
export const EndpointKey = z.string().regex(/^(GET|POST|PUT|PATCH|DELETE) \/[A-Za-z0-9_\-/{}.]{1,250}$/, 'METHOD /templated/path')

/** A policy as the API shows it: the event payload plus where it sits in the precedence and its regulatory floor. */
export const PolicyView = TrafficPolicy.extend({
  scope: z.enum(['default', 'override']),
  level: z.enum(['organisation-endpoint', 'organisation', 'endpoint', 'global', 'default']),
  /** The lowest limit the rules allow for this policy's scope (docs/regulation/traffic-and-slas.md#any-limit-at-least-the-floor). */
  floor: z.number().int().positive(),
})
export type PolicyView = z.infer<typeof PolicyView>

/** `GET /internal/policies` query: every filter is optional; no filter returns the full current set. */
export const PolicyListQuery = z.object({
  kind: LimitKind.optional(),
  scope: z.enum(['default', 'override']).optional(),
  endpoint: z.string().max(300).optional(),
  organisationId: z.string().max(100).optional(),
})

/** `GET /internal/policies` answer. */
export const PolicyList = z.object({ policies: z.array(PolicyView), total: z.number().int().nonnegative() })
export type PolicyList = z.infer<typeof PolicyList>

/**
 * `POST /internal/overrides` body: creates or replaces the override of one scope. `tpm`/`monthly` need an
 * `organisationId`, an `endpoint` or both; `global-tps` takes neither. `limit` defaults to the scope's floor.
 */
export const UpsertOverride = z.object({
  kind: LimitKind,
  endpoint: EndpointKey.optional(),
  organisationId: PolicyOrganisationId.optional(),
  limit: z.number().int().positive().max(1_000_000_000).optional(),
  enabled: z.boolean().default(true),
})
export type UpsertOverride = z.input<typeof UpsertOverride>

/** `POST /internal/overrides` answer. */
export const UpsertOverrideResult = z.object({ policy: PolicyView, created: z.boolean() })

/** `PATCH /internal/policies/{policyId}` body: turn one limit (default or override) on or off. */
export const SetPolicyEnabled = z.object({ enabled: z.boolean() })

/** `PATCH /internal/defaults/{kind}` body and answer: turn every default of a kind on or off at once. */
export const SetDefaultsEnabled = z.object({ enabled: z.boolean() })
export const SetDefaultsEnabledResult = z.object({ kind: LimitKind, enabled: z.boolean(), changed: z.number().int().nonnegative() })

/** One entry of a policy's change history. */
export const PolicyChange = z.object({
  changeId: z.string(),
  policyId: z.string(),
  action: z.enum(['created', 'updated', 'deleted']),
  /** Staff member (or `system` for seeding) who made the change. */
  actor: z.string(),
  /** Service that relayed it (service-token issuer). */
  via: z.string(),
  at: z.string(),
  before: TrafficPolicy.nullable(),
  after: TrafficPolicy.nullable(),
})
export const PolicyHistory = z.object({ changes: z.array(PolicyChange) })

/** One limitable endpoint of the NFR reference, as `GET /internal/catalogue` lists it. */
export const CatalogueEntry = z.object({
  endpoint: z.string(),
  group: z.enum(['open-data', 'customer-data']),
  api: z.string(),
  nfrPath: z.string(),
  frequency: z.enum(['high', 'medium-high', 'medium', 'low']),
  tpmFloor: z.number().int().positive(),
  tpmOrigin: z.enum(['client-ip', 'organisation']),
  tpmScalesWithQca: z.boolean(),
  monthlyFloor: z.number().int().positive().nullable(),
  spec: z.string().nullable(),
})
export type CatalogueEntry = z.infer<typeof CatalogueEntry>
export const Catalogue = z.object({ endpoints: z.array(CatalogueEntry), globalTpsFloor: z.number().int().positive() })

/** `GET /internal/usage/minutes` query: a window of calendar minutes (≤ 24 h, within the 48 h the counters keep). */
export const MinuteUsageQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  organisationId: z.string().max(100).optional(),
  endpoint: z.string().max(300).optional(),
})
/** One per-minute counter: calls accepted from one origin on one endpoint in one minute. */
export const MinuteUsageRow = z.object({
  minute: z.string(),
  origin: z.string(),
  originType: z.enum(['organisation', 'client-ip']),
  endpoint: z.string(),
  count: z.number().int().nonnegative(),
  /** The TPM limit that applies now (null: none). */
  limit: z.number().int().positive().nullable(),
})
export const MinuteUsage = z.object({
  from: z.string(),
  to: z.string(),
  rows: z.array(MinuteUsageRow),
  byOrganisation: z.record(z.string(), z.number().int().nonnegative()),
  byEndpoint: z.record(z.string(), z.number().int().nonnegative()),
})

/** `GET /internal/usage/months` query: one calendar month `YYYY-MM` (UTC), default the current one. */
export const MonthUsageQuery = z.object({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/).optional(),
  organisationId: z.string().max(100).optional(),
  endpoint: z.string().max(300).optional(),
})
export const MonthUsageRow = z.object({ organisationId: z.string(), endpoint: z.string(), count: z.number().int().nonnegative() })
export const MonthUsage = z.object({
  month: z.string(),
  rows: z.array(MonthUsageRow),
  byOrganisation: z.record(z.string(), z.number().int().nonnegative()),
  byEndpoint: z.record(z.string(), z.number().int().nonnegative()),
  total: z.number().int().nonnegative(),
})
