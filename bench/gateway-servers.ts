/**
 * Processes of the gateway benchmark (`bench/gateway.ts`), one role per process:
 *   upstream <dir>   plain-HTTP stand-in of connectors (spec-valid GET /accounts/{accountId} body), of the consent
 *                    lookup and directory internal APIs, and of the auth-server JWKS (read from <dir>/jwks.json)
 *   gateway <dir>    Ponte's gateway composed as main.ts composes it (FAPI-BR TLS listener, Redis limits, Kafka events),
 *                    pointed at the upstream; the bench organisation's limits are raised so none bites, but every
 *                    counter is still written by the one script per request
 * Each prints `{"port":N}` when listening.
 */
import { readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { policyIdOf } from '@ponte/contracts'
import { createKafka, createLogger, createPublisher, fapiTlsOptions, parsePublicKeys } from '@ponte/platform'
import { composeGateway } from '../services/gateway/src/compose.ts'
import { loadConfig } from '../services/gateway/src/config.ts'

const [role, dir] = process.argv.slice(2) as [string, string]
const setup = JSON.parse(readFileSync(`${dir}/setup.json`, 'utf8')) as {
  consent: Record<string, unknown>
  organisation: Record<string, unknown>
  orgId: string
  servicePrivateKeyPem: string
  servicePublicKeyPem: string
  upstreamPort?: number
}
const accountBody = {
  data: { compeCode: '001', branchCode: '6272', number: '94088392', checkDigit: '4', type: 'CONTA_DEPOSITO_A_VISTA', subtype: 'INDIVIDUAL', currency: 'BRL' },
  links: { self: 'https://api.banco.com.br/open-banking/accounts/v2/accounts/acc-1' },
  meta: { totalRecords: 1, totalPages: 1, requestDateTime: '2026-01-01T00:00:00Z' },
}

if (role === 'upstream') {
  const app = Fastify()
  const jwks = JSON.parse(readFileSync(`${dir}/jwks.json`, 'utf8')) as unknown
  app.get('/jwks', async () => jwks)
  app.get('/internal/consents/:id/lookup', async () => setup.consent)
  app.get('/internal/organisations/:id', async () => setup.organisation)
  app.get('/open-banking/accounts/v2/accounts/:accountId', async (_req, reply) => {
    reply.header('x-v', '2.5.1')
    return accountBody
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }))
} else if (role === 'gateway') {
  const up = `http://127.0.0.1:${setup.upstreamPort}`
  const env = {
    LOG_LEVEL: 'warn',
    SERVICE_TOKEN_PRIVATE_KEY: setup.servicePrivateKeyPem,
    SERVICE_TOKEN_PUBLIC_KEYS: setup.servicePublicKeyPem,
    TLS_CLIENT_CA_FILE: `${dir}/ca.pem`,
    AUTH_JWKS_URL: `${up}/jwks`,
    AUTH_ISSUER: 'https://auth.bench',
    ACCESS_TOKEN_AUDIENCE: 'https://gateway.bench',
    CONSENT_URL: up,
    CONNECTORS_URL: up,
    DIRECTORY_URL: up,
    TRAFFIC_URL: 'http://127.0.0.1:9',
    GLOBAL_TPS_DEFAULT: '1000000',
    GATEWAY_INSTANCE_ID: `bench-${randomUUID().slice(0, 6)}`,
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...(process.env.KAFKA_BROKERS ? { KAFKA_BROKERS: process.env.KAFKA_BROKERS } : {}),
    // Experiments: GATEWAY_BENCH_SET_<NAME>=value sets the gateway's <NAME>.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('GATEWAY_BENCH_SET_')).map(([k, v]) => [k.slice('GATEWAY_BENCH_SET_'.length), v])),
  }
  const config = loadConfig(env)
  // Logs below warn go nowhere; the serialisation cost of what is logged is kept.
  const logger = createLogger({ service: 'gateway', level: 'warn', destination: new Writable({ write(_c, _e, cb) { cb() } }) })
  const kafka = createKafka({ brokers: [...config.kafka.brokers], clientId: 'gateway-bench', logger })
  const publisher = createPublisher(kafka)
  const https = fapiTlsOptions({ cert: readFileSync(`${dir}/server.chain.pem`), key: readFileSync(`${dir}/server.key.pem`), clientCa: readFileSync(`${dir}/ca.pem`) })
  const g = await composeGateway({ config, logger, kafka, publisher, https, serviceKeys: { privateKeyPem: setup.servicePrivateKeyPem, publicKeys: parsePublicKeys(setup.servicePublicKeyPem) } })
  const endpoint = 'GET /open-banking/accounts/v2/accounts/{accountId}'
  const at = new Date().toISOString()
  // Let the policy topic replay first (it may hold other environments' policies), then lift the bench's limits.
  await new Promise((r) => setTimeout(r, 3_000))
  g.policies.apply({ id: randomUUID(), source: 'bench', occurredAt: at, version: 1, type: 'traffic.policy.upserted',
    data: { policyId: policyIdOf({ kind: 'global-tps', scope: 'override' }), kind: 'global-tps', limit: 1_000_000, enabled: true, updatedAt: at } })
  for (const kind of ['tpm', 'monthly'] as const) {
    g.policies.apply({ id: randomUUID(), source: 'bench', occurredAt: at, version: 1, type: 'traffic.policy.upserted',
      data: { policyId: policyIdOf({ kind, scope: 'override', organisationId: setup.orgId, endpoint }), kind, endpoint, organisationId: setup.orgId, limit: 1_000_000_000, enabled: true, updatedAt: at } })
  }
  await g.app.listen({ host: '127.0.0.1', port: 0 })
  console.log(JSON.stringify({ port: (g.app.server.address() as { port: number }).port }))
  process.on('SIGTERM', () => {
    void (async () => {
      await g.app.close()
      for (const c of g.closers) await c()
      await publisher.disconnect()
      process.exit(0)
    })()
  })
} else {
  throw new Error(`unknown role ${role}`)
}
process.on('SIGTERM', () => process.exit(0))
