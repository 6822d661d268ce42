import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { ApiCall } from '@ponte/contracts'
import { createPool, migrate, type Pool, type PonteServer } from '@ponte/platform'
import { testInfra, testLogger, testSchema, testServiceAuth } from '@ponte/testkit'
import { buildApp } from '../src/app.ts'
import { createAlertReader } from '../src/adapters/alerting.ts'
import { createAvailabilityStore, type AvailabilityStore } from '../src/adapters/pg-availability.ts'
import { createCallStore, type CallStore } from '../src/adapters/pg-call-store.ts'
import { createCallSearch } from '../src/adapters/pg-search.ts'
import { createOverview } from '../src/adapters/pg-overview.ts'
import { loadSlaLookup } from '../src/adapters/nfr-sla.ts'
import type { StoredCall } from '../src/domain/calls.ts'

export const BASE_URL = 'https://api.bank.example'

/** A trace app on a private schema, with a clock the test moves. */
export interface TraceTest {
  app: PonteServer
  pool: Pool
  store: CallStore
  availability: AvailabilityStore
  schema: string
  databaseUrl: string
  clock: { now: Date }
  /** Service-token headers for the internal API. */
  asAdmin(): Promise<Record<string, string>>
  close(): Promise<void>
}

export async function startTrace(prefix: string, now = new Date()): Promise<TraceTest> {
  const schema = testSchema(prefix)
  const { logger } = testLogger('trace')
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: fileURLToPath(new URL('../migrations', import.meta.url)) })
  const pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 5 })
  const clock = { now }
  const auth = testServiceAuth()
  const availability = createAvailabilityStore(pool)
  const store = createCallStore({ pool, retentionMonths: 13, now: () => clock.now })
  const app = buildApp({
    serviceAuth: auth.verifier('trace'),
    server: { logger },
    search: createCallSearch(pool),
    availability,
    alerts: createAlertReader(pool),
    overview: createOverview({ pool, availability, slaOf: loadSlaLookup() }),
    clock: () => clock.now,
    publicBaseUrl: BASE_URL,
    minOutageNoticeMs: 3_600_000,
    resolutionEstimateMs: 1_800_000,
  })
  await app.ready()
  const issuer = auth.issuer('admin')
  return {
    app, pool, store, availability, schema: schema.name, databaseUrl: testInfra().databaseUrl, clock,
    asAdmin: async () => ({ 'x-ponte-service-token': await issuer.sign('trace') }),
    async close() { await app.close(); await pool.end(); await schema.drop() },
  }
}

/** An api-call payload with sensible defaults. */
export function aCall(over: Partial<ApiCall['data']> = {}): ApiCall['data'] {
  return {
    interactionId: randomUUID(),
    organisationId: 'org-1',
    clientId: 'client-1',
    endpoint: '/open-banking/accounts/v2/accounts',
    method: 'GET',
    status: 200,
    ttfbMs: 100,
    receivedAt: new Date().toISOString(),
    requestBytes: 0,
    responseBytes: 100,
    ...over,
  }
}

/** The event around a payload. */
export function anEvent(data: ApiCall['data']): ApiCall {
  return { id: randomUUID(), source: 'gateway', occurredAt: data.receivedAt, version: 1, interactionId: data.interactionId, type: 'api.call', data }
}

/** A call as the store takes it. */
export function stored(data: ApiCall['data'], eventId: string = randomUUID()): StoredCall {
  return { eventId, receivedAt: new Date(data.receivedAt), data }
}
