import type { ApiCall } from '@ponte/contracts'

/**
 * Brasília time is UTC−03:00 all year (Brazil has had no daylight saving since 2019). Days of the regulator's metrics
 * start at 00:00 Brasília = 03:00 UTC (docs/regulation/regulator-endpoints.md).
 */
export const BRASILIA_OFFSET_MS = -3 * 3_600_000
const DAY_MS = 86_400_000

/** The Brasília calendar day (`YYYY-MM-DD`) of an instant. */
export function brasiliaDay(at: Date): string {
  return new Date(at.getTime() + BRASILIA_OFFSET_MS).toISOString().slice(0, 10)
}

/** The instant a Brasília day (`YYYY-MM-DD`) starts. */
export function brasiliaDayStart(day: string): Date {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - BRASILIA_OFFSET_MS)
}

/** The Brasília day `n` days before `day`. */
export function dayBefore(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - n * DAY_MS).toISOString().slice(0, 10)
}

/** The UTC day (`YYYY-MM-DD`) of an instant: raw calls are partitioned by UTC day. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10)
}

/** Name of the raw-call partition holding a UTC day: `calls_YYYYMMDD`. */
export function partitionName(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`bad day ${day}`)
  return `calls_${day.replaceAll('-', '')}`
}

/** The UTC day of a partition name, or undefined for a name that is not one of ours. */
export function partitionDay(name: string): string | undefined {
  const m = /^calls_(\d{4})(\d{2})(\d{2})$/.exec(name)
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined
}

/**
 * How a status counts (docs/regulation/traffic-and-slas.md, docs/regulation/regulator-endpoints.md):
 * - success for availability: 2xx and 422; failure: 5xx (529 included) and 408; other 4xx are not valid calls;
 * - admin `errors`: 5xx except 529, and 408 (the server failed);
 * - admin `rejections`: 423, 429 and 529 (refused by operational limits, per-client limits or global capacity).
 */
export const statusKind = {
  success: (s: number) => (s >= 200 && s < 300) || s === 422,
  failure: (s: number) => s >= 500 || s === 408,
  error: (s: number) => (s >= 500 && s !== 529) || s === 408,
  rejection: (s: number) => s === 423 || s === 429 || s === 529,
}

/** The API group of an endpoint template: `/open-banking/accounts/v2/accounts/{id}` → `accounts/v2`. */
export function apiGroupOf(endpoint: string): string {
  const m = /^\/open-banking\/([^/]+)\/(v\d+)(?:\/|$)/.exec(endpoint)
  return m ? `${m[1]}/${m[2]}` : endpoint
}

/** A call as stored: the api-call event's payload plus its id. */
export interface StoredCall {
  eventId: string
  receivedAt: Date
  data: ApiCall['data']
}

/** One row of the per-minute rollup (endpoint × method × status × organisation). */
export interface CallMinute {
  minute: string
  endpoint: string
  method: string
  status: number
  organisationId: string
  calls: number
  ttfbSum: number
  ttfbMax: number
  over1500: number
  over2000: number
  over4000: number
}
/** Per endpoint URL and minute, for availability. */
export interface EndpointMinute { endpoint: string; minute: string; calls: number; ok: number; failed: number }
/** Per endpoint URL and Brasília day, for the admin metrics. */
export interface EndpointDay { day: string; endpoint: string; calls: number; ttfbSum: number; errors: number; rejections: number }
/** Per endpoint URL and second, for the peak TPS. */
export interface EndpointSecond { second: string; endpoint: string; day: string; calls: number }

/** What a batch of newly stored calls adds to the rollups. */
export interface Rollup {
  callMinutes: CallMinute[]
  endpointMinutes: EndpointMinute[]
  endpointDays: EndpointDay[]
  endpointSeconds: EndpointSecond[]
}

const truncate = (at: Date, unitMs: number) => new Date(Math.floor(at.getTime() / unitMs) * unitMs).toISOString()

function add<K, V>(map: Map<K, V>, key: K, make: () => V, update: (v: V) => void): void {
  let v = map.get(key)
  if (!v) { v = make(); map.set(key, v) }
  update(v)
}

/** Folds newly stored calls into rollup increments. Rows come out sorted by key (upserts lock rows in one order). */
export function rollup(calls: readonly StoredCall[]): Rollup {
  const cm = new Map<string, CallMinute>()
  const em = new Map<string, EndpointMinute>()
  const ed = new Map<string, EndpointDay>()
  const es = new Map<string, EndpointSecond>()
  for (const c of calls) {
    const { endpoint, method, status, ttfbMs } = c.data
    const minute = truncate(c.receivedAt, 60_000)
    const org = c.data.organisationId ?? ''
    add(cm, `${minute}\u0000${endpoint}\u0000${method}\u0000${status}\u0000${org}`,
      () => ({ minute, endpoint, method, status, organisationId: org, calls: 0, ttfbSum: 0, ttfbMax: 0, over1500: 0, over2000: 0, over4000: 0 }),
      (r) => {
        r.calls++
        r.ttfbSum += ttfbMs
        r.ttfbMax = Math.max(r.ttfbMax, ttfbMs)
        if (ttfbMs > 1_500) r.over1500++
        if (ttfbMs > 2_000) r.over2000++
        if (ttfbMs > 4_000) r.over4000++
      })
    add(em, `${endpoint}\u0000${minute}`, () => ({ endpoint, minute, calls: 0, ok: 0, failed: 0 }), (r) => {
      r.calls++
      if (statusKind.success(status)) r.ok++
      else if (statusKind.failure(status)) r.failed++
    })
    const day = brasiliaDay(c.receivedAt)
    add(ed, `${day}\u0000${endpoint}`, () => ({ day, endpoint, calls: 0, ttfbSum: 0, errors: 0, rejections: 0 }), (r) => {
      r.calls++
      r.ttfbSum += ttfbMs
      if (statusKind.error(status)) r.errors++
      if (statusKind.rejection(status)) r.rejections++
    })
    const second = truncate(c.receivedAt, 1_000)
    add(es, `${second}\u0000${endpoint}`, () => ({ second, endpoint, day, calls: 0 }), (r) => { r.calls++ })
  }
  const sorted = <V>(m: Map<string, V>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1])
  return { callMinutes: sorted(cm), endpointMinutes: sorted(em), endpointDays: sorted(ed), endpointSeconds: sorted(es) }
}
