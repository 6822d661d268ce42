-- Up Migration
-- Staff accounts of the console. Passwords are argon2id hashes (PHC strings); the TOTP secret is base32.
CREATE TABLE staff_users (
  user_id        uuid PRIMARY KEY,
  email          text NOT NULL UNIQUE CHECK (email = lower(email)),
  name           text NOT NULL,
  password_hash  text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  totp_secret    text,
  roles          text[] NOT NULL CHECK (roles <@ ARRAY['viewer', 'operator', 'consent_officer', 'security_admin', 'auditor']::text[]),
  disabled       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The audit trail: append-only, each entry chained to the one before by its hash (see src/domain/audit-chain.ts).
CREATE TABLE audit_log (
  seq           bigint PRIMARY KEY,
  entry_id      uuid NOT NULL UNIQUE,
  at            timestamptz NOT NULL,
  actor_id      text,
  actor_email   text,
  address       text,
  action        text NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  target        text,
  before        jsonb,
  after         jsonb,
  detail        jsonb,
  request_id    text,
  prev_hash     text NOT NULL,
  hash          text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_email, at DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC);

-- Append-only: no row is ever changed or removed, whoever asks (the service's own role included).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE staff_users;
