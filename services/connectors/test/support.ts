import { createHmac } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createPool, migrate, type Pool, type PonteServer } from '@ponte/platform'
import { testLogger, testSchema, testServiceAuth, type TestSchema } from '@ponte/testkit'
import type { CallerContext, ConsentResource, CoreConnector, Permission } from '@ponte/contracts'
import { buildApp } from '../src/app.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPaginationKeys } from '../src/domain/pagination.ts'
import { seedDemoBank } from '../src/seed/demo-bank.ts'

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url))
export const PUBLIC = 'https://api.bank.test'
export const SECRET = 'test-pagination-secret-0123456789abcdef'

/** A migrated schema with the demo bank, an app on the postgres core, and a way to sign gateway calls. */
export interface Fixture {
  schema: TestSchema
  pool: Pool
  app: PonteServer
  core: CoreConnector
  clock: { now: Date }
  /** Service-token header of a gateway call carrying `ctx`. */
  token(ctx?: CallerContext): Promise<Record<string, string>>
  close(): Promise<void>
}

export async function demoFixture(prefix: string, options: { core?: (pg: CoreConnector) => CoreConnector } = {}): Promise<Fixture> {
  const schema = testSchema(prefix)
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
  const pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 4 })
  await seedDemoBank(pool)
  const auth = testServiceAuth()
  const gateway = auth.issuer('gateway')
  const clock = { now: new Date() }
  const pg = createPgCore(pool)
  const core = options.core ? options.core(pg) : pg
  const app = buildApp({
    server: { logger: testLogger('connectors').logger },
    serviceAuth: auth.verifier('connectors'),
    core,
    paginationKeys: createPaginationKeys(SECRET),
    publicBaseUrl: PUBLIC,
    brand: { brandName: 'Banco Ponte', companyCnpj: '12345678000195' },
    clock: () => clock.now,
  })
  await app.ready()
  return {
    schema,
    pool,
    app,
    core,
    clock,
    token: async (ctx) => ({ 'x-ponte-service-token': await gateway.sign('connectors', ctx) }),
    async close() {
      await app.close()
      await pool.end()
      await schema.drop()
    },
  }
}

/** A gateway caller context for a consent. */
export function consentCtx(o: { cpf: string; cnpj?: string; permissions: Permission[]; resources: ConsentResource[]; consentId?: string }): CallerContext {
  return {
    clientId: 'client-1',
    organisationId: 'org-1',
    scopes: ['openid', 'accounts'],
    consent: {
      consentId: o.consentId ?? 'urn:bank:consent-1',
      customer: o.cnpj ? { cpf: o.cpf, cnpj: o.cnpj } : { cpf: o.cpf },
      permissions: o.permissions,
      resources: o.resources,
    },
  }
}

/** Every permission of the data APIs (tests narrow them where it matters). */
export const ALL_PERMISSIONS: Permission[] = [
  'RESOURCES_READ', 'ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'ACCOUNTS_OVERDRAFT_LIMITS_READ',
  'CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_READ',
  'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ', 'LOANS_READ', 'LOANS_WARRANTIES_READ', 'LOANS_SCHEDULED_INSTALMENTS_READ', 'LOANS_PAYMENTS_READ',
  'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ', 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ',
]

/** RFC 6238 written out independently of the library under test (HMAC-SHA-1, 6 digits, 30 s). */
export function rfc6238(base32: string, at: Date): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const ch of base32) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(at.getTime() / 30_000)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = mac[mac.length - 1]! & 0xf
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}
