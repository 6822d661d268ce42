import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentEvent, PaymentEvent, topics } from '@ponte/contracts'
import { createKafka, createPool, createPublisher, createServer, migrate, SERVICE_TOKEN_HEADER, type EventPublisher, type Kafka, type Pool, type PonteServer, type Subscription } from '@ponte/platform'
import { createDevCa, issueClientCertificate, issueServerCertificate, loadOrCreateDevPki, type DevPki, type IssuedSigningCertificate } from '@ponte/pki'
import { testInfra, testLogger, testSchema, testServiceAuth, waitFor } from '@ponte/testkit'
import { createPgWebhookStore, type WebhookNotificationView, type WebhookStore } from '../src/adapters/pg-webhooks.ts'
import { createAuthServerWebhookClients, type WebhookClientDirectory } from '../src/adapters/webhook-clients.ts'
import { startWebhookConsumers } from '../src/adapters/webhook-consumers.ts'
import { createWebhookDispatcher, type WebhookDispatcher } from '../src/adapters/webhook-dispatcher.ts'
import { createWebhookSender } from '../src/adapters/webhook-sender.ts'
import { internalWebhookRoutes } from '../src/routes/internal-webhooks.routes.ts'
import { migrationsDir } from './support.ts'
import { consentEvent, paymentEvent, startFakeAuthServer, startReceiver, type FakeAuthServer, type Receiver } from './webhooks-support.ts'

const BANK_ORG = '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b'
const POLICY = { initialBackoffMs: 50, maxBackoffMs: 200, maxAgeMs: 3_000 }
const TIMEOUT_MS = 500

