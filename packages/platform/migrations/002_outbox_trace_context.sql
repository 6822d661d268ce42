-- Up Migration
-- The W3C trace context (traceparent, tracestate) of the transaction that wrote the event, when tracing is on: the
-- relay publishes the event later, as a span of that trace, and passes the context on in the Kafka message headers.
ALTER TABLE outbox ADD COLUMN trace_context jsonb;

-- Down Migration
ALTER TABLE outbox DROP COLUMN trace_context;
