/**
 * The connectors service on the postgres reference core, over the synthetic load data in schema `bench_core` of the
 * test database (loaded by bench/seed.ts, or here when missing: BENCH_CUSTOMERS customers × BENCH_TX_PER_CUSTOMER
 * transactions, default 100 000 × 100). Logs go to a sink. Prints `{"port":N,"accountId":"…","token":"…",
 * "seed":{…}}` when listening; the token is a gateway service token (60 s) whose consent covers one synthetic account.
 * Usage: node bench/servers/connectors-transactions.ts
 */
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { createLogger, createPool, createServiceTokenIssuer, createServiceTokenVerifier, generateServiceKeyPair, migrate, parsePublicKeys } from '@ponte/platform'
import { ensureDatabase, testInfra } from '@ponte/testkit'
import { buildApp } from '../../services/connectors/src/app.ts'
import { createPgCore } from '../../services/connectors/src/adapters/pg-core.ts'
import { createPaginationKeys } from '../../services/connectors/src/domain/pagination.ts'
import { seedSynthetic, syntheticCpf } from '../../services/connectors/src/seed/synthetic.ts'

const customers = Number(process.env.BENCH_CUSTOMERS ?? 100_000)
const per = Number(process.env.BENCH_TX_PER_CUSTOMER ?? 100)
const { databaseUrl } = testInfra()
await ensureDatabase(databaseUrl)
const schema = 'bench_core'
await migrate({ url: databaseUrl, schema, dir: fileURLToPath(new URL('../../services/connectors/migrations', import.meta.url)) })
const pool = createPool({ url: databaseUrl, schema, max: 10 })
const seed = await seedSynthetic(pool, { customers, transactionsPerCustomer: per, log: (m) => process.stderr.write(`seed: ${m}\n`) })

// A customer in the middle of the data set.
const n = Math.ceil(customers / 2)
const cpf = syntheticCpf(n)
const { rows } = await pool.query(`select a.account_id from account a join customer c on c.id = a.owner_id where c.cpf = $1`, [cpf])
const accountId = rows[0].account_id as string

const keys = generateServiceKeyPair()
const sink = new Writable({ write(_c, _e, cb) { cb() } })
const app = buildApp({
  server: { logger: createLogger({ service: 'connectors', destination: sink }) },
  serviceAuth: createServiceTokenVerifier('connectors', parsePublicKeys(keys.publicKeyPem)),
  core: createPgCore(pool),
  paginationKeys: createPaginationKeys('bench-pagination-secret-0123456789abcdef'),
  publicBaseUrl: 'https://localhost:8443',
  brand: { brandName: 'Banco Ponte', companyCnpj: '12345678000195' },
})
await app.listen({ host: '127.0.0.1', port: 0 })
const port = (app.server.address() as { port: number }).port
const ctx = {
  clientId: 'bench-client',
  organisationId: 'bench-org',
  scopes: ['openid', 'accounts'],
  consent: { consentId: 'urn:bench:consent', customer: { cpf }, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_TRANSACTIONS_READ'], resources: [{ type: 'ACCOUNT', resourceId: accountId }] },
}
const token = await createServiceTokenIssuer('gateway', keys.privateKeyPem).sign('connectors', ctx, 60)
console.log(JSON.stringify({ port, accountId, token, seed }))

process.once('SIGTERM', () => {
  void app.close().then(() => pool.end()).then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
})
