/**
 * The consent service's internal API against the real PostgreSQL (its own throwaway schema), with one authorised
 * consent seeded, for the gateway's lookup path. Logs are serialised at `info` into a sink (production cost, no
 * terminal). Prints `{"port":N,"consentId":"…","token":"…"}` when listening; the token is a service token of the
 * gateway, valid 60 s (`createToken`: the same for POST /consents with a TPP caller context). Drops its schema on SIGTERM. Usage: node bench/servers/consent-lookup.ts
 */
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import {
  createLogger, createPool, createServiceTokenIssuer, createServiceTokenVerifier, generateServiceKeyPair, migrate, ofbDateTime, parsePublicKeys,
} from '@ponte/platform'
import { ensureDatabase, testInfra, testSchema } from '@ponte/testkit'
import { buildApp } from '../../services/consent/src/app.ts'
import { createConsentService, createIds, systemClock } from '../../services/consent/src/adapters/consent-service.ts'
import { DEFAULT_OFFERED_GROUPS } from '../../services/consent/src/domain/permissions.ts'

const { databaseUrl } = testInfra()
await ensureDatabase(databaseUrl)
const schema = testSchema('bench_consent')
await migrate({ url: databaseUrl, schema: schema.name, dir: fileURLToPath(new URL('../../services/consent/migrations', import.meta.url)) })
const pool = createPool({ url: databaseUrl, schema: schema.name, max: 10 })
const consents = createConsentService({ pool, clock: systemClock, ids: createIds('ponte'), offeredGroups: new Set(DEFAULT_OFFERED_GROUPS) })
const meta = { via: 'bench' }
const consent = await consents.create({
  clientId: 'bench-client',
  organisationId: 'bench-org',
  permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'],
  loggedUserCpf: '76109277673',
  expirationDateTime: ofbDateTime(new Date(Date.now() + 30 * 86_400_000)),
}, meta)
await consents.authorise(consent.consentId, {
  resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }, { type: 'ACCOUNT', resourceId: 'acc-2' }],
  authenticatedUser: { cpf: '76109277673' },
}, meta)

const keys = generateServiceKeyPair()
const sink = new Writable({ write(_c, _e, cb) { cb() } })
const app = buildApp({
  server: { logger: createLogger({ service: 'consent', destination: sink }) },
  serviceAuth: createServiceTokenVerifier('consent', parsePublicKeys(keys.publicKeyPem)),
  consents,
  publicBaseUrl: 'https://localhost:8443',
  regulatedCallers: ['gateway'],
})
await app.listen({ host: '127.0.0.1', port: 0 })
const port = (app.server.address() as { port: number }).port
const token = await createServiceTokenIssuer('gateway', keys.privateKeyPem).sign('consent', undefined, 60)
// For consent creation (bench/cases/consent-create.ts): the gateway's token for a regulated call with the consents scope.
const createToken = await createServiceTokenIssuer('gateway', keys.privateKeyPem).sign('consent', { clientId: 'bench-client', organisationId: 'bench-org', scopes: ['consents'] }, 60)
console.log(JSON.stringify({ port, consentId: consent.consentId, token, createToken }))

process.once('SIGTERM', () => {
  void (async () => {
    await app.close()
    await pool.end()
    await schema.drop()
    process.exit(0)
  })().catch((err: unknown) => { console.error(err); process.exit(1) })
})
