import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PaymentEvent, topics } from '@ponte/contracts'
import { createKafka, createPool, createPublisher, migrate, type EventPublisher, type Pool } from '@ponte/platform'
import { loadOrCreateDevPki } from '@ponte/pki'
import { freePorts, repoRoot, serviceTestEnv, startServiceProcess, testInfra, testLogger, testSchema, testServiceAuth, waitFor, type ServiceProcess } from '@ponte/testkit'
import { Agent, request } from 'undici'
import { migrationsDir } from './support.ts'
import { paymentEvent, startFakeAuthServer, startReceiver, type FakeAuthServer, type Receiver } from './webhooks-support.ts'

/** The service as `make up` runs it: two connectors processes (replicas) share the consumers and the delivery job. */
describe('webhook delivery by two connectors processes', () => {
  const schema = testSchema('connectors_webhooks_proc')
  const directorySchema = testSchema('directory_webhooks_proc')
  const sandboxSchema = testSchema('directory_sandbox_webhooks_proc')
  const auth = testServiceAuth()
  const { logger } = testLogger('connectors')
  let pool: Pool
  let authServer: FakeAuthServer
  let tpp: Receiver
  let publisher: EventPublisher
  const processes: ServiceProcess[] = []

  beforeAll(async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 4 })
    authServer = await startFakeAuthServer(auth.verifier('auth-server'))
    // The repository's dev PKI: the processes issue their transport certificate from it and trust it (ALLOW_DEV_DEFAULTS),
    // and the sandbox directory issues the TPP's webhook server certificate from it.
    const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
    const [sandboxPort, receiverPort] = await freePorts(2)
    const directory = await startServiceProcess('directory', {
      ...(await serviceTestEnv(auth.env)), DB_SCHEMA: directorySchema.name, HOST: '127.0.0.1', PORT: '0', DIRECTORY_SYNC_ENABLED: 'false',
      DIRECTORY_SANDBOX_ENABLED: 'true', DIRECTORY_SANDBOX_HOST: '127.0.0.1', DIRECTORY_SANDBOX_PORT: String(sandboxPort),
      DIRECTORY_SANDBOX_DB_SCHEMA: sandboxSchema.name, DIRECTORY_SANDBOX_PUBLIC_URL: `https://127.0.0.1:${sandboxPort}`,
    })
    processes.push(directory)
    const agent = new Agent({ connect: { ca: pki.caBundlePem } })
    const post = async (path: string, body: unknown) => {
      const res = await request(`https://127.0.0.1:${sandboxPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), dispatcher: agent })
      expect(res.statusCode).toBe(201)
      return res.body.json() as Promise<Record<string, unknown>>
    }
    const { organisationId } = await post('/sandbox/organisations', { name: 'Webhook Fintech', roles: ['PAGTO'] }) as { organisationId: string }
    const ss = await post(`/sandbox/organisations/${organisationId}/softwarestatements`, {
      clientName: 'webhook app', redirectUris: ['https://tpp.example.com.br/cb'], webhookUris: [`https://127.0.0.1:${receiverPort}/wh`],
    }) as { webhookServer: { chainPem: string; privateKeyPem: string } }
    await agent.close()
    tpp = await startReceiver({ ...ss.webhookServer, clientCa: pki.caBundlePem, port: receiverPort, behaviour: (_p, nth) => (nth === 1 ? 503 : 202) })
    publisher = createPublisher(createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'connectors-webhooks-proc-test', logger }))
  }, 120_000)

  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL').catch(() => undefined)
    await publisher?.disconnect().catch(() => undefined)
    await tpp?.close()
    await authServer?.close()
    await pool?.end()
    await schema.drop()
    await directorySchema.drop()
    await sandboxSchema.drop()
  })

  it('each notification is delivered once to a receiver with the sandbox-issued server certificate, retried after a 503, whichever process consumed its event', async () => {
    const env = {
      ...(await serviceTestEnv(auth.env)), DB_SCHEMA: schema.name, HOST: '127.0.0.1', PORT: '0',
      AUTH_SERVER_INTERNAL_URL: authServer.url, WEBHOOK_CONSUMER_GROUP: `connectors-webhooks-proc-${schema.name}`,
      WEBHOOK_POLL_MS: '100', WEBHOOK_INITIAL_BACKOFF_MS: '100', WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_CONCURRENCY: '2',
    }
    const [a, b] = await Promise.all([startServiceProcess('connectors', env), startServiceProcess('connectors', env)])
    processes.push(a!, b!)
    const joined = (p: ServiceProcess) => p.output.some((l) => l.includes('webhook consumers joined their groups'))
    await waitFor(() => joined(a!) && joined(b!), { timeoutMs: 60_000, what: 'both processes joined the consumer groups' })

    const clientId = `proc-${schema.name}`
    authServer.clients.set(clientId, { clientId, organisationId: 'org-tpp', webhookUris: [`https://127.0.0.1:${tpp.base.split(':').at(-1)}/wh`], active: true })
    const events = Array.from({ length: 12 }, () => paymentEvent({ clientId }))
    for (const e of events) await publisher.publish(topics.payment, PaymentEvent, e, e.data.paymentId)

    await waitFor(async () => {
      const { rows } = await pool.query(`select count(*)::int as n from webhook_notification where client_id = $1 and status = 'DELIVERED'`, [clientId])
      return rows[0].n === 12
    }, { timeoutMs: 60_000, what: '12 notifications delivered' })
    const paths = tpp.received.map((r) => r.path)
    expect(new Set(paths).size).toBe(12)
    for (const e of events) expect(paths.filter((p) => p.endsWith(`/pix/payments/${e.data.paymentId}`))).toHaveLength(2) // 503, then 202
    const { rows } = await pool.query(`select a.http_status, count(*)::int as n from webhook_attempt a join webhook_notification n on n.id = a.notification_id where n.client_id = $1 group by 1 order by 1`, [clientId])
    expect(rows).toEqual([{ http_status: 202, n: 12 }, { http_status: 503, n: 12 }])
    // The bank presented the transport certificate issued from the dev PKI.
    expect(tpp.received.every((r) => r.peer?.subject.includes('OFBBR-9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b'))).toBe(true)
  })
})
