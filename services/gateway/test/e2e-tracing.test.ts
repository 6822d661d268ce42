// One regulated call, traced across the services as processes (test/e2e/stack.ts), each started with the platform's
// OpenTelemetry bootstrap and exporting to an OTLP/HTTP receiver in this process (the collector's stand-in at the HTTP
// boundary; the services' code is the real one). POST /consents through the gateway must yield one connected trace:
// the gateway's server span → its undici calls to the auth-server (JWKS), the directory and consent → consent's server span →
// its PostgreSQL spans → the outbox relay's PRODUCER span → the gateway's Kafka CONSUMER span (child of, and linked to,
// the producer). The gateway's log lines and its api-call event carry the same trace id.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { ApiCallEvent, topics } from '@ponte/contracts'
import { createKafka, subscribe, type Subscription } from '@ponte/platform'
import { createTppFromParts, testInfra, testLogger, waitFor, type TestTpp } from '@ponte/testkit'
import * as oidc from 'openid-client'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { startE2eStack, type E2eStack } from './e2e/stack.ts'

const CPF = '76109277673'
const REDIRECT = 'https://tpp.example.com.br/callback'
/** Complete permission groups (accounts, and the resources they require). */
const PERMISSIONS = ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'ACCOUNTS_OVERDRAFT_LIMITS_READ', 'RESOURCES_READ']

/** A span as the receiver keeps it (OTLP/JSON: ids in hex, kind 2 server, 3 client, 4 producer, 5 consumer). */
interface ReceivedSpan { service: string; traceId: string; spanId: string; parentSpanId: string; name: string; kind: number; links: Array<{ traceId: string; spanId: string }> }
const KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const

/** An OTLP/HTTP receiver (POST /v1/traces, JSON encoding, as @opentelemetry/exporter-trace-otlp-http sends it). */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; problems: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = []
  const problems: string[] = []
  type AnyValue = { stringValue?: string }
  type Otlp = { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, 'service' | 'links'> & { links?: ReceivedSpan['links'] }> }> }> }
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        problems.push(`unexpected export ${req.method} ${req.url} ${req.headers['content-type']}`)
        res.writeHead(415).end()
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Otlp
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?'
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind, links: s.links ?? [] })
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, spans, problems, close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }) }
}

