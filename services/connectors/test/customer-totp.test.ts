import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, migrate, type Pool, type PonteServer } from '@ponte/platform'
import { testLogger, testSchema, testServiceAuth, type TestSchema } from '@ponte/testkit'
import { SelectableResources, VerifyCustomerTotpResult } from '@ponte/contracts'
import { buildApp } from '../src/app.ts'
import { createPgCore } from '../src/adapters/pg-core.ts'
import { createPgCustomerTotp } from '../src/adapters/pg-totp.ts'
import { createPaginationKeys } from '../src/domain/pagination.ts'
import { DEMO_CUSTOMERS, DEMO_TOTP_SECRET, demoId, seedDemoBank } from '../src/seed/demo-bank.ts'
import { migrationsDir, rfc6238, SECRET } from './support.ts'

describe('connectors: customer TOTP (POST /internal/customers/verify-totp)', () => {
  let schema: TestSchema
  let pool: Pool
  let app: PonteServer
  const clock = { now: new Date('2026-12-07T12:00:10Z') }
  const auth = testServiceAuth()
  const authServer = auth.issuer('auth-server')

  beforeAll(async () => {
    schema = testSchema('conn_totp')
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 4 })
    await seedDemoBank(pool)
    await seedDemoBank(pool)
    app = buildApp({
      server: { logger: testLogger('connectors').logger },
      serviceAuth: auth.verifier('connectors'),
      core: createPgCore(pool),
      paginationKeys: createPaginationKeys(SECRET),
      publicBaseUrl: 'https://api.bank.test',
      brand: { brandName: 'Banco Ponte', companyCnpj: '12345678000195' },
      clock: () => clock.now,
      totp: createPgCustomerTotp(pool),
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await pool.end()
    await schema.drop()
  })

  const verify = async (cpf: string, code: string, headers?: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/internal/customers/verify-totp', headers: headers ?? { 'x-ponte-service-token': await authServer.sign('connectors') }, payload: { cpf, code } })

  it('accepts the current code once, and the codes of the neighbouring steps', async () => {
    const ana = DEMO_CUSTOMERS.ana.cpf
    const first = await verify(ana, rfc6238(DEMO_TOTP_SECRET, clock.now))
    expect(first.statusCode).toBe(200)
    expect(VerifyCustomerTotpResult.parse(first.json())).toEqual({ valid: true })
    // The same code again, even within its window: refused.
    expect((await verify(ana, rfc6238(DEMO_TOTP_SECRET, clock.now))).json()).toEqual({ valid: false })
    // The previous step's code is older than the one used: refused too.
    expect((await verify(ana, rfc6238(DEMO_TOTP_SECRET, new Date(clock.now.getTime() - 30_000)))).json()).toEqual({ valid: false })
    // The next step's code (the customer's phone a little ahead): accepted once.
    expect((await verify(ana, rfc6238(DEMO_TOTP_SECRET, new Date(clock.now.getTime() + 30_000)))).json()).toEqual({ valid: true })
  })

  it('refuses a wrong code, a code two steps away and an unknown CPF with the same answer', async () => {
    const carlos = DEMO_CUSTOMERS.carlos.cpf
    const right = rfc6238(DEMO_TOTP_SECRET, clock.now)
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    expect((await verify(carlos, wrong)).json()).toEqual({ valid: false })
    expect((await verify(carlos, rfc6238(DEMO_TOTP_SECRET, new Date(clock.now.getTime() + 60_000)))).json()).toEqual({ valid: false })
    expect((await verify('00000000191', right)).json()).toEqual({ valid: false })
    expect((await verify(carlos, right)).json()).toEqual({ valid: true })
  })

  it('accepts a code once when the same code arrives several times at once', async () => {
    const mariana = DEMO_CUSTOMERS.mariana.cpf
    const code = rfc6238(DEMO_TOTP_SECRET, clock.now)
    const answers = await Promise.all(Array.from({ length: 6 }, async () => (await verify(mariana, code)).json() as { valid: boolean }))
    expect(answers.filter((a) => a.valid)).toHaveLength(1)
  })

  it('validates the body and requires a service token; the secret is stored once per demo person', async () => {
    const bad = await verify(DEMO_CUSTOMERS.ana.cpf, '12345')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0]).toBeDefined()
    expect((await verify(DEMO_CUSTOMERS.ana.cpf, '123456', {})).statusCode).toBe(401)
    const rows = await pool.query(`select count(*)::int as n from customer_totp where secret = $1`, [DEMO_TOTP_SECRET])
    expect(rows.rows[0].n).toBe(3)
  })

  it('gives accounts their Payments API form in the internal resources answer (the payment journey\'s debtor account)', async () => {
    const res = await app.inject({ method: 'GET', url: `/internal/customers/${DEMO_CUSTOMERS.ana.cpf}/resources`, headers: { 'x-ponte-service-token': await authServer.sign('connectors') } })
    const { resources } = SelectableResources.parse(res.json())
    expect(resources.find((r) => r.resourceId === demoId('ana:checking'))?.paymentAccount).toEqual({ ispb: expect.stringMatching(/^[0-9]{8}$/), issuer: '0001', number: '000123456', accountType: 'CACC' })
    expect(resources.find((r) => r.resourceId === demoId('ana:savings'))?.paymentAccount).toMatchObject({ number: '000543210', accountType: 'SVGS' })
    expect(resources.filter((r) => r.type !== 'ACCOUNT').every((r) => r.paymentAccount === undefined)).toBe(true)
  })
})
