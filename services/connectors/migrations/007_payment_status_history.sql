-- Up Migration
-- Every status a Pix payment took, in order, written in the transaction that changes the status (the admin console's
-- status history). Payments created before this table have their current status only.
create table pix_payment_status_history (
  seq             bigserial primary key,
  payment_id      text not null references pix_payment_initiation (payment_id),
  status          text not null,
  previous_status text,
  at              timestamptz not null,
  -- The rejection or cancellation that came with the change, when there was one.
  detail          jsonb
);
create index pix_payment_status_history_payment on pix_payment_status_history (payment_id, seq);
create index pix_payment_initiation_owner on pix_payment_initiation (owner_cpf, created_at);
create index pix_payment_initiation_org on pix_payment_initiation (organisation_id, created_at);

-- Down Migration
drop index pix_payment_initiation_org;
drop index pix_payment_initiation_owner;
drop table pix_payment_status_history;
