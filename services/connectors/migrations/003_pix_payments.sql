-- Up Migration

-- Pix payment initiation (Payments API v4 and v5): the payments a TPP initiated on an authorised payment consent,
-- their status machine, and the idempotency of `POST /pix/payments` and of the cancel-all PATCH. The platform's
-- `outbox` table (platform migrations) carries the ponte.payment.v1 events written in the same transactions.

-- One row per idempotency key and endpoint, remembered 24 h (docs/regulation/payments.md#idempotency). Written in the
-- same transaction as the payments it created, so a key never names a half-made request.
create table payment_idempotency (
  endpoint text not null,
  idempotency_key text not null,
  organisation_id text not null,
  client_id text not null,
  -- SHA-256 of the canonical JSON of the request's `data`.
  request_hash text not null,
  consent_id text not null,
  -- 201/202 (the answer is rebuilt from the current state) or 422 (the stored body is answered again).
  response_status int not null,
  response_body jsonb,
  -- The payments a cancel-all cancelled (the answer of a retry).
  payment_ids text[] not null default '{}',
  created_at timestamptz not null,
  expires_at timestamptz not null,
  primary key (endpoint, idempotency_key)
);

-- A payment consent is used by one POST /pix/payments only: two POSTs with different keys cannot both pay.
create table payment_consent_use (
  consent_id text primary key,
  idempotency_key text not null,
  created_at timestamptz not null
);

create table pix_payment_initiation (
  payment_id text primary key,
  consent_id text not null,
  api_version text not null check (api_version in ('v4', 'v5')),
  client_id text not null,
  organisation_id text not null,
  end_to_end_id text not null unique,
  -- The debtor: the customer who authorised the consent, and the core account debited.
  owner_cpf text not null,
  owner_cnpj text,
  debtor_resource_id text not null,
  debtor_account jsonb not null,
  local_instrument text not null,
  amount numeric(19, 2) not null check (amount > 0),
  currency text not null,
  creditor_account jsonb not null,
  creditor jsonb not null,
  proxy text,
  qr_code text,
  transaction_identification text,
  remittance_information text,
  ibge_town_code text,
  cnpj_initiator text not null,
  authorisation_flow text,
  -- The Brasília calendar date on which it is paid.
  payment_date date not null,
  status text not null check (status in ('RCVD', 'CANC', 'ACCP', 'ACPD', 'RJCT', 'ACSC', 'PDNG', 'SCHD')),
  rejection_code text,
  rejection_detail text,
  cancellation jsonb,
  created_at timestamptz not null,
  status_updated_at timestamptz not null,
  check ((status = 'RJCT') = (rejection_code is not null)),
  check ((status = 'CANC') = (cancellation is not null))
);
create index pix_payment_initiation_consent on pix_payment_initiation (consent_id, created_at);
-- What the scheduler looks at: payments to debit (received, accepted, scheduled) and debits awaiting settlement.
create index pix_payment_initiation_work on pix_payment_initiation (payment_date, created_at) where status in ('RCVD', 'ACCP', 'SCHD', 'ACPD');

-- Down Migration
drop table if exists pix_payment_initiation, payment_consent_use, payment_idempotency;
