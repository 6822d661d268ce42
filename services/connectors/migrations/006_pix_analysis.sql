-- Up Migration

-- The reference core's analysis hold (docs/regulation/payments.md#payment-statuses, PDNG): a debit the core holds for
-- analysis is HELD (the amount is already debited, so the balance and the daily limit count it) until release_after,
-- then goes to settlement as PENDING; cancelling it while HELD returns the debit.
alter table pix_payment drop constraint pix_payment_status_check;
alter table pix_payment add constraint pix_payment_status_check check (status in ('HELD', 'PENDING', 'SETTLED', 'REJECTED', 'CANCELLED'));
alter table pix_payment add column release_after timestamptz;
alter table pix_payment add constraint pix_payment_held_release check (status <> 'HELD' or release_after is not null);
create index pix_payment_release on pix_payment (release_after) where status = 'HELD';
drop index pix_payment_daily;
create index pix_payment_daily on pix_payment (debtor_customer_id, created_at) where status in ('HELD', 'PENDING', 'SETTLED');

-- Down Migration
drop index if exists pix_payment_daily;
create index pix_payment_daily on pix_payment (debtor_customer_id, created_at) where status in ('PENDING', 'SETTLED');
drop index if exists pix_payment_release;
alter table pix_payment drop constraint if exists pix_payment_held_release;
alter table pix_payment drop column if exists release_after;
alter table pix_payment drop constraint pix_payment_status_check;
alter table pix_payment add constraint pix_payment_status_check check (status in ('PENDING', 'SETTLED', 'REJECTED', 'CANCELLED'));
