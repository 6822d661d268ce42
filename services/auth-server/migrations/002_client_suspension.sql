-- Up Migration
-- Clients a security administrator suspended in the admin console: like a withdrawn organisation's, they can no
-- longer be loaded (no tokens, no PAR, no refresh) until reinstated. Each change is published on ponte.client.v1.
create table suspended_clients (
  client_id    text primary key,
  org_id       text not null,
  suspended_by text not null,
  note         text not null,
  suspended_at timestamptz not null default now()
);

-- Down Migration
drop table suspended_clients;
