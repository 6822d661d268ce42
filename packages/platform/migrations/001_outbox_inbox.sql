-- Up Migration
-- Transactional outbox: events are written in the same transaction as the state change they describe,
-- then relayed to Kafka by the outbox relay. `published_at` is set once the broker acknowledged the event.
CREATE TABLE outbox (
  seq          bigserial PRIMARY KEY,
  event_id     uuid NOT NULL UNIQUE,
  topic        text NOT NULL,
  key          text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Consumer inbox: ids of events already handled, so redelivered events are ignored (idempotent consumers).
CREATE TABLE inbox (
  consumer     text NOT NULL,
  event_id     uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Down Migration
DROP TABLE inbox;
DROP TABLE outbox;
