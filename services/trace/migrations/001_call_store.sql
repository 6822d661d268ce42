-- Up Migration
-- Every regulated call the gateway saw (ponte.api-call.v1), one row per event. Partitioned by UTC day on
-- `received_at`; the partitions `calls_YYYYMMDD` are created ahead and dropped past the retention by the maintenance
-- job (src/adapters/pg-partitions.ts). The primary key holds the partition key, so a redelivered event (same id, same
-- `received_at`) is stored once (`ON CONFLICT DO NOTHING`).
CREATE TABLE calls (
  received_at           timestamptz NOT NULL,
  event_id              uuid NOT NULL,
  interaction_id        uuid NOT NULL,
  organisation_id       text,
  client_id             text,
  software_statement_id text,
  consent_id            text,
  payment_id            text,
  endpoint              text NOT NULL,
  method                text NOT NULL,
  status                smallint NOT NULL,
  ttfb_ms               real NOT NULL,
  request_bytes         integer NOT NULL,
  response_bytes        integer NOT NULL,
  error_code            text,
  trace_id              text,
  PRIMARY KEY (received_at, event_id)
) PARTITION BY RANGE (received_at);
CREATE INDEX calls_interaction ON calls (interaction_id);
CREATE INDEX calls_event ON calls (event_id);
CREATE INDEX calls_consent ON calls (consent_id, received_at) WHERE consent_id IS NOT NULL;
CREATE INDEX calls_payment ON calls (payment_id, received_at) WHERE payment_id IS NOT NULL;
CREATE INDEX calls_organisation ON calls (organisation_id, received_at);
CREATE INDEX calls_client ON calls (client_id, received_at);
CREATE INDEX calls_endpoint ON calls (endpoint, received_at);
CREATE INDEX calls_status ON calls (status, received_at);

-- Per-minute rollup: endpoint template × method × status × organisation ('' when none). Maintained in the same
-- transaction as the raw insert, for newly inserted rows only. `over_*` count calls slower than each SLA tier
-- (docs/regulation/traffic-and-slas.md), so "p95 above the tier" is "more than 5 % over it".
CREATE TABLE call_minutes (
  minute          timestamptz NOT NULL,
  endpoint        text NOT NULL,
  method          text NOT NULL,
  status          smallint NOT NULL,
  organisation_id text NOT NULL,
  calls           integer NOT NULL,
  ttfb_sum        double precision NOT NULL,
  ttfb_max        real NOT NULL,
  over_1500       integer NOT NULL,
  over_2000       integer NOT NULL,
  over_4000       integer NOT NULL,
  PRIMARY KEY (minute, endpoint, method, status, organisation_id)
);

-- Per endpoint URL and minute: valid calls that succeeded (2xx, 422) and failed (5xx, 408), for availability
-- (docs/regulation/traffic-and-slas.md: a minute is available when at least 95 % of its valid calls succeed).
CREATE TABLE endpoint_minutes (
  endpoint text NOT NULL,
  minute   timestamptz NOT NULL,
  calls    integer NOT NULL,
  ok       integer NOT NULL,
  failed   integer NOT NULL,
  PRIMARY KEY (endpoint, minute)
);
-- Unavailable minutes only (few), with the endpoint: the metrics count them with index-only scans.
CREATE INDEX endpoint_minutes_unavailable ON endpoint_minutes (minute, endpoint) WHERE ok * 20 < (ok + failed) * 19;

-- Per endpoint URL and Brasília day: what the admin metrics report, so they never scan calls.
CREATE TABLE endpoint_days (
  day        date NOT NULL,
  endpoint   text NOT NULL,
  calls      bigint NOT NULL,
  ttfb_sum   double precision NOT NULL,
  errors     bigint NOT NULL,
  rejections bigint NOT NULL,
  peak_tps   integer NOT NULL,
  PRIMARY KEY (day, endpoint)
);

-- Calls per endpoint URL and second, kept two days: the source of endpoint_days.peak_tps.
CREATE TABLE endpoint_seconds (
  second   timestamptz NOT NULL,
  endpoint text NOT NULL,
  calls    integer NOT NULL,
  PRIMARY KEY (second, endpoint)
);

-- Consent, payment and audit events, to tell a call's story. Stored once per event id; personal data masked.
CREATE TABLE story_events (
  event_id       uuid PRIMARY KEY,
  topic          text NOT NULL,
  type           text NOT NULL,
  occurred_at    timestamptz NOT NULL,
  interaction_id uuid,
  consent_id     text,
  payment_id     text,
  detail         jsonb NOT NULL
);
CREATE INDEX story_events_consent ON story_events (consent_id) WHERE consent_id IS NOT NULL;
CREATE INDEX story_events_payment ON story_events (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX story_events_interaction ON story_events (interaction_id) WHERE interaction_id IS NOT NULL;
CREATE INDEX story_events_occurred ON story_events (occurred_at);

-- Scheduled outages, registered through the internal API and announced on /discovery/v2/outages. `apis` lists the
-- affected API groups (`accounts/v2`, …); empty means every API (a total outage).
CREATE TABLE outages (
  outage_id   uuid PRIMARY KEY,
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
  apis        text[] NOT NULL,
  explanation text NOT NULL,
  created_at  timestamptz NOT NULL,
  created_by  text NOT NULL,
  cancelled_at timestamptz
);
CREATE INDEX outages_ends ON outages (ends_at) WHERE cancelled_at IS NULL;

-- Availability probes: per API group and minute, probes made and probes failed (down = all failed, partial = some).
CREATE TABLE api_minutes (
  api      text NOT NULL,
  minute   timestamptz NOT NULL,
  probes   integer NOT NULL,
  failures integer NOT NULL,
  PRIMARY KEY (api, minute)
);
CREATE INDEX api_minutes_bad ON api_minutes (minute) WHERE failures > 0;

-- The latest probe result per API group, and since when that state holds (discovery's detectionTime).
CREATE TABLE api_status (
  api        text PRIMARY KEY,
  state      text NOT NULL CHECK (state IN ('up', 'partial', 'down')),
  since      timestamptz NOT NULL,
  checked_at timestamptz NOT NULL,
  detail     text
);

-- Down Migration
DROP TABLE api_status;
DROP TABLE api_minutes;
DROP TABLE outages;
DROP TABLE story_events;
DROP TABLE endpoint_seconds;
DROP TABLE endpoint_days;
DROP TABLE endpoint_minutes;
DROP TABLE call_minutes;
DROP TABLE calls;
