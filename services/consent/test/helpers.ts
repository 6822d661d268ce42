import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { CallerContext, Permission, PermissionGroupName } from '@ponte/contracts'
import { SERVICE_TOKEN_HEADER, createPool, migrate, ofbDateTime, type Pool } from '@ponte/platform'
import { testLogger, testSchema, testServiceAuth } from '@ponte/testkit'
import { buildApp } from '../src/app.ts'
import { createConsentService, createIds, type Clock, type ConsentService } from '../src/adapters/consent-service.ts'
import { DEFAULT_OFFERED_GROUPS } from '../src/domain/permissions.ts'

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url))
export const BASE_URL = 'https://api.ponte.test'
export const CPF = '76109277673'
export const OTHER_CPF = '11144477735'
export const CNPJ = '50685362000135'
export const ACCOUNTS: Permission[] = ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ']

/** A clock the test moves by hand. */
export interface ManualClock extends Clock { advance(ms: number): void; set(date: Date): void }
export function manualClock(start = new Date()): ManualClock {
  let t = start.getTime()
  return { now: () => new Date(t), advance: (ms) => { t += ms }, set: (d) => { t = d.getTime() } }
}

/** Options of {@link startConsentApp}. */
export interface StartOptions {
  offeredGroups?: PermissionGroupName[]
  prefix?: string
  /** Another PostgreSQL than the shared test database (a private server the test may restart). */
  databaseUrl?: string
}

/**
 * The consent app on its own schema of the real PostgreSQL, with a manual clock and service-token issuers for the
 * gateway, auth-server and admin. `close()` drops everything.
 */
export async function startConsentApp(options: StartOptions = {}) {
  const schema = testSchema(options.prefix ?? 'consent')
  const databaseUrl = options.databaseUrl ?? schema.databaseUrl
  await migrate({ url: databaseUrl, schema: schema.name, dir: migrationsDir })
  const pool: Pool = createPool({ url: databaseUrl, schema: schema.name, max: 20 })
  const clock = manualClock()
  const consents: ConsentService = createConsentService({
    pool,
    clock,
    ids: createIds('ponte'),
    offeredGroups: new Set(options.offeredGroups ?? DEFAULT_OFFERED_GROUPS),
  })
  const auth = testServiceAuth()
  const { logger } = testLogger('consent-test')
  const app = buildApp({ serviceAuth: auth.verifier('consent'), consents, publicBaseUrl: BASE_URL, regulatedCallers: ['gateway'], server: { logger } })
  await app.ready()
  const gateway = auth.issuer('gateway')
  const issuers = { gateway, authServer: auth.issuer('auth-server'), admin: auth.issuer('admin') }

  /** Headers of a TPP call forwarded by the gateway. */
  async function tpp(ctx: Partial<CallerContext> = {}, extra: Record<string, string> = {}) {
    const caller: CallerContext = { clientId: 'client-a', organisationId: 'org-a', scopes: ['consents'], ...ctx }
    return { [SERVICE_TOKEN_HEADER]: await gateway.sign('consent', caller), 'x-fapi-interaction-id': randomUUID(), ...extra }
  }
  /** Headers of an internal call from `service`. */
  async function internal(service: keyof typeof issuers = 'authServer') {
    return { [SERVICE_TOKEN_HEADER]: await issuers[service].sign('consent') }
  }
  /** Creates a consent through the regulated API and returns its id. */
  async function create(data: Record<string, unknown> = {}, ctx: Partial<CallerContext> = {}): Promise<string> {
    const res = await app.inject({
      method: 'POST', url: '/open-banking/consents/v3/consents', headers: await tpp(ctx),
      payload: { data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: ACCOUNTS, ...data } },
    })
    if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`)
    return res.json().data.consentId as string
  }
  /** Authorises a consent as auth-server would after the customer approved. */
  async function authorise(consentId: string, body: Record<string, unknown> = {}) {
    return app.inject({
      method: 'POST', url: `/internal/consents/${consentId}/authorise`, headers: await internal('authServer'),
      payload: { resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], authenticatedUser: { cpf: CPF }, ...body },
    })
  }

  return {
    app, pool, clock, consents, auth, tpp, internal, create, authorise, schema,
    async close() {
      await app.close()
      await pool.end()
      if (!options.databaseUrl) await schema.drop()
    },
  }
}

export type TestConsentApp = Awaited<ReturnType<typeof startConsentApp>>

/** An RFC 3339 date `ms` after the clock's now, without fractions. */
export function isoIn(clock: Clock, ms: number): string {
  return ofbDateTime(new Date(clock.now().getTime() + ms))
}

export const DAY = 24 * 60 * 60_000
