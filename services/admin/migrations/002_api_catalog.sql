-- Up Migration
-- The API versions an operator turned off or on in the console (absent: enabled, the default). Each change is
-- published on ponte.api-catalog.v1 through the outbox in the same transaction; the gateway applies it.
create table api_versions (
  key        text primary key check (key ~ '^[a-z0-9-]+/v[0-9]+$'),
  enabled    boolean not null,
  changed_by text not null,
  changed_at timestamptz not null,
  note       text not null
);

-- Down Migration
drop table api_versions;
