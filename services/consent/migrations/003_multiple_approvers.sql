-- Up Migration
-- Payment consents that need several approvers (docs/regulation/payments.md#multiple-approvers): the journey's
-- approval makes the consent PARTIALLY_ACCEPTED ('partially_accepted'), the other approvers' in the bank's channels are
-- recorded ('approved') until the last one authorises it. Its approval deadline is `authorisation_deadline`, swept like
-- an unauthorised consent's.
ALTER TABLE consent_audit DROP CONSTRAINT consent_audit_action_check;
ALTER TABLE consent_audit ADD CONSTRAINT consent_audit_action_check
  CHECK (action IN ('created', 'authorised', 'partially_accepted', 'approved', 'rejected', 'revoked', 'expired', 'extended', 'consumed'));
DROP INDEX consents_awaiting_deadline;
CREATE INDEX consents_awaiting_deadline ON consents (authorisation_deadline) WHERE status IN ('AWAITING_AUTHORISATION', 'PARTIALLY_ACCEPTED');

-- Down Migration
DROP INDEX consents_awaiting_deadline;
CREATE INDEX consents_awaiting_deadline ON consents (authorisation_deadline) WHERE status = 'AWAITING_AUTHORISATION';
ALTER TABLE consent_audit DROP CONSTRAINT consent_audit_action_check;
ALTER TABLE consent_audit ADD CONSTRAINT consent_audit_action_check
  CHECK (action IN ('created', 'authorised', 'rejected', 'revoked', 'expired', 'extended', 'consumed'));
