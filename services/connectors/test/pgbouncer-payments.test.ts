import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertSearchPath, createPool, type Pool } from '@ponte/platform'
import { specValidator, startPgBouncer, testLogger, type PgBouncer } from '@ponte/testkit'
import { PaymentEvent } from '@ponte/contracts'
import { addDays, brasiliaToday } from '../src/domain/dates.ts'
import { createPaymentScheduler } from '../src/adapters/payment-scheduler.ts'
import { available } from './pix-support.ts'
import { aConsent, anaChecking, itemsFor, paymentsFixture, type PaymentsFixture } from './payments-support.ts'

const v4 = specValidator('payments-v4.0.1.yaml')

// Pix payments with every statement of the connectors (the payments API, the reference core's rail, the scheduler)
// through a private PgBouncer in transaction mode, as the service's own role (docs/decisions/platform-pgbouncer.md),
// and two connectors instances, each with its own pool through the pooler, whose schedulers race over the same due
// payments.
describe('Pix payments through PgBouncer in transaction mode', () => {
  let f: PaymentsFixture
  let bouncer: PgBouncer | undefined
  const pools: Pool[] = []
  const pooled = (schema: string) => {
    const pool = createPool({ url: bouncer!.url(schema), schema, pooler: 'transaction', max: 6 })
    pools.push(pool)
    return pool
  }

  beforeAll(async () => {
    f = await paymentsFixture('connectors_bouncer', {
      // Four server connections for the role: a debit holds one while the reference core writes on another.
      connect: async (schema) => {
        bouncer = await startPgBouncer({ roles: { [schema.name]: schema.name }, poolSize: 4 })
        const pool = pooled(schema.name)
        await assertSearchPath(pool, schema.name)
        return pool
      },
    })
  }, 60_000)
  afterAll(async () => {
    await f?.close()
    for (const p of pools) await p.end().catch(() => undefined)
    await bouncer?.stop()
  })

  async function post(consentId: string, data: unknown) {
    return f.app.inject({ method: 'POST', url: '/open-banking/payments/v4/pix/payments', headers: await f.headers({ consentId, key: randomUUID() }), payload: { data } })
  }

  it('an immediate payment is debited, settles, and every change leaves an event in the outbox', async () => {
    const now = f.clock.now
    const consent = aConsent(now)
    f.consent.consents.set(consent.consentId, consent)
    const before = await available(f.pool, anaChecking)
    const res = await post(consent.consentId, itemsFor(consent, [brasiliaToday(now)], now))
    expect(res.statusCode, res.body).toBe(201)
    v4.assert('post', '/pix/payments', 201, res.json())
    const [p] = res.json().data
    expect(p.status).toBe('ACPD')
    expect(await available(f.pool, anaChecking)).not.toBe(before)
    f.clock.now = new Date(now.getTime() + 1_000)
    try {
      await f.settlement.settleDue()
      expect(await f.payments.followSettlement()).toBeGreaterThanOrEqual(1)
    } finally {
      f.clock.now = new Date()
    }
    const { rows } = await f.pool.query('select payload from outbox where key = $1 order by seq', [p.paymentId])
    expect(rows.map((r) => PaymentEvent.parse(r.payload).data.status)).toEqual(['RCVD', 'ACCP', 'ACPD', 'ACSC'])
  })

  it('two instances\' schedulers, each on its own pool through the pooler, debit each due payment once', async () => {
    const now = f.clock.now
    const start = addDays(brasiliaToday(now), 10)
    const dates = [start, addDays(start, 1), addDays(start, 2), addDays(start, 3)]
    const consent = aConsent(now, { amount: '0.97', schedule: { custom: { dates, additionalInformation: 'x' } } })
    f.consent.consents.set(consent.consentId, consent)
    const res = await post(consent.consentId, itemsFor(consent, dates, now))
    expect(res.statusCode, res.body).toBe(201)
    const before = await available(f.pool, anaChecking)
    const schedulers = [f.another(pooled(f.schema.name)), f.another(pooled(f.schema.name))]
      .map((payments) => createPaymentScheduler({ payments, pollMs: 60_000, logger: testLogger('scheduler').logger }))
    // Both wake up after the last date: all four are due at once for both.
    f.clock.now = new Date(`${dates[3]}T12:00:00Z`)
    try {
      const moved = await Promise.all(schedulers.map((s) => s.sweep()))
      expect(moved.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4)
      const { rows } = await f.pool.query(`select status, count(*)::int as n from pix_payment_initiation where consent_id = $1 group by status`, [consent.consentId])
      expect(rows).toEqual([{ status: 'ACPD', n: 4 }])
      // Debited once each: 4 × 0.97.
      expect(Math.round((Number(before) - Number(await available(f.pool, anaChecking))) * 100)).toBe(388)
      const { rows: debits } = await f.pool.query(`select count(*)::int as n from outbox where payload->'data'->>'status' = 'ACPD' and key = any($1)`,
        [(await f.pool.query(`select payment_id from pix_payment_initiation where consent_id = $1`, [consent.consentId])).rows.map((r) => r.payment_id)])
      expect(debits[0].n).toBe(4)
    } finally {
      f.clock.now = new Date()
      await Promise.all(schedulers.map((s) => s.stop()))
    }
  })
})
