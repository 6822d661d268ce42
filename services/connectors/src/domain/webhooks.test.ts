import { describe, expect, it } from 'vitest'
import { backoffMs, nextStep, refusedUri, webhookBody, webhookPath, webhookTargetOf, webhookUrl } from './webhooks.ts'

const policy = { initialBackoffMs: 1_000, maxBackoffMs: 8_000, maxAgeMs: 60_000 }
const base = { id: '6b1f5a9e-6f0e-4c61-9a43-1f0e2d3c4b5a', source: 'test', occurredAt: '2026-05-21T08:30:00.123Z', version: 1 as const }

describe('webhook rules', () => {
  it('builds the Webhooks v1.3 paths under the registered base URI, in the version that created the resource', () => {
    expect(webhookPath({ kind: 'consent', resourceId: 'urn:bancoex:C1DD33123', apiVersion: 'v4' })).toBe('/open-banking/webhook/v1/payments/v4/consents/urn:bancoex:C1DD33123')
    expect(webhookPath({ kind: 'payment', resourceId: 'a/b c', apiVersion: 'v5' })).toBe('/open-banking/webhook/v1/payments/v5/pix/payments/a%2Fb%20c')
    expect(webhookUrl('https://tpp.example/hooks/', { kind: 'payment', resourceId: 'p1', apiVersion: 'v4' })).toBe('https://tpp.example/hooks/open-banking/webhook/v1/payments/v4/pix/payments/p1')
  })

  it('writes the body timestamp in RFC 3339 UTC to the second', () => {
    expect(webhookBody(new Date('2026-05-21T08:30:00.987Z'))).toEqual({ data: { timestamp: '2026-05-21T08:30:00Z' } })
  })

  it('notifies payment events and payment consents\' status changes, nothing else', () => {
    const payment = { paymentId: 'p1', consentId: 'urn:x:1', clientId: 'c1', organisationId: 'o1', apiVersion: 'v5' as const, status: 'RCVD' as const, statusUpdateDateTime: base.occurredAt }
    expect(webhookTargetOf({ ...base, type: 'payment.created', data: payment })).toEqual({ kind: 'payment', resourceId: 'p1', apiVersion: 'v5', clientId: 'c1', occurredAt: new Date(base.occurredAt) })
    const consent = { consentId: 'urn:x:1', kind: 'payment' as const, clientId: 'c1', apiVersion: 'v4' }
    expect(webhookTargetOf({ ...base, type: 'consent.consumed', data: { ...consent, paymentIds: [] } })).toMatchObject({ kind: 'consent', resourceId: 'urn:x:1', apiVersion: 'v4' })
    expect(webhookTargetOf({ ...base, type: 'consent.created', data: { ...consent, permissions: [] } })).toMatchObject({ kind: 'consent' })
    expect(webhookTargetOf({ ...base, type: 'consent.created', data: { ...consent, kind: 'data', permissions: [] } })).toBeUndefined()
    expect(webhookTargetOf({ ...base, type: 'consent.extended', data: consent })).toBeUndefined()
    // Several approvers: the first approval (→ PARTIALLY_ACCEPTED) notifies, a later one that is not the last does not.
    expect(webhookTargetOf({ ...base, type: 'consent.approval_recorded', data: { ...consent, approvals: 1, approversRequired: 3 } })).toMatchObject({ kind: 'consent', resourceId: 'urn:x:1' })
    expect(webhookTargetOf({ ...base, type: 'consent.approval_recorded', data: { ...consent, approvals: 2, approversRequired: 3 } })).toBeUndefined()
    expect(webhookTargetOf({ ...base, type: 'consent.authorised', data: { ...consent, apiVersion: undefined, resourceIds: [] } })).toBeUndefined()
    expect(webhookTargetOf({ ...base, type: 'consent.authorised', data: { ...consent, apiVersion: 'v3', resourceIds: [] } })).toBeUndefined()
  })

  it('calls only https URIs without credentials, query or fragment', () => {
    expect(refusedUri('https://tpp.example/hooks')).toBeUndefined()
    expect(refusedUri('http://tpp.example/hooks')).toBe('not https')
    expect(refusedUri('https://u:p@tpp.example/')).toBe('credentials in the URI')
    expect(refusedUri('https://tpp.example/?next=http://169.254.169.254')).toBe('query or fragment in the URI')
    expect(refusedUri('not a url')).toBe('not a URL')
  })

  it('retries with exponential backoff until the notification is too old, and stops at the first 202', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, policy))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000])
    const createdAt = new Date('2026-01-01T00:00:00Z')
    const at = (ms: number) => new Date(createdAt.getTime() + ms)
    expect(nextStep({ httpStatus: 202, attempts: 1, createdAt, now: at(0) }, policy)).toEqual({ status: 'DELIVERED' })
    expect(nextStep({ httpStatus: 200, attempts: 1, createdAt, now: at(0) }, policy)).toEqual({ status: 'PENDING', nextAttemptAt: at(1_000) })
    expect(nextStep({ httpStatus: undefined, attempts: 3, createdAt, now: at(10_000) }, policy)).toEqual({ status: 'PENDING', nextAttemptAt: at(14_000) })
    expect(nextStep({ httpStatus: 500, attempts: 9, createdAt, now: at(55_000) }, policy)).toEqual({ status: 'FAILED' })
  })
})
