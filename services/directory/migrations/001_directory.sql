-- Up Migration

-- The participants list as last synced from the central directory (one row per organisation).
create table organisations (
  organisation_id text primary key,
  name text not null,
  cnpj text not null,
  status text not null check (status in ('Active', 'Pending', 'Withdrawn')),
  -- [{ role, status }] from OrgDomainRoleClaims
  roles jsonb not null,
  logo_uri text,
  -- The organisation's entry as the directory published it.
  document jsonb not null,
  -- Hash of status + roles, to detect changes cheaply.
  fingerprint text not null,
  first_seen_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  synced_at timestamptz not null default now()
);

-- One row: when the list was last synced and when it is due again (Cache-Control max-age).
create table sync_state (
  id smallint primary key default 1 check (id = 1),
  source_url text not null,
  last_success_at timestamptz,
  next_due_at timestamptz not null default now(),
  last_error text,
  organisations integer not null default 0
);

-- Software statements whose SSA this bank verified: their keystores are re-checked at each sync.
create table software_statements (
  software_statement_id text primary key,
  organisation_id text not null,
  jwks_uri text not null,
  transport_jwks_uri text,
  status text not null default 'Active' check (status in ('Active', 'Revoked')),
  -- Active key ids last seen in jwks_uri and transport_jwks_uri.
  kids jsonb not null default '[]',
  first_seen_at timestamptz not null default now(),
  checked_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index software_statements_org on software_statements (organisation_id);

-- Down Migration
drop table software_statements;
drop table sync_state;
drop table organisations;
