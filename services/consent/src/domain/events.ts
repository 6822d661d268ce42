import { ofbDateTime } from '@ponte/platform'
import type { ConsentEvent } from '@ponte/contracts'
import type { Change } from './consent.ts'

/** Envelope facts of one event: its id, when it was produced and the interaction that caused it. */
export interface EventMeta {
  eventId: string
  occurredAt: Date
  interactionId?: string
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** The `ponte.consent.v1` event describing a change (one event per change, never more, never fewer). */
export function eventFor(change: Change, meta: EventMeta): ConsentEvent {
  const c = change.after
  const envelope = {
    id: meta.eventId,
    source: 'consent',
    occurredAt: meta.occurredAt.toISOString(),
    version: 1 as const,
    ...(meta.interactionId && UUID_RE.test(meta.interactionId) ? { interactionId: meta.interactionId } : {}),
  }
  const base = {
    consentId: c.consentId,
    kind: c.kind,
    clientId: c.clientId,
    ...(c.organisationId ? { organisationId: c.organisationId } : {}),
    ...(c.payment ? { apiVersion: c.payment.apiVersion } : {}),
  }
  const expiry = c.expirationDateTime ? { expirationDateTime: ofbDateTime(c.expirationDateTime) } : {}
  switch (change.action) {
    case 'created':
      return { ...envelope, type: 'consent.created', data: { ...base, permissions: c.permissions, ...expiry } }
    case 'authorised':
      return {
        ...envelope,
        type: 'consent.authorised',
        data: {
          ...base,
          // A payment consent covers one account: the debtor account fixed at authorisation.
          resourceIds: c.payment?.authorisedDebtorAccount ? [c.payment.authorisedDebtorAccount.resourceId] : c.resources.map((r) => r.resourceId),
          ...expiry,
        },
      }
    case 'partially_accepted':
    case 'approved':
      return {
        ...envelope,
        type: 'consent.approval_recorded',
        data: { ...base, approvals: c.payment?.approvals?.length ?? 1, approversRequired: c.payment?.approversRequired ?? 2, ...expiry },
      }
    case 'consumed':
      return { ...envelope, type: 'consent.consumed', data: { ...base, paymentIds: c.payment?.paymentIds ?? [] } }
    case 'extended':
      return {
        ...envelope,
        type: 'consent.extended',
        data: {
          ...base,
          ...expiry,
          ...(change.before?.expirationDateTime ? { previousExpirationDateTime: ofbDateTime(change.before.expirationDateTime) } : {}),
        },
      }
    case 'rejected':
    case 'revoked':
    case 'expired':
      return {
        ...envelope,
        type: 'consent.rejected',
        data: {
          ...base,
          rejectedBy: c.rejection!.rejectedBy,
          reason: c.rejection!.reason,
          previousStatus: change.before!.status,
          // A customer's id is personal data (a CPF): it stays in the audit trail, out of the event stream.
          actor: { type: change.actor.type, ...(change.actor.id && change.actor.type !== 'CUSTOMER' ? { id: change.actor.id } : {}) },
        },
      }
  }
}
