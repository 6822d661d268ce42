-- Up Migration
-- Payment consents (Payments v4/v5) live in `consents` with kind 'payment'; what only they have (the API version, the
-- request's creditor, payment and debtor account, the account fixed at authorisation, the payments that consumed
-- it) is kept in `details`. They add one action to the audit trail.
ALTER TABLE consent_audit DROP CONSTRAINT consent_audit_action_check;
ALTER TABLE consent_audit ADD CONSTRAINT consent_audit_action_check
  CHECK (action IN ('created', 'authorised', 'rejected', 'revoked', 'expired', 'extended', 'consumed'));

-- `x-idempotency-key` of POST /consents (docs/regulation/payments.md#idempotency): one row per key and endpoint, kept
-- 24 hours, written in the transaction that inserts the consent, so two requests with one key create one consent.
CREATE TABLE payment_consent_idempotency (
  scope            text NOT NULL,
  idempotency_key  text NOT NULL,
  organisation_id  text NOT NULL,
  client_id        text NOT NULL,
  -- sha256 of the canonical JSON of the request's `data`.
  request_hash     text NOT NULL,
  consent_id       text NOT NULL REFERENCES consents (consent_id) DEFERRABLE INITIALLY DEFERRED,
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX payment_consent_idempotency_expiry ON payment_consent_idempotency (expires_at);

-- Down Migration
DROP TABLE payment_consent_idempotency;
ALTER TABLE consent_audit DROP CONSTRAINT consent_audit_action_check;
ALTER TABLE consent_audit ADD CONSTRAINT consent_audit_action_check
  CHECK (action IN ('created', 'authorised', 'rejected', 'revoked', 'expired', 'extended'));
