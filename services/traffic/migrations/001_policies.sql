-- Up Migration

-- The current traffic-limit policies: defaults seeded from the NFR reference and staff overrides
-- (docs/regulation/traffic-and-slas.md).
-- policy_id = '<kind>|<scope>|<organisationId or *>|<endpoint or *>' (packages/contracts/src/traffic-resolve.ts).
create table policies (
  policy_id text primary key,
  kind text not null check (kind in ('tpm', 'global-tps', 'monthly')),
  scope text not null check (scope in ('default', 'override')),
  endpoint text,
  organisation_id text,
  "limit" integer not null check ("limit" > 0),
  enabled boolean not null,
  updated_at timestamptz not null,
  updated_by text
);
create index policies_kind_scope_idx on policies (kind, scope);
create index policies_organisation_idx on policies (organisation_id) where organisation_id is not null;

-- Every change of a policy: who, when, through which service, and the policy before and after (null when absent).
create table policy_changes (
  change_id bigserial primary key,
  policy_id text not null,
  action text not null check (action in ('created', 'updated', 'deleted')),
  actor text not null,
  via text not null,
  at timestamptz not null,
  before jsonb,
  after jsonb
);
create index policy_changes_policy_idx on policy_changes (policy_id, change_id);

-- Down Migration
drop table policy_changes;
drop table policies;
