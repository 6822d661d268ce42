import { registerMetricSource } from '@ponte/platform'
import type { AdmissionStats } from './admission.ts'
import type { LimiterStats } from './limiter.ts'

/** The gateway components whose counters `/metrics` reports. */
export interface GatewayMetricsInput {
  tokens: { stats: { hits: number; misses: number } }
  consents: { stats: { hits: number; misses: number } }
  organisations: { stats: { hits: number; misses: number } }
  limiter: { stats: LimiterStats }
  events: { stats: { recorded: number; published: number; dropped: number; sendFailures: number; buffered: number } }
  admission?: { stats: AdmissionStats }
}

/**
 * Reports the gateway's cache hit counts and traffic-limiter decisions in the process metrics. The components keep
 * plain counters on the request path; they are read only when Prometheus scrapes. Returns the function that removes them.
 */
export function registerGatewayMetrics(input: GatewayMetricsInput): () => void {
  const caches = { token: input.tokens.stats, consent: input.consents.stats, organisation: input.organisations.stats }
  const limiter = input.limiter.stats
  const unregister = [
    registerMetricSource('ponte_gateway_cache_lookups_total', 'Lookups of the gateway caches (verified tokens, consent states, organisation statuses), by outcome', 'counter',
      () => Object.entries(caches).flatMap(([cache, s]) => [
        { labels: { cache, outcome: 'hit' }, value: s.hits },
        { labels: { cache, outcome: 'miss' }, value: s.misses },
      ])),
    // docs/regulation/traffic-and-slas.md: 529 for the global TPS, 429 per client per minute, 423 for the monthly limit.
    registerMetricSource('ponte_gateway_limiter_decisions_total', 'Traffic-limiter decisions: allowed, refused per limit, or taken while Redis was down', 'counter',
      () => [
        { labels: { decision: 'allowed', status: '' }, value: limiter.allowed },
        { labels: { decision: 'refused_tps', status: '529' }, value: limiter.tps },
        { labels: { decision: 'refused_tpm', status: '429' }, value: limiter.tpm },
        { labels: { decision: 'refused_monthly', status: '423' }, value: limiter.monthly },
        { labels: { decision: 'refused_redis_down', status: '503' }, value: limiter.unavailable },
        { labels: { decision: 'redis_down_pass', status: '' }, value: limiter.servedWithoutLimits },
      ]),
    registerMetricSource('ponte_gateway_limiter_redis_failures_total', 'Limiter calls that could not reach Redis', 'counter',
      () => [{ labels: {}, value: limiter.redisFailures }]),
    // api-call events (ponte.api-call.v1): while Kafka is away they wait in a bounded buffer; past it they are dropped,
    // and every drop is counted here (never silently).
    registerMetricSource('ponte_gateway_api_call_events_total', 'api-call events by outcome: recorded (emitted by a call), published (acknowledged by Kafka), dropped (buffer full)', 'counter',
      () => [
        { labels: { outcome: 'recorded' }, value: input.events.stats.recorded },
        { labels: { outcome: 'published' }, value: input.events.stats.published },
        { labels: { outcome: 'dropped' }, value: input.events.stats.dropped },
      ]),
    registerMetricSource('ponte_gateway_api_call_events_buffered', 'api-call events waiting for Kafka', 'gauge',
      () => [{ labels: {}, value: input.events.stats.buffered }]),
    registerMetricSource('ponte_gateway_api_call_event_send_failures_total', 'Failed sends of a batch of api-call events to Kafka (the batch stays buffered and is retried)', 'counter',
      () => [{ labels: {}, value: input.events.stats.sendFailures }]),
  ]
  const admission = input.admission?.stats
  if (admission) {
    unregister.push(
      registerMetricSource('ponte_gateway_shed_total', 'Regulated calls answered 529 by load shedding before any work, by signal (docs/decisions/gateway-load-shedding.md)', 'counter',
        () => [
          { labels: { reason: 'in_flight' }, value: admission.shedInFlight },
          { labels: { reason: 'event_loop' }, value: admission.shedEventLoop },
        ]),
      registerMetricSource('ponte_gateway_in_flight', 'Regulated calls in progress in this process', 'gauge', () => [{ labels: {}, value: admission.inFlight }]),
      registerMetricSource('ponte_gateway_in_flight_limit', 'Calls in progress this process admits now: the adaptive limit under OVERLOAD_MAX_IN_FLIGHT (absent when neither bounds it)', 'gauge',
        () => Number.isFinite(admission.limit) ? [{ labels: {}, value: admission.limit }] : []),
      registerMetricSource('ponte_gateway_event_loop_delay_ms', 'Mean event-loop delay of the last 50 ms window (the shedding signal)', 'gauge', () => [{ labels: {}, value: admission.eventLoopDelayMs }]),
      registerMetricSource('ponte_gateway_event_loop_utilization', 'Share of the last 50 ms window the event loop was busy (the other shedding signal)', 'gauge', () => [{ labels: {}, value: admission.eventLoopUtilization }]),
    )
  }
  return () => { for (const u of unregister) u() }
}
