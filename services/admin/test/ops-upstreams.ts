import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createPool } from '@ponte/platform'
import { freePort, serviceTestEnv, startServiceProcess, testSchema, type testServiceAuth } from '@ponte/testkit'
import { services } from '../../../scripts/stack-services.ts'
import { createCallStore } from '../../trace/src/adapters/pg-call-store.ts'

export const ENDPOINT = '/open-banking/accounts/v2/accounts'

/**
 * The real trace service and auth-server as processes on their own schemas, for the dashboard, traces and keys pages.
 * Trace's store is filled by trace's own ingestion code (as its Kafka consumer would) with 30 calls of one
 * organisation in the last two minutes, 10 of them 500s (an error-share alert once trace evaluates), the first with a
 * consent and that consent's story; trace has no broker, so nobody else's calls land there. The auth-server makes its
 * keys at start.
 */
export async function startOpsUpstreams(auth: ReturnType<typeof testServiceAuth>) {
  const shared = await serviceTestEnv(auth.env, { redisDb: 8 })
  const ca = await readFile(shared.TLS_CLIENT_CA_FILE!, 'utf8')
  const [traceSchema, authSchema] = [testSchema('trace_for_admin'), testSchema('auth_for_admin')]
  const authPort = await freePort()
  const authUrl = `https://localhost:${authPort}`
  const [trace, authServer] = await Promise.all([
    startServiceProcess('trace', {
      ...shared, DB_SCHEMA: traceSchema.name, PORT: '0', HOST: '127.0.0.1', INGEST_GROUP_ID: `trace-admin-${randomUUID().slice(0, 8)}`,
      ALERT_INTERVAL_MS: '1000', ALERT_OUTBOX_SCHEMAS: traceSchema.name, ALERT_TPP_CERTIFICATES: 'off', KAFKA_BROKERS: '127.0.0.1:9',
    }, 60_000),
    startServiceProcess('auth-server', {
      ...shared, ...services.find((s) => s.name === 'auth-server')!.env(shared), HOST: '127.0.0.1', PORT: String(authPort), DB_SCHEMA: authSchema.name, ISSUER: authUrl,
      DIRECTORY_URL: 'http://127.0.0.1:9', CONSENT_URL: 'http://127.0.0.1:9', CONNECTORS_URL: 'http://127.0.0.1:9',
    }, 60_000),
  ])
  const organisationId = `org-${randomUUID().slice(0, 8)}`
  const consentId = `urn:bank:${randomUUID()}`
  const target = { interactionId: randomUUID(), eventId: randomUUID() }
  const pool = createPool({ url: traceSchema.databaseUrl, schema: traceSchema.name, max: 2 })
  const now = Date.now()
  const calls = Array.from({ length: 30 }, (_, i) => {
    const first = i === 0
    const data = {
      interactionId: first ? target.interactionId : randomUUID(), organisationId, clientId: 'client-a', endpoint: ENDPOINT, method: 'GET' as const,
      status: i % 3 === 0 ? 500 : 200, ttfbMs: 100 + i * 10, receivedAt: new Date(now - 120_000 + i * 1_000).toISOString(), requestBytes: 0, responseBytes: 10,
      ...(first ? { consentId } : {}),
    }
    return { eventId: first ? target.eventId : randomUUID(), receivedAt: new Date(data.receivedAt), data }
  })
  await createCallStore({ pool, retentionMonths: 13 }).ingest(calls, [
    { eventId: randomUUID(), topic: 'ponte.consent.v1', type: 'consent.authorised', occurredAt: new Date(now - 200_000), consentId, detail: { kind: 'data' } },
  ])
  await pool.end()
  return {
    traceUrl: trace.address, authUrl, ca, organisationId, consentId, target,
    async close() {
      await Promise.all([trace.stop(), authServer.stop()])
      await Promise.all([traceSchema.drop(), authSchema.drop()])
    },
  }
}
