-- Up Migration
-- One table for every consent kind. Columns hold what every kind shares (lifecycle, owner, customer, expiry);
-- `details` holds what only one kind has (a payment consent's creditor, amount and schedule, later).
CREATE TABLE consents (
  consent_id             text PRIMARY KEY,
  kind                   text NOT NULL CHECK (kind IN ('data', 'payment')),
  status                 text NOT NULL CHECK (status IN ('AWAITING_AUTHORISATION', 'AUTHORISED', 'REJECTED', 'PARTIALLY_ACCEPTED', 'CONSUMED', 'REVOKED')),
  client_id              text NOT NULL,
  organisation_id        text,
  permissions            text[] NOT NULL DEFAULT '{}',
  logged_user_cpf        text NOT NULL,
  business_entity_cnpj   text,
  -- NULL = indefinite.
  expiration_date_time   timestamptz,
  created_at             timestamptz NOT NULL,
  status_updated_at      timestamptz NOT NULL,
  -- AWAITING_AUTHORISATION consents not authorised by then are rejected (60 min for data consents).
  authorisation_deadline timestamptz NOT NULL,
  resources              jsonb NOT NULL DEFAULT '[]',
  authorised_cpf         text,
  authorised_cnpj        text,
  acr                    text,
  rejected_by            text CHECK (rejected_by IN ('USER', 'ASPSP', 'TPP')),
  rejection_reason       text,
  rejection_information  text,
  is_linked              boolean,
  link_id                text,
  details                jsonb NOT NULL DEFAULT '{}',
  CHECK ((status = 'REJECTED') = (rejected_by IS NOT NULL AND rejection_reason IS NOT NULL))
);
-- Scheduler sweeps: only rows that can still expire are indexed.
CREATE INDEX consents_awaiting_deadline ON consents (authorisation_deadline) WHERE status = 'AWAITING_AUTHORISATION';
CREATE INDEX consents_authorised_expiry ON consents (expiration_date_time) WHERE status = 'AUTHORISED' AND expiration_date_time IS NOT NULL;
-- Admin search.
CREATE INDEX consents_client_created ON consents (client_id, created_at DESC);
CREATE INDEX consents_created ON consents (created_at DESC);
CREATE INDEX consents_logged_user ON consents (logged_user_cpf);
CREATE INDEX consents_business_entity ON consents (business_entity_cnpj) WHERE business_entity_cnpj IS NOT NULL;
CREATE INDEX consents_authorised_cpf ON consents (authorised_cpf) WHERE authorised_cpf IS NOT NULL;

-- Audit trail: one row per state change, written in the transaction of the change. Never updated or deleted.
CREATE TABLE consent_audit (
  seq                    bigserial PRIMARY KEY,
  consent_id             text NOT NULL REFERENCES consents (consent_id),
  at                     timestamptz NOT NULL,
  action                 text NOT NULL CHECK (action IN ('created', 'authorised', 'rejected', 'revoked', 'expired', 'extended')),
  actor_type             text NOT NULL CHECK (actor_type IN ('TPP', 'CUSTOMER', 'STAFF', 'SYSTEM')),
  actor_id               text,
  via                    text NOT NULL,
  from_status            text,
  to_status              text NOT NULL,
  reason                 text,
  additional_information text,
  interaction_id         text,
  event_id               uuid NOT NULL UNIQUE
);
CREATE INDEX consent_audit_consent ON consent_audit (consent_id, seq);

-- Renewal history served by GET /consents/{consentId}/extensions.
CREATE TABLE consent_extensions (
  seq                           bigserial PRIMARY KEY,
  consent_id                    text NOT NULL REFERENCES consents (consent_id),
  requested_at                  timestamptz NOT NULL,
  expiration_date_time          timestamptz,
  previous_expiration_date_time timestamptz,
  logged_user_cpf               text NOT NULL,
  business_entity_cnpj          text,
  customer_ip_address           text NOT NULL,
  customer_user_agent           text NOT NULL,
  interaction_id                text
);
CREATE INDEX consent_extensions_consent ON consent_extensions (consent_id, requested_at DESC, seq DESC);

-- Down Migration
DROP TABLE consent_extensions;
DROP TABLE consent_audit;
DROP TABLE consents;