describe('OpenTelemetry across the services: one call, one connected trace', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let stack: E2eStack
  let tpp: TestTpp | undefined
  let calls: Subscription | undefined
  const seenCalls: ApiCallEvent[] = []

  beforeAll(async () => {
    receiver = await startReceiver()
    stack = await startE2eStack({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_TRACES_SAMPLER: 'always_on' } })
  }, 120_000)

  afterAll(async () => {
    await calls?.stop()
    await tpp?.close()
    await stack?.stop()
    await receiver?.close()
  }, 60_000)

  it('POST /consents through the gateway: gateway → auth-server, directory and consent → PostgreSQL → Kafka → gateway, one trace id', async () => {
    onTestFailed(() => {
      for (const name of ['consent', 'auth-server', 'gateway']) {
        const lines = stack.output(name).filter((l) => !l.includes('"level":"info"')).slice(-15)
        if (lines.length) console.error(`--- ${name}\n${lines.join('\n')}`)
      }
      console.error(`receiver: ${receiver.spans.length} spans; problems: ${receiver.problems.join('; ')}`)
    })
    const { logger } = testLogger('e2e-tracing')
    calls = await subscribe({ kafka: createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-tracing', logger }), groupId: `e2e-tracing-${randomUUID()}`,
      topic: topics.apiCall, schema: ApiCallEvent, logger, handler: async (e) => { seenCalls.push(e) } })
    await calls.ready

    // A TPP onboarded in the sandbox directory, registered at the auth-server, with a client_credentials token.
    const tls = new Agent({ connect: { ca: stack.pki.caBundlePem } })
    const post = async (path: string, body: unknown) => {
      const res = await request(`${stack.sandboxUrl}${path}`, { method: 'POST', dispatcher: tls, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const json = await res.body.json() as Record<string, unknown>
      expect(res.statusCode, JSON.stringify(json)).toBe(201)
      return json
    }
    const organisationId = String((await post('/sandbox/organisations', { name: 'Fintech Rastreio', roles: ['DADOS'] })).organisationId)
    const ss = await post(`/sandbox/organisations/${organisationId}/softwarestatements`, { clientName: 'App Rastreio', redirectUris: [REDIRECT], webhookUris: ['https://tpp.example.com.br/webhook'] }) as {
      softwareStatementId: string; transport: { chainPem: string; privateKeyPem: string }
      signing: { privateJwk: Record<string, unknown> }; encryption: { privateJwk: Record<string, unknown> }
    }
    await tls.close()
    tpp = createTppFromParts({
      orgId: organisationId, softwareId: ss.softwareStatementId, cnpj: '12345678000195', trustPem: stack.pki.caBundlePem,
      transport: ss.transport,
      signing: { privateJwk: ss.signing.privateJwk, kid: String(ss.signing.privateJwk.kid) },
      encryption: { privateJwk: ss.encryption.privateJwk, kid: String(ss.encryption.privateJwk.kid) },
    })
    const ssa = await (await tpp.fetch(`${stack.sandboxUrl}/organisations/${organisationId}/softwarestatements/${ss.softwareStatementId}/assertion`)).text()
    const reg = await tpp.fetch(`${stack.authIssuer}/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ software_statement: ssa, redirect_uris: [REDIRECT], webhook_uris: ['https://tpp.example.com.br/webhook'] }),
    })
    const client = await reg.json() as Record<string, string>
    expect(reg.status, JSON.stringify(client)).toBe(201)
    const cc = await oidc.clientCredentialsGrant(await tpp.oidc(stack.authIssuer, client.client_id!), { scope: 'consents' })

    // The call: the gateway's first regulated call, so it also fetches the auth-server's JWKS on the way.
    const interactionId = randomUUID()
    const res = await tpp.fetch(`${stack.gatewayUrl}/open-banking/consents/v3/consents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cc.access_token}`, 'x-fapi-interaction-id': interactionId, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: PERMISSIONS } }),
    })
    expect(res.status, await res.clone().text()).toBe(201)
    await res.text()

    // The trace id, from the gateway's access line of this call (every log line inside a span carries it).
    const accessLine = () => stack.output('gateway').map((l) => { try { return JSON.parse(l) as Record<string, unknown> } catch { return {} } })
      .find((l) => l.interactionId === interactionId && l.msg === 'request completed')
    await waitFor(() => Boolean(accessLine()), { timeoutMs: 10_000, what: 'the gateway access line of the call' })
    const access = accessLine()
    const traceId = String(access!.traceId)
    expect(traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(String(access!.spanId)).toMatch(/^[0-9a-f]{16}$/)

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId)
    const find = (service: string, kind: number, pred: (s: ReceivedSpan) => boolean = () => true) => inTrace().find((s) => s.service === service && s.kind === kind && pred(s))
    // Spans arrive in batches; wait for the last hop (the gateway consuming consent's event).
    await waitFor(() => Boolean(find('ponte-gateway', KIND.consumer)), { timeoutMs: 30_000, intervalMs: 200, what: 'the gateway consumer span of the consent event' })
    await new Promise((r) => setTimeout(r, 1_000))
    const spans = inTrace()
    // The directory too: the gateway's first look at this organisation's status is a miss, asked over undici. Other
    // consumers of consent's event (connectors' webhook consumer) may join the trace with consumer spans only.
    const services = new Set(spans.map((s) => s.service))
    for (const service of ['ponte-gateway', 'ponte-consent', 'ponte-auth-server', 'ponte-directory']) expect(services).toContain(service)
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const underConsumer = (s: ReceivedSpan | undefined): boolean => !!s && (s.kind === KIND.consumer || underConsumer(s.parentSpanId ? byId.get(s.parentSpanId) : undefined))
    const others = spans.filter((s) => !['ponte-gateway', 'ponte-consent', 'ponte-auth-server', 'ponte-directory'].includes(s.service))
    expect(others.filter((s) => !underConsumer(s)).map((s) => `${s.service} ${s.name}`)).toEqual([])

    // Connected: one root (the gateway's server span); every other span's parent is in the trace.
    const ids = new Set(spans.map((s) => s.spanId))
    const roots = spans.filter((s) => !s.parentSpanId)
    expect(roots.map((s) => [s.service, s.kind])).toEqual([['ponte-gateway', KIND.server]])
    expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => `${s.service} ${s.name}`)).toEqual([])

    // gateway → consent over undici: consent's server span is the child of a gateway client span.
    const consentServer = find('ponte-consent', KIND.server)!
    expect(consentServer).toBeDefined()
    expect(spans.find((s) => s.spanId === consentServer.parentSpanId)).toMatchObject({ service: 'ponte-gateway', kind: KIND.client })
    // gateway → directory (organisation status) and → auth-server (JWKS).
    const directory = find('ponte-directory', KIND.server)!
    expect(spans.find((s) => s.spanId === directory.parentSpanId)).toMatchObject({ service: 'ponte-gateway', kind: KIND.client })
    const authServer = find('ponte-auth-server', KIND.server)!
    expect(spans.find((s) => s.spanId === authServer.parentSpanId)).toMatchObject({ service: 'ponte-gateway', kind: KIND.client })
    // consent → PostgreSQL.
    expect(spans.some((s) => s.service === 'ponte-consent' && s.kind === KIND.client && /insert|pg|postgres/i.test(s.name))).toBe(true)
    // consent's outbox → Kafka → the gateway: the consumer span is the producer's child and links to it.
    const producer = find('ponte-consent', KIND.producer, (s) => s.name === `${topics.consent} publish`)!
    expect(producer).toBeDefined()
    const consumer = find('ponte-gateway', KIND.consumer, (s) => s.parentSpanId === producer.spanId)!
    expect(consumer).toBeDefined()
    expect(consumer.name).toBe(`${topics.consent} process`)
    expect(consumer.links).toContainEqual(expect.objectContaining({ traceId, spanId: producer.spanId }))

    // The api-call event names the trace.
    await waitFor(() => seenCalls.some((e) => e.data.interactionId === interactionId), { timeoutMs: 20_000, what: 'the api-call event' })
    expect(seenCalls.find((e) => e.data.interactionId === interactionId)!.data.traceId).toBe(traceId)
    expect(receiver.problems).toEqual([])
  }, 120_000)
})
