-- Up Migration
-- Single sign-on with the bank's OpenID Provider: a staff account is linked to one (issuer, subject). An account created
-- by single sign-on has no password (it signs in only through the provider); every account has one way in at least.
ALTER TABLE staff_users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE staff_users ADD COLUMN sso_issuer text, ADD COLUMN sso_subject text;
ALTER TABLE staff_users ADD CONSTRAINT staff_users_sso_pair CHECK ((sso_issuer IS NULL) = (sso_subject IS NULL));
ALTER TABLE staff_users ADD CONSTRAINT staff_users_some_login CHECK (password_hash IS NOT NULL OR sso_subject IS NOT NULL);
CREATE UNIQUE INDEX staff_users_sso ON staff_users (sso_issuer, sso_subject) WHERE sso_subject IS NOT NULL;

-- Down Migration
DROP INDEX staff_users_sso;
ALTER TABLE staff_users DROP CONSTRAINT staff_users_some_login, DROP CONSTRAINT staff_users_sso_pair;
ALTER TABLE staff_users DROP COLUMN sso_subject, DROP COLUMN sso_issuer;
ALTER TABLE staff_users ALTER COLUMN password_hash SET NOT NULL;
