-- Up Migration

-- The account's approval policy (docs/regulation/payments.md#multiple-approvers): how many distinct customers acting for
-- its owner must approve a payment from it. More than one makes a payment consent PARTIALLY_ACCEPTED after the first
-- approval; the others approve in the bank's channels.
alter table account add column approvers_required smallint not null default 1 check (approvers_required between 1 and 10);

-- Down Migration
alter table account drop column if exists approvers_required;
