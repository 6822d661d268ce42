-- Webhook notifications to clients (TPPs) about payment consents and Pix payments (docs/regulation/webhooks.md).
-- One notification per (event, registered URI), stored by the event consumer in the same transaction as its inbox row;
-- the delivery job picks due ones with FOR UPDATE SKIP LOCKED and records every attempt.

create table webhook_notification (
  id              bigserial primary key,
  event_id        uuid not null,
  event_type      text not null,
  client_id       text not null,
  organisation_id text,
  resource_kind   text not null check (resource_kind in ('consent', 'payment')),
  resource_id     text not null,
  api_version     text not null check (api_version in ('v4', 'v5')),
  base_uri        text not null,
  url             text not null,
  -- The body's timestamp: when the change happened.
  occurred_at     timestamptz not null,
  status          text not null default 'PENDING' check (status in ('PENDING', 'DELIVERED', 'FAILED')),
  attempts        integer not null default 0,
  created_at      timestamptz not null,
  -- Due time of the next attempt; while an attempt runs, the end of its lease (a process that dies mid-attempt
  -- leaves the notification due again once the lease ends).
  next_attempt_at timestamptz,
  claim_token     uuid,
  finished_at     timestamptz,
  last_error      text,
  unique (event_id, base_uri)
);
create index webhook_notification_due on webhook_notification (next_attempt_at, id) where status = 'PENDING';
create index webhook_notification_client on webhook_notification (client_id, resource_id, id);
create index webhook_notification_resource on webhook_notification (resource_id, id);

create table webhook_attempt (
  id              bigserial primary key,
  notification_id bigint not null references webhook_notification (id) on delete cascade,
  attempt         integer not null,
  interaction_id  uuid not null,
  started_at      timestamptz not null,
  duration_ms     integer not null,
  http_status     integer,
  error           text,
  unique (notification_id, attempt)
);