describe('webhook notifications of payments and payment consents', () => {
  const schema = testSchema('connectors_webhooks')
  const auth = testServiceAuth()
  const { logger } = testLogger('connectors')
  let dir: string
  let pki: DevPki
  let bankCert: IssuedSigningCertificate
  let pool: Pool
  let kafka: Kafka
  let publisher: EventPublisher
  let authServer: FakeAuthServer
  let clients: WebhookClientDirectory
  let store: WebhookStore
  let dispatcher: WebhookDispatcher
  let subs: Subscription[] = []
  let app: PonteServer
  const receivers: Receiver[] = []
  const run = Date.now().toString(36)
  const clientId = (name: string) => `${name}-${run}-${schema.name}`

  /** A receiver with a server certificate for 127.0.0.1 from the dev CA (as the sandbox directory issues it), or from `ca`. */
  async function receiver(behaviour: Parameters<typeof startReceiver>[0]['behaviour'], ca = pki.ca): Promise<Receiver> {
    const server = await issueServerCertificate(ca, { hostnames: [], ips: ['127.0.0.1'] })
    const r = await startReceiver({ chainPem: server.chainPem, privateKeyPem: server.privateKeyPem, clientCa: pki.caBundlePem, behaviour })
    receivers.push(r)
    return r
  }

  function register(name: string, webhookUris: string[], active = true): string {
    const id = clientId(name)
    authServer.clients.set(id, { clientId: id, organisationId: 'org-tpp', webhookUris, active })
    return id
  }

  async function publish(event: PaymentEvent | ConsentEvent): Promise<void> {
    if (event.type.startsWith('payment.')) await publisher.publish(topics.payment, PaymentEvent, event as PaymentEvent, (event as PaymentEvent).data.paymentId)
    else await publisher.publish(topics.consent, ConsentEvent, event as ConsentEvent, (event as ConsentEvent).data.consentId)
  }

  async function handled(eventId: string): Promise<void> {
    await waitFor(async () => (await pool.query('select 1 from inbox where event_id = $1', [eventId])).rowCount === 1, { timeoutMs: 30_000, what: `event ${eventId} handled` })
  }

  async function notifications(filter: { clientId?: string; resourceId?: string }): Promise<WebhookNotificationView[]> {
    const res = await app.inject({ method: 'GET', url: '/internal/webhooks', query: filter, headers: { [SERVICE_TOKEN_HEADER]: await auth.issuer('admin').sign('connectors') } })
    expect(res.statusCode).toBe(200)
    return res.json<{ data: WebhookNotificationView[] }>().data
  }

  async function settled(filter: { clientId?: string; resourceId?: string }, count = 1): Promise<WebhookNotificationView[]> {
    return waitFor(async () => {
      const list = await notifications(filter)
      return list.length >= count && list.every((n) => n.status !== 'PENDING') ? list : undefined
    }, { timeoutMs: 30_000, what: 'notifications settled' })
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ponte-webhooks-'))
    pki = await loadOrCreateDevPki(join(dir, 'pki'))
    bankCert = await issueClientCertificate(pki.ca, { orgId: BANK_ORG, softwareStatementId: 'ponte-webhooks', cnpj: '12345678000195', commonName: 'webhooks.bank.localhost' })
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 8 })
    authServer = await startFakeAuthServer(auth.verifier('auth-server'))
    clients = createAuthServerWebhookClients({ baseUrl: authServer.url, issuer: auth.issuer('connectors'), timeoutMs: 2_000 })
    store = createPgWebhookStore(pool, POLICY)
    const sender = createWebhookSender({ clientCertificate: { chainPem: bankCert.chainPem, privateKeyPem: bankCert.privateKeyPem }, ca: pki.caBundlePem, timeoutMs: TIMEOUT_MS })
    dispatcher = createWebhookDispatcher({ store, sender, pollMs: 50, concurrency: 8, leaseMs: TIMEOUT_MS + 5_000, logger })
    dispatcher.start()
    kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'connectors-webhooks-test', logger })
    publisher = createPublisher(kafka)
    subs = await startWebhookConsumers({ kafka, pool, clients, logger, groupPrefix: `connectors-webhooks-test-${schema.name}`, onStored: () => dispatcher.wake() })
    await Promise.all(subs.map((s) => s.ready))
    app = createServer({ logger })
    await app.register(internalWebhookRoutes, { webhooks: store, serviceAuth: auth.verifier('connectors') })
    await app.ready()
  }, 60_000)

  afterAll(async () => {
    for (const s of subs) await s.stop().catch(() => undefined)
    await dispatcher?.stop()
    await publisher?.disconnect().catch(() => undefined)
    for (const r of receivers) await r.close()
    await authServer?.close()
    await clients?.close()
    await app?.close()
    await pool?.end()
    await schema.drop()
    await rm(dir, { recursive: true, force: true })
  })

  it('delivers a payment\'s status changes and a payment consent\'s over mTLS, with the paths, body and headers of Webhooks v1.3', async () => {
    const tpp = await receiver(() => 202)
    const id = register('ok', [`${tpp.base}/hooks/`])
    const created = paymentEvent({ clientId: id, apiVersion: 'v4' })
    const changed = paymentEvent({ clientId: id, apiVersion: 'v4', paymentId: created.data.paymentId, previousStatus: 'ACPD' })
    const consent = consentEvent({ clientId: id, apiVersion: 'v5', consentId: 'urn:bancoex:C1DD33123' })
    const dataConsent = consentEvent({ clientId: id, kind: 'data' })
    const extended = consentEvent({ clientId: id, type: 'consent.extended' })
    for (const e of [created, changed, consent, dataConsent, extended]) await publish(e)
    for (const e of [dataConsent, extended]) await handled(e.id)

    const list = await settled({ clientId: id }, 3)
    expect(list.map((n) => n.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED'])
    expect(tpp.received.map((r) => r.path).sort()).toEqual([
      `/hooks/open-banking/webhook/v1/payments/v4/pix/payments/${created.data.paymentId}`,
      `/hooks/open-banking/webhook/v1/payments/v4/pix/payments/${created.data.paymentId}`,
      '/hooks/open-banking/webhook/v1/payments/v5/consents/urn:bancoex:C1DD33123',
    ].sort())
    const byBody = tpp.received.map((r) => (r.body as { data: { timestamp: string } }).data.timestamp).sort()
    const expected = [created, changed, consent].map((e) => e.occurredAt.replace(/\.\d{3}Z$/, 'Z')).sort()
    expect(byBody).toEqual(expected)
    for (const r of tpp.received) {
      expect(Object.keys(r.body as object)).toEqual(['data'])
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.headers['x-webhook-interaction-id']).toMatch(/^[0-9a-f-]{36}$/)
      expect(r.peer?.fingerprint256).toBe(bankCert.certificate.fingerprint256)
      expect(r.peer?.subject).toContain(`OFBBR-${BANK_ORG}`)
    }
    expect(new Set(tpp.received.map((r) => r.headers['x-webhook-interaction-id'])).size).toBe(3)

    const [only] = await notifications({ resourceId: 'urn:bancoex:C1DD33123' })
    expect(only).toMatchObject({ clientId: id, resourceKind: 'consent', apiVersion: 'v5', eventType: 'consent.authorised', status: 'DELIVERED' })
    expect(only!.attempts).toHaveLength(1)
    expect(only!.attempts[0]).toMatchObject({ attempt: 1, httpStatus: 202, error: null })
    const seen = tpp.received.find((r) => r.path.endsWith('urn:bancoex:C1DD33123'))
    expect(only!.attempts[0]!.interactionId).toBe(seen?.headers['x-webhook-interaction-id'])
  })

  it('retries a TPP that answers 500, then 202, with a new interaction id, and records both attempts', async () => {
    const tpp = await receiver((_path, nth) => (nth === 1 ? 500 : 202))
    const id = register('flaky', [tpp.base])
    const event = paymentEvent({ clientId: id, apiVersion: 'v5' })
    await publish(event)
    const [n] = await settled({ resourceId: event.data.paymentId })
    expect(n!.status).toBe('DELIVERED')
    expect(n!.attempts.map((a) => [a.attempt, a.httpStatus])).toEqual([[1, 500], [2, 202]])
    expect(n!.attempts[0]!.error).toMatch(/500/)
    expect(tpp.received).toHaveLength(2)
    expect(tpp.received[0]!.headers['x-webhook-interaction-id']).not.toBe(tpp.received[1]!.headers['x-webhook-interaction-id'])
    expect(n!.attempts.map((a) => a.interactionId)).toEqual(tpp.received.map((r) => r.headers['x-webhook-interaction-id']))
  })

  it('does not follow a redirect: a 307 is a failed attempt, retried at the registered URI', async () => {
    const tpp = await receiver((_path, nth) => (nth === 1 ? 307 : 202))
    const id = register('redirect', [tpp.base])
    const event = paymentEvent({ clientId: id })
    await publish(event)
    const [n] = await settled({ resourceId: event.data.paymentId })
    expect(n!.attempts.map((a) => a.httpStatus)).toEqual([307, 202])
    expect(tpp.received.map((r) => r.path)).toEqual([`/open-banking/webhook/v1/payments/v4/pix/payments/${event.data.paymentId}`, `/open-banking/webhook/v1/payments/v4/pix/payments/${event.data.paymentId}`])
  })

  it('gives up on a TPP that never answers once the bounded retry time is spent, every attempt recorded', async () => {
    const tpp = await receiver(() => 'hang')
    const id = register('silent', [tpp.base])
    const event = paymentEvent({ clientId: id })
    await publish(event)
    const [n] = await settled({ resourceId: event.data.paymentId })
    expect(n!.status).toBe('FAILED')
    expect(n!.attempts.length).toBeGreaterThanOrEqual(2)
    for (const a of n!.attempts) expect([a.httpStatus, a.error]).toEqual([null, expect.any(String)])
    // Given up: another sweep makes no attempt, and nothing more reaches the TPP.
    const reached = tpp.received.length
    expect(reached).toBeLessThanOrEqual(n!.attempts.length) // an attempt may time out before its request arrives
    await dispatcher.deliverDue()
    const again = await notifications({ resourceId: event.data.paymentId })
    expect(again[0]!.attempts.length).toBe(n!.attempts.length)
    expect(again[0]!.status).toBe('FAILED')
    expect(tpp.received.length).toBe(reached)
  })

  it('delivers a redelivered Kafka event once', async () => {
    const tpp = await receiver(() => 202)
    const id = register('redelivered', [tpp.base])
    const event = paymentEvent({ clientId: id })
    await publish(event)
    await publish(event)
    // A later event with the same key lands after both copies on the same partition.
    const marker = paymentEvent({ clientId: id, paymentId: event.data.paymentId, previousStatus: 'ACPD' })
    await publish(marker)
    await handled(marker.id)
    const list = await settled({ resourceId: event.data.paymentId }, 2)
    expect(list.map((n) => n.eventId).sort()).toEqual([event.id, marker.id].sort())
    expect(list.every((n) => n.status === 'DELIVERED' && n.attempts.length === 1)).toBe(true)
    expect(tpp.received).toHaveLength(2)
  })

  it('refuses a webhook server certificate from an untrusted CA: nothing is sent, the failure is recorded and retried per policy', async () => {
    const rogue = await receiver(() => 202, await createDevCa({ name: 'Rogue' }))
    const id = register('rogue', [rogue.base])
    const event = paymentEvent({ clientId: id })
    await publish(event)
    const [n] = await settled({ resourceId: event.data.paymentId })
    expect(n!.status).toBe('FAILED')
    expect(n!.attempts.length).toBeGreaterThanOrEqual(2)
    for (const a of n!.attempts) expect(a.error).toMatch(/certificate|UNABLE_TO_VERIFY|self.signed/i)
    expect(rogue.received).toHaveLength(0)
  })

  it('does not notify a suspended client, nor one without webhook URIs, nor an unknown one', async () => {
    const tpp = await receiver(() => 202)
    const suspended = register('suspended', [tpp.base], false)
    const none = register('none', [])
    const events = [paymentEvent({ clientId: suspended }), consentEvent({ clientId: suspended }), paymentEvent({ clientId: none }), paymentEvent({ clientId: clientId('unknown') })]
    for (const e of events) await publish(e)
    for (const e of events) await handled(e.id)
    expect(authServer.calls).toEqual(expect.arrayContaining([suspended, none, clientId('unknown')]))
    for (const c of [suspended, none, clientId('unknown')]) expect(await notifications({ clientId: c })).toEqual([])
    expect(tpp.received).toHaveLength(0)
  })

  it('two delivery jobs racing over the same due notifications deliver each exactly once', async () => {
    const tpp = await receiver(() => 202)
    const id = register('race', [tpp.base])
    // Stored straight from events (as the consumer does), then delivered by two jobs with their own pools.
    const events = Array.from({ length: 24 }, () => paymentEvent({ clientId: id }))
    const { enqueueNotifications } = await import('../src/adapters/pg-webhooks.ts')
    const { webhookTargetOf } = await import('../src/domain/webhooks.ts')
    await dispatcher.stop()
    try {
      const client = await pool.connect()
      try {
        for (const e of events) await enqueueNotifications(client, { eventId: e.id, eventType: e.type, organisationId: 'org-tpp', target: webhookTargetOf(e)!, baseUris: [tpp.base], now: new Date() })
      } finally {
        client.release()
      }
      const pools = [createPool({ url: schema.databaseUrl, schema: schema.name, max: 4 }), createPool({ url: schema.databaseUrl, schema: schema.name, max: 4 })]
      const senders = pools.map(() => createWebhookSender({ clientCertificate: { chainPem: bankCert.chainPem, privateKeyPem: bankCert.privateKeyPem }, ca: pki.caBundlePem, timeoutMs: TIMEOUT_MS }))
      const jobs = pools.map((p, i) => createWebhookDispatcher({ store: createPgWebhookStore(p, POLICY), sender: senders[i]!, pollMs: 60_000, concurrency: 3, leaseMs: 10_000 }))
      try {
        const [a, b] = await Promise.all(jobs.map((j) => j.deliverDue()))
        expect(a! + b!).toBe(24)
      } finally {
        for (const s of senders) await s.close()
        for (const p of pools) await p.end()
      }
      expect(tpp.received).toHaveLength(24)
      expect(new Set(tpp.received.map((r) => r.path)).size).toBe(24)
      const list = await notifications({ clientId: id })
      expect(list.map((n) => [n.status, n.attempts.length])).toEqual(Array.from({ length: 24 }, () => ['DELIVERED', 1]))
    } finally {
      dispatcher.start()
    }
  })

  it('the internal API needs a service token and a filter', async () => {
    expect((await app.inject({ method: 'GET', url: '/internal/webhooks?clientId=x' })).statusCode).toBe(401)
    const res = await app.inject({ method: 'GET', url: '/internal/webhooks', headers: { [SERVICE_TOKEN_HEADER]: await auth.issuer('admin').sign('connectors') } })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors[0].code).toBeDefined()
  })
})
