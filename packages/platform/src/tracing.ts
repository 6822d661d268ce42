import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api'

/**
 * Trace context across services (docs/decisions/observability-tracing.md). The OpenTelemetry SDK runs only when the
 * bootstrap (`node --import @ponte/platform/otel`) started it; everything here checks {@link tracingEnabled} first,
 * so a process without tracing pays one boolean test, never a span or a header.
 */
const ENABLED = Symbol.for('ponte.tracing.enabled')

/** Whether the OpenTelemetry SDK was started in this process. */
export function tracingEnabled(): boolean {
  return (globalThis as Record<symbol, unknown>)[ENABLED] === true
}

/** Called by the bootstrap once the SDK started. */
export function markTracingEnabled(): void {
  (globalThis as Record<symbol, unknown>)[ENABLED] = true
}

const tracer = () => trace.getTracer('@ponte/platform')

/** The trace id of the active span (32 hex digits), or undefined when none or tracing is off. */
export function activeTraceId(): string | undefined {
  if (!tracingEnabled()) return undefined
  const sc = trace.getActiveSpan()?.spanContext()
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined
}

/** The active trace context as W3C headers (`traceparent`, `tracestate`), to keep with work done later; null when none. */
export function captureTraceContext(): Record<string, string> | null {
  if (!tracingEnabled()) return null
  const carrier: Record<string, string> = {}
  propagation.inject(context.active(), carrier)
  return carrier.traceparent ? carrier : null
}

/** What a Kafka message carries: header values as Buffers or strings. */
type Headers = Record<string, Buffer | string | Array<Buffer | string> | undefined>
const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key]
    if (v === undefined) return undefined
    return Array.isArray(v) ? v.map(String) : String(v)
  },
}

/**
 * Starts the PRODUCER span of one message published on behalf of a stored trace context (the transaction that wrote
 * the outbox row), and writes the span's context into the message headers. Undefined when tracing is off.
 */
export function startPublishSpan(topic: string, stored: Record<string, string> | null, headers: Record<string, string>, attributes: Record<string, string | number>): Span | undefined {
  if (!tracingEnabled()) return undefined
  const parent = stored ? propagation.extract(ROOT_CONTEXT, stored) : ROOT_CONTEXT
  const span = tracer().startSpan(`${topic} publish`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': 'send', ...attributes },
  }, parent)
  propagation.inject(trace.setSpan(parent, span), headers)
  return span
}

/** Ends spans, marking them failed when `err` is given. */
export function endSpans(spans: ReadonlyArray<Span | undefined>, err?: unknown): void {
  for (const span of spans) {
    if (!span) continue
    if (err !== undefined) {
      span.recordException(err instanceof Error ? err : String(err))
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
    }
    span.end()
  }
}

/**
 * Runs `fn` inside a CONSUMER span for one Kafka message: a child of the producer's context read from the message
 * headers, with a link to the producer span as well, so the trace continues across the broker. Without tracing, just
 * runs `fn`.
 */
export async function withConsumeSpan<T>(topic: string, groupId: string, headers: Headers | undefined, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return fn()
  const parent: Context = headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT
  const producer = trace.getSpanContext(parent)
  const span = tracer().startSpan(`${topic} process`, {
    kind: SpanKind.CONSUMER,
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.consumer.group.name': groupId, 'messaging.operation.type': 'process', ...attributes },
    ...(producer && trace.isSpanContextValid(producer) ? { links: [{ context: producer }] } : {}),
  }, parent)
  try {
    const result = await context.with(trace.setSpan(parent, span), fn)
    span.end()
    return result
  } catch (err) {
    endSpans([span], err)
    throw err
  }
}

type TraceableApp = {
  decorateRequest(name: 'traceId', value: string): unknown
  addHook(name: 'onRequest', hook: (req: { traceId: string }, reply: unknown, done: () => void) => void): unknown
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's OpenTelemetry trace id (32 hex digits); '' when tracing is off. */
    traceId: string
  }
}

/** Gives each request its trace id (`req.traceId`), read once when it arrives; nothing per request when tracing is off. */
export function instrumentTracing(app: TraceableApp): void {
  app.decorateRequest('traceId', '')
  if (!tracingEnabled()) return
  app.addHook('onRequest', (req, _reply, done) => {
    req.traceId = activeTraceId() ?? ''
    done()
  })
}
