import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PaymentEvent, topicSettings, topics } from '@ponte/contracts'
import { createKafka, createPublisher, ensureTopics, type Subscription } from '@ponte/platform'
import { deleteTopics, testInfra, testLogger, waitFor } from '@ponte/testkit'
import { startPaymentEventsConsumer } from '../src/adapters/payment-events.ts'
import { startConsentApp, type TestConsentApp } from './helpers.ts'
import { START, paymentsApi } from './payment-helpers.ts'

/** The catch-up path: a payment.created event consumes its payment consent when connectors' own call did not. */
describe('payment events consume their payment consent', () => {
  const topic = `test.payment.${randomUUID()}`
  const { logger } = testLogger('consent-payment-events')
  const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'consent-payment-events-test', logger })
  const publisher = createPublisher(kafka)
  let t: TestConsentApp
  let api: ReturnType<typeof paymentsApi>
  let sub: Subscription

  beforeAll(async () => {
    t = await startConsentApp({ prefix: 'consent_pay_events' })
    api = paymentsApi(t)
    t.clock.set(START)
    await ensureTopics(kafka, [{ topic, ...topicSettings[topics.payment] }])
    sub = await startPaymentEventsConsumer({ kafka, consents: t.consents, logger, groupId: `consent-test-${randomUUID()}`, topic })
    await sub.ready
  })
  afterAll(async () => {
    await sub?.stop()
    await publisher.disconnect()
    await deleteTopics([topic])
    await t?.close()
  })

  const created = (consentId: string, paymentId: string) => PaymentEvent.parse({
    id: randomUUID(), source: 'connectors', occurredAt: START.toISOString(), version: 1, type: 'payment.created',
    data: { paymentId, consentId, clientId: 'client-a', organisationId: 'org-a', apiVersion: 'v4', status: 'RCVD', statusUpdateDateTime: START.toISOString() },
  })
  const status = async (id: string) => (await api.internalGet(id)).json().status as string

  it('consumes an AUTHORISED consent once, even when the event is delivered twice, and skips what cannot be consumed', async () => {
    const paid = await api.create('v4')
    expect((await api.authorise(paid)).statusCode).toBe(200)
    const event = created(paid, 'pay-event-1')
    await publisher.publish(topic, PaymentEvent, event, paid)
    await publisher.publish(topic, PaymentEvent, event, paid)
    // A consent still awaiting authorisation cannot be consumed: the event is skipped, the consent left as it is.
    const waiting = await api.create('v4')
    await publisher.publish(topic, PaymentEvent, created(waiting, 'pay-event-2'), waiting)
    await publisher.publish(topic, PaymentEvent, created('urn:ponte:unknown', 'pay-event-3'), 'urn:ponte:unknown')
    await waitFor(async () => sub.stats.handled >= 4, { timeoutMs: 20_000 })
    expect(await status(paid)).toBe('CONSUMED')
    expect(await status(waiting)).toBe('AWAITING_AUTHORISATION')
    const audit = await t.pool.query<{ to_status: string }>('select to_status from consent_audit where consent_id = $1 order by seq', [paid])
    expect(audit.rows.map((r) => r.to_status)).toEqual(['AWAITING_AUTHORISATION', 'AUTHORISED', 'CONSUMED'])
  })
})
