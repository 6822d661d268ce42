-- Up Migration

-- The sandbox directory's own signing keys (the SSA issuer). Private keys are sealed with the master key.
create table signer_keys (
  kid text primary key,
  purpose text not null check (purpose in ('ssa')),
  alg text not null,
  -- AES-256-GCM sealed PKCS#8 PEM: base64url(iv) . base64url(tag) . base64url(ciphertext)
  private_key_sealed text not null,
  public_jwk jsonb not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);

create table organisations (
  organisation_id uuid primary key,
  name text not null,
  cnpj text not null,
  status text not null default 'Active' check (status in ('Active', 'Pending', 'Withdrawn')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table organisation_roles (
  organisation_id uuid not null references organisations on delete cascade,
  role text not null,
  status text not null default 'Active' check (status in ('Active', 'Inactive')),
  claim_id uuid not null,
  registration_id text not null,
  primary key (organisation_id, role)
);

create table software_statements (
  software_statement_id uuid primary key,
  organisation_id uuid not null references organisations on delete cascade,
  client_id text not null unique,
  client_name text not null,
  redirect_uris jsonb not null,
  webhook_uris jsonb not null,
  status text not null default 'Active' check (status in ('Active', 'Inactive')),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index software_statements_org on software_statements (organisation_id);

-- Public keys of the participants (private keys are handed out once and never stored).
create table software_keys (
  kid text not null,
  software_statement_id uuid not null references software_statements on delete cascade,
  organisation_id uuid not null,
  kind text not null check (kind in ('transport', 'signing', 'encryption')),
  public_jwk jsonb not null,
  certificate_pem text,
  thumbprint_s256 text,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (software_statement_id, kid)
);
create index software_keys_org on software_keys (organisation_id);

-- Down Migration
drop table software_keys;
drop table software_statements;
drop table organisation_roles;
drop table organisations;
drop table signer_keys;
