/**
 * OpenTelemetry bootstrap, loaded before the service with `node --import @ponte/platform/otel`.
 * Tracing starts only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise this module does nothing, so a service
 * without a collector pays no cost. The service name comes from `OTEL_SERVICE_NAME` (set by each service's start).
 *
 * W3C `traceparent` crosses HTTP (server spans, and undici client spans that inject the header) and the Kafka events
 * (the outbox relay and the consumer wrapper carry it in message headers: see tracing.ts); PostgreSQL and Redis calls
 * are child spans. Log lines carry `traceId`/`spanId` through the platform logger's mixin.
 */
import { register } from 'node:module'
import { markTracingEnabled } from './tracing.ts'

if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
  // Patches pg, ioredis and http for ESM imports too.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  // Traces only: metrics are Prometheus's (`GET /metrics`), logs go to stdout.
  process.env.OTEL_METRICS_EXPORTER ??= 'none'
  process.env.OTEL_LOGS_EXPORTER ??= 'none'
  const { NodeSDK } = await import('@opentelemetry/sdk-node')
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
  const { getNodeAutoInstrumentations } = await import('@opentelemetry/auto-instrumentations-node')
  const sdk = new NodeSDK({
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [getNodeAutoInstrumentations({
      '@opentelemetry/instrumentation-fs': { enabled: false },
      '@opentelemetry/instrumentation-dns': { enabled: false },
      '@opentelemetry/instrumentation-net': { enabled: false },
      // The platform's Kafka wrapper and outbox relay propagate the context themselves (the relay publishes later, on
      // behalf of the transaction that wrote the event, which the kafkajs instrumentation cannot know).
      '@opentelemetry/instrumentation-kafkajs': { enabled: false },
      // The platform logger adds `traceId`/`spanId` itself (and keeps them out of the CPF/CNPJ masking).
      '@opentelemetry/instrumentation-pino': { enabled: false },
    })],
  })
  sdk.start()
  markTracingEnabled()
  const shutdown = () => { void sdk.shutdown().catch(() => undefined) }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
