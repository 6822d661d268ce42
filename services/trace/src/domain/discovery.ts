/** Discovery status codes, in the order the spec lists concurrent ones (common-v2.0.1.yaml `Status.code`). */
export const statusOrder = ['OK', 'UNAVAILABLE', 'PARTIAL_FAILURE', 'SCHEDULED_OUTAGE'] as const
export type StatusCode = (typeof statusOrder)[number]

/** The latest probe state of an API group. */
export interface ApiState { api: string; state: 'up' | 'partial' | 'down'; since: Date; checkedAt: Date }

/** A registered scheduled outage. */
export interface Outage { outageId: string; startsAt: Date; endsAt: Date; apis: readonly string[]; explanation: string }

/** One `Status` item of `/discovery/v2/status`. */
export interface StatusItem {
  code: StatusCode
  explanation: string
  detectionTime?: string
  expectedResolutionTime?: string
  updateTime?: string
  unavailableEndpoints?: string[]
}

/** Seconds-precision UTC timestamp, as the spec's patterns want (`2024-01-01T10:00:00Z`). */
export const specTime = (d: Date) => new Date(Math.floor(d.getTime() / 1_000) * 1_000).toISOString().replace('.000Z', 'Z')

/** ISO-8601 duration of a span, e.g. `PT2H30M` (`P1DT2H` past a day). */
export function isoDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1_000))
  const d = Math.floor(s / 86_400); s -= d * 86_400
  const h = Math.floor(s / 3_600); s -= h * 3_600
  const m = Math.floor(s / 60); s -= m * 60
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : d ? '' : 'T0S'}`
}

/** Whether an outage is in effect at `now`. */
export const inEffect = (o: Outage, now: Date) => o.startsAt.getTime() <= now.getTime() && now.getTime() < o.endsAt.getTime()

/**
 * The current status (docs/regulation/regulator-endpoints.md): `OK` alone when nothing is wrong; otherwise one item per
 * code that applies, in the spec's order — `UNAVAILABLE` for API groups whose probes all failed, `PARTIAL_FAILURE` for
 * groups where some failed, `SCHEDULED_OUTAGE` for each outage in effect. A failure's `detectionTime` is when its state
 * began; its `expectedResolutionTime` is an estimate (`resolutionEstimateMs` after the last check), since nobody knows
 * it for an unscheduled failure; a scheduled outage's is its announced end.
 */
export function computeStatus(input: { now: Date; states: readonly ApiState[]; outages: readonly Outage[]; baseUrl: string; resolutionEstimateMs: number }): StatusItem[] {
  const base = input.baseUrl.replace(/\/$/, '')
  const url = (api: string) => `${base}/open-banking/${api}`
  const items: StatusItem[] = []
  for (const [code, state, word] of [['UNAVAILABLE', 'down', 'indisponíveis'], ['PARTIAL_FAILURE', 'partial', 'com falhas parciais']] as const) {
    const hit = input.states.filter((s) => s.state === state).sort((a, b) => a.api.localeCompare(b.api))
    if (hit.length === 0) continue
    const detection = new Date(Math.min(...hit.map((s) => s.since.getTime())))
    const checked = new Date(Math.max(...hit.map((s) => s.checkedAt.getTime())))
    items.push({
      code,
      explanation: `APIs ${word}: ${hit.map((s) => s.api).join(', ')}`,
      detectionTime: specTime(detection),
      expectedResolutionTime: specTime(new Date(checked.getTime() + input.resolutionEstimateMs)),
      updateTime: specTime(checked),
      unavailableEndpoints: hit.map((s) => url(s.api)),
    })
  }
  for (const o of input.outages.filter((x) => inEffect(x, input.now)).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime())) {
    items.push({
      code: 'SCHEDULED_OUTAGE',
      explanation: o.explanation,
      expectedResolutionTime: specTime(o.endsAt),
      updateTime: specTime(o.startsAt),
      ...(o.apis.length ? { unavailableEndpoints: o.apis.map(url) } : {}),
    })
  }
  if (items.length === 0) return [{ code: 'OK', explanation: 'Todas as APIs estão disponíveis', updateTime: specTime(input.now) }]
  return items
}

/** One item of `/discovery/v2/outages`. */
export interface OutageItem { outageTime: string; duration: string; isPartial: boolean; explanation: string }

/** Outages announced: those not over yet, soonest first. `isPartial` when only some API groups are affected. */
export function outageList(outages: readonly Outage[], now: Date): OutageItem[] {
  return outages
    .filter((o) => o.endsAt.getTime() > now.getTime())
    .sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime())
    .map((o) => ({
      outageTime: specTime(o.startsAt),
      duration: isoDuration(o.endsAt.getTime() - o.startsAt.getTime()),
      isPartial: o.apis.length > 0,
      explanation: o.apis.length ? `${o.explanation} (APIs: ${o.apis.join(', ')})` : o.explanation,
    }))
}
