import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testLogger } from '@ponte/testkit'
import { createConsentService, createIds } from '../src/adapters/consent-service.ts'
import { DEFAULT_OFFERED_GROUPS } from '../src/domain/permissions.ts'
import { createExpiryScheduler } from '../src/adapters/scheduler.ts'
import { DAY, isoIn, startConsentApp, type TestConsentApp } from './helpers.ts'

describe('consent lifecycle: time-based transitions and races', () => {
  let t: TestConsentApp
  beforeAll(async () => { t = await startConsentApp({ prefix: 'consent_lifecycle' }) })
  afterAll(async () => t?.close())

  /** The audit trail and events of a consent must describe the same chain of transitions, each from the last state. */
  async function history(consentId: string) {
    const audit = await t.pool.query<{ action: string; from_status: string | null; to_status: string; event_id: string }>(
      'select action, from_status, to_status, event_id from consent_audit where consent_id = $1 order by seq', [consentId])
    const events = await t.pool.query<{ event_id: string }>('select event_id from outbox where key = $1 order by seq', [consentId])
    expect(events.rows.map((r) => r.event_id)).toEqual(audit.rows.map((r) => r.event_id))
    audit.rows.forEach((row, i) => expect(row.from_status).toBe(i === 0 ? null : audit.rows[i - 1]!.to_status))
    const status = (await t.pool.query('select status from consents where consent_id = $1', [consentId])).rows[0].status
    expect(audit.rows.at(-1)!.to_status).toBe(status)
    return audit.rows.map((r) => r.action)
  }

  it('expires due consents once across two scheduler replicas, and catches up after a restart', async () => {
    const { logger } = testLogger('scheduler-test')
    const replica = () => createConsentService({ pool: t.pool, clock: t.clock, ids: createIds('ponte'), offeredGroups: new Set(DEFAULT_OFFERED_GROUPS) })
    const awaiting = [await t.create(), await t.create(), await t.create()]
    const expiring = await t.create({ expirationDateTime: isoIn(t.clock, 2 * DAY) })
    const indefinite = await t.create()
    await t.authorise(expiring)
    await t.authorise(indefinite)
    const s1 = createExpiryScheduler({ consents: replica(), logger, intervalMs: 3_600_000, batchSize: 2 })
    const s2 = createExpiryScheduler({ consents: replica(), logger, intervalMs: 3_600_000, batchSize: 2 })
    try {
      // 1. Not yet due: nothing moves.
      t.clock.advance(59 * 60_000)
      expect((await s1.runOnce()) + (await s2.runOnce())).toBe(0)
      // 2. Due: both replicas sweep at once; each consent is transitioned by exactly one of them.
      t.clock.advance(2 * 60_000)
      const [a, b] = await Promise.all([s1.runOnce(), s2.runOnce()])
      expect(a + b).toBe(3)
      for (const id of awaiting) expect(await history(id)).toEqual(['created', 'expired'])
      expect((await s1.runOnce()) + (await s2.runOnce())).toBe(0)
    } finally {
      await s1.stop()
      await s2.stop()
    }
    // 3. Downtime past the expiry date; a fresh scheduler finds what became due meanwhile.
    t.clock.advance(2 * DAY)
    const s3 = createExpiryScheduler({ consents: replica(), logger, intervalMs: 3_600_000, batchSize: 2 })
    try {
      await s3.runOnce()
      expect(await history(expiring)).toEqual(['created', 'authorised', 'expired'])
      const row = (await t.pool.query('select rejection_reason, rejected_by from consents where consent_id = $1', [expiring])).rows[0]
      expect(row).toEqual({ rejection_reason: 'CONSENT_MAX_DATE_REACHED', rejected_by: 'ASPSP' })
      expect(await history(indefinite)).toEqual(['created', 'authorised'])
    } finally {
      await s3.stop()
    }
  })

  const N = 20

  it(`races authorise against the customer's refusal ${N} times: exactly one wins each time`, async () => {
    const wins = { authorise: 0, reject: 0 }
    for (let i = 0; i < N; i++) {
      const id = await t.create()
      const [auth, rej] = await Promise.all([
        t.authorise(id),
        t.app.inject({ method: 'POST', url: `/internal/consents/${id}/reject`, headers: await t.internal('authServer'), payload: { reason: 'CUSTOMER_MANUALLY_REJECTED' } }),
      ])
      expect([auth.statusCode, rej.statusCode].sort()).toEqual([200, 422])
      const winner = auth.statusCode === 200 ? 'authorise' : 'reject'
      wins[winner]++
      expect(await history(id)).toEqual(['created', winner === 'authorise' ? 'authorised' : 'rejected'])
    }
    expect(wins.authorise + wins.reject).toBe(N)
  })

  it(`races authorise against revocation ${N} times: the consent always ends REJECTED and the trail never loses a step`, async () => {
    let authoriseLost = 0
    for (let i = 0; i < N; i++) {
      const id = await t.create()
      const [auth, rev] = await Promise.all([
        t.authorise(id),
        t.app.inject({
          method: 'POST', url: `/internal/consents/${id}/revoke`, headers: await t.internal('admin'),
          payload: { actor: { type: 'STAFF', id: 'ops' }, reason: 'INTERNAL_SECURITY_REASON' },
        }),
      ])
      expect(rev.statusCode).toBe(200)
      if (auth.statusCode === 200) {
        // Authorise won the race for AWAITING_AUTHORISATION; the revocation then ended the authorised consent.
        expect(await history(id)).toEqual(['created', 'authorised', 'revoked'])
      } else {
        // Revocation won; authorise found a REJECTED consent.
        expect([auth.statusCode, auth.json().errors[0].code]).toEqual([422, 'CONSENT_STATE_INVALID'])
        expect(await history(id)).toEqual(['created', 'revoked'])
        authoriseLost++
      }
    }
    expect(authoriseLost).toBeLessThanOrEqual(N)
  })

  it(`races two revocations ${N} times: exactly one wins, the other is refused`, async () => {
    for (let i = 0; i < N; i++) {
      const id = await t.create()
      await t.authorise(id)
      const [tpp, staff] = await Promise.all([
        t.app.inject({ method: 'DELETE', url: `/open-banking/consents/v3/consents/${id}`, headers: await t.tpp() }),
        t.app.inject({
          method: 'POST', url: `/internal/consents/${id}/revoke`, headers: await t.internal('admin'),
          payload: { actor: { type: 'STAFF', id: 'ops' }, reason: 'INTERNAL_SECURITY_REASON' },
        }),
      ])
      expect([tpp.statusCode, staff.statusCode].filter((s) => s === 204 || s === 200)).toHaveLength(1)
      if (tpp.statusCode !== 204) expect(tpp.json().errors[0].code).toBe('CONSENTIMENTO_EM_STATUS_REJEITADO')
      if (staff.statusCode !== 200) expect(staff.json().errors[0].code).toBe('CONSENT_STATE_INVALID')
      expect(await history(id)).toEqual(['created', 'authorised', 'revoked'])
    }
  })
})
