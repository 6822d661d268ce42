-- Up Migration

-- The customer's second factor (RFC 6238 TOTP), held by the core: the shared secret (base32) per customer and the last
-- time step a code was accepted for, so that a code is accepted once. The secret never leaves the core: no route
-- answers it; the auth-server only asks whether a code is valid (`POST /internal/customers/verify-totp`).
create table customer_totp (
  customer_id bigint primary key references customer (id) on delete cascade,
  secret text not null check (secret ~ '^[A-Z2-7]{16,128}$'),
  last_used_step bigint,
  updated_at timestamptz not null default now()
);

-- Down Migration

drop table customer_totp;
