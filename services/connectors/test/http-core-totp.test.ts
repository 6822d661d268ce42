import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { createPool, migrate, type Pool, type PonteServer } from '@ponte/platform'
import { specValidator, testLogger, testSchema, testServiceAuth, type TestSchema } from '@ponte/testkit'
import { buildApp } from '../src/app.ts'
import { createCoreApiServer } from '../src/adapters/core-api-server.ts'
import { createHttpCore, type HttpCore } from '../src/adapters/http-core.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPgCustomerTotp } from '../src/adapters/pg-totp.ts'
import { createPaginationKeys } from '../src/domain/pagination.ts'
import { DEMO_CUSTOMERS, DEMO_TOTP_SECRET, seedDemoBank } from '../src/seed/demo-bank.ts'
import { migrationsDir, rfc6238, SECRET } from './support.ts'

// The LoA3 TOTP check with CORE_CONNECTOR=http: auth-server's `POST /internal/customers/verify-totp` answered by
// connectors through the HTTP connector, against the core-api server (the reference core, with its TOTP secrets)
// standing in for an external core at the HTTP boundary.
describe('connectors: the TOTP check through the HTTP connector (core-api.yaml POST /customers/verify-totp)', () => {
  const spec = specValidator(new URL('../core-api.yaml', import.meta.url))
  const auth = testServiceAuth()
  const authServer = auth.issuer('auth-server')
  /** What the external core does to the next requests. */
  const fault = { mode: 'none' as 'none' | '500', hits: 0 }
  let schema: TestSchema
  let pool: Pool
  let external: FastifyInstance
  let withoutTotp: FastifyInstance
  let http: HttpCore
  let old: HttpCore
  let app: PonteServer
  let oldApp: PonteServer
  let url: string

  const connectorsOver = async (core: HttpCore) => {
    const a = buildApp({
      server: { logger: testLogger('connectors').logger },
      serviceAuth: auth.verifier('connectors'),
      core,
      paginationKeys: createPaginationKeys(SECRET),
      publicBaseUrl: 'https://api.bank.test',
      brand: { brandName: 'Banco Ponte', companyCnpj: '12345678000195' },
      // As main.ts wires it for CORE_CONNECTOR=http.
      totp: { verify: (cpf, code) => core.verifyTotp(cpf, code) },
    })
    await a.ready()
    return a
  }

  beforeAll(async () => {
    schema = testSchema('conn_http_totp')
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 4 })
    await seedDemoBank(pool)
    external = createCoreApiServer(createPgCore(pool), { totp: createPgCustomerTotp(pool) })
    external.addHook('onRequest', async (_req, reply) => {
      fault.hits += 1
      if (fault.mode === '500') return reply.code(500).send({ error: 'boom' })
    })
    url = await external.listen({ host: '127.0.0.1', port: 0 })
    // A core that predates the operation.
    withoutTotp = createCoreApiServer(createPgCore(pool))
    const oldUrl = await withoutTotp.listen({ host: '127.0.0.1', port: 0 })
    http = createHttpCore({ baseUrl: url, timeoutMs: 1_500, retries: 2, breakerFailures: 50, breakerResetMs: 5_000 })
    old = createHttpCore({ baseUrl: oldUrl, timeoutMs: 1_500, retries: 2, breakerFailures: 50, breakerResetMs: 5_000 })
    app = await connectorsOver(http)
    oldApp = await connectorsOver(old)
  })
  afterAll(async () => {
    await app?.close()
    await oldApp?.close()
    await http?.close()
    await old?.close()
    await external?.close()
    await withoutTotp?.close()
    await pool?.end()
    await schema?.drop()
  })
  beforeEach(() => {
    fault.mode = 'none'
    fault.hits = 0
  })

  const verify = async (cpf: string, code: string, on = app) =>
    on.inject({ method: 'POST', url: '/internal/customers/verify-totp', headers: { 'x-ponte-service-token': await authServer.sign('connectors') }, payload: { cpf, code } })

  it('accepts the customer\'s current code once, through the external core', async () => {
    const code = rfc6238(DEMO_TOTP_SECRET, new Date())
    const first = await verify(DEMO_CUSTOMERS.ana.cpf, code)
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ valid: true })
    expect(fault.hits).toBe(1)
    // The core recorded the step: the same code is refused afterwards.
    expect((await verify(DEMO_CUSTOMERS.ana.cpf, code)).json()).toEqual({ valid: false })
  })

  it('refuses a wrong code and an unknown CPF with the same answer', async () => {
    const right = rfc6238(DEMO_TOTP_SECRET, new Date())
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    expect((await verify(DEMO_CUSTOMERS.carlos.cpf, wrong)).json()).toEqual({ valid: false })
    expect((await verify('00000000191', right)).json()).toEqual({ valid: false })
  })

  it('answers 502 when the core fails, without retrying the check (it may have claimed the code)', async () => {
    fault.mode = '500'
    const res = await verify(DEMO_CUSTOMERS.mariana.cpf, rfc6238(DEMO_TOTP_SECRET, new Date()))
    expect(res.statusCode).toBe(502)
    expect(res.json().errors[0].code).toBeDefined()
    expect(fault.hits).toBe(1)
  })

  it('answers 502 when the core does not offer the operation, never a silent refusal or acceptance', async () => {
    const res = await verify(DEMO_CUSTOMERS.mariana.cpf, rfc6238(DEMO_TOTP_SECRET, new Date()), oldApp)
    expect(res.statusCode).toBe(502)
  })

  it('the core-api server answers in the shape core-api.yaml documents', async () => {
    const call = async (body: unknown) => {
      const res = await request(`${url}/customers/verify-totp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: res.statusCode, body: await res.body.json() }
    }
    const ok = await call({ cpf: DEMO_CUSTOMERS.carlos.cpf, code: '000000' })
    expect(ok.status).toBe(200)
    spec.assert('POST', '/customers/verify-totp', 200, ok.body)
    const bad = await call({ cpf: DEMO_CUSTOMERS.carlos.cpf, code: '12' })
    expect(bad.status).toBe(400)
    spec.assert('POST', '/customers/verify-totp', 400, bad.body)
  })
})
