-- Up Migration

-- Every oidc-provider model (Client, Grant, RefreshToken, AuthorizationCode, PushedAuthorizationRequest, Session,
-- Interaction, RegistrationAccessToken, ReplayDetection, ...) in one table, as the adapter interface describes.
create table oidc_model (
  model       text not null,
  id          text not null,
  payload     jsonb not null,
  grant_id    text,
  uid         text,
  user_code   text,
  org_id      text,
  expires_at  timestamptz,
  consumed_at timestamptz,
  primary key (model, id)
);
create index oidc_model_grant_id on oidc_model (grant_id) where grant_id is not null;
create index oidc_model_uid on oidc_model (uid) where uid is not null;
create index oidc_model_user_code on oidc_model (user_code) where user_code is not null;
create index oidc_model_expires_at on oidc_model (expires_at) where expires_at is not null;
create index oidc_model_org_id on oidc_model (org_id) where org_id is not null;

-- Signing and encryption keys, sealed with the master key (AES-256-GCM). Published while not past retire_at.
create table signing_keys (
  kid         text primary key,
  use         text not null check (use in ('sig', 'enc')),
  alg         text not null,
  sealed_jwk  text not null,
  status      text not null check (status in ('active', 'retiring')),
  created_at  timestamptz not null default now(),
  retire_at   timestamptz
);

-- One registration per software statement (DCR-BR: a second DCR with the same SSA is refused).
create table ssa_registrations (
  ssa_hash       text primary key,
  client_id      text not null,
  org_id         text not null,
  software_id    text not null,
  registered_at  timestamptz not null default now()
);

-- Organisations the directory reported as withdrawn: their clients can no longer be loaded (no tokens, no PAR).
create table withdrawn_organisations (
  org_id       text primary key,
  withdrawn_at timestamptz not null default now()
);

-- Software statements whose keys the directory revoked: their clients can no longer be loaded either.
create table revoked_software_statements (
  software_id text primary key,
  org_id      text not null,
  revoked_at  timestamptz not null default now()
);

-- Which grants a consent produced, so that a rejected/revoked consent revokes its refresh tokens.
create table consent_grants (
  consent_id text not null,
  grant_id   text not null,
  client_id  text not null,
  created_at timestamptz not null default now(),
  primary key (consent_id, grant_id)
);

-- Stable public subject identifiers (subject_type=public): one pseudonymous `sub` per customer CPF.
create table subjects (
  sub        text primary key,
  cpf        text not null unique,
  cnpjs      jsonb not null default '[]',
  created_at timestamptz not null default now()
);

-- Down Migration
drop table subjects;
drop table consent_grants;
drop table revoked_software_statements;
drop table withdrawn_organisations;
drop table ssa_registrations;
drop table signing_keys;
drop table oidc_model;
