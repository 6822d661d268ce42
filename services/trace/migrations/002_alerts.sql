-- Up Migration
-- Alert state: one row per alert key (rule × subject), firing or resolved; every transition is kept in alert_history
-- and leaves as a ponte.alert.v1 event through the outbox (and, when configured, a webhook delivery) in the same
-- transaction.
CREATE TABLE alerts (
  alert_key   text PRIMARY KEY,
  rule        text NOT NULL,
  subject     text NOT NULL,
  state       text NOT NULL CHECK (state IN ('firing', 'resolved')),
  value       double precision NOT NULL,
  threshold   double precision NOT NULL,
  message     text NOT NULL,
  fired_at    timestamptz NOT NULL,
  resolved_at timestamptz,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX alerts_firing ON alerts (alert_key) WHERE state = 'firing';

CREATE TABLE alert_history (
  seq       bigserial PRIMARY KEY,
  alert_key text NOT NULL,
  state     text NOT NULL,
  at        timestamptz NOT NULL,
  value     double precision NOT NULL,
  message   text NOT NULL
);
CREATE INDEX alert_history_key ON alert_history (alert_key, seq);

-- Webhook deliveries waiting or done: retried with backoff until delivered (or given up after max attempts).
CREATE TABLE alert_deliveries (
  seq             bigserial PRIMARY KEY,
  event_id        uuid NOT NULL UNIQUE,
  payload         jsonb NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  delivered_at    timestamptz,
  last_error      text
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (next_attempt_at) WHERE delivered_at IS NULL;

-- Down Migration
DROP TABLE alert_deliveries;
DROP TABLE alert_history;
DROP TABLE alerts;
