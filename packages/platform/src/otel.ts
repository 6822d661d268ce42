/**
 * OpenTelemetry bootstrap, loaded before the service with `node --import @ponte/platform/otel`.
 * Tracing starts only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise this module does nothing, so a service
 * without a collector pays no cost. The service name comes from `OTEL_SERVICE_NAME` (set by each service's start).
 */
import { register } from 'node:module'

if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
  // Patches pg, ioredis, kafkajs and http for ESM imports too.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  const { NodeSDK } = await import('@opentelemetry/sdk-node')
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
  const { getNodeAutoInstrumentations } = await import('@opentelemetry/auto-instrumentations-node')
  const sdk = new NodeSDK({
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false } })],
  })
  sdk.start()
  const shutdown = () => { void sdk.shutdown().catch(() => undefined) }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
