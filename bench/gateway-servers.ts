/**
 * Processes of the gateway benchmark (`bench/gateway.ts`), one role per process:
 *   upstream <dir>   plain-HTTP stand-in (node:http, fixed bodies) of connectors (spec-valid GET /accounts/{accountId} body), of the consent
 *                    lookup and directory internal APIs, and of the auth-server JWKS (read from <dir>/jwks.json); for the
 *                    payments case also of consent's POST /open-banking/payments/v4/consents (a fixed 201 JSON body) and
 *                    of the directory's organisation keys (<dir>/tpp-jwks.json)
 *   gateway <dir>    Ponte's gateway composed as main.ts composes it (FAPI-BR TLS listener, Redis limits, Kafka events
 *                    from the worker-thread producer),
 *                    pointed at the upstream; the bench organisation's limits are raised so none bites, but every
 *                    counter is still written by the one script per request
 * The payments case (bench/cases/gateway-payments.ts) points the gateway at the real consent and connectors services
 * instead (`consentUrl`, `connectorsUrl` in setup.json); the upstream then serves only the JWKS and the directory.
 * Each prints `{"port":N}` when listening. GATEWAY_BENCH_WORKERS=N runs the gateway role as N worker processes on one
 * listener under the gateway's own primary (services/gateway/src/adapters/workers.ts).
 */
import cluster from 'node:cluster'
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { Writable } from 'node:stream'
import { randomUUID } from 'node:crypto'
import type * as NodeCrypto from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import { policyIdOf } from '@ponte/contracts'
import { createKafka, createLogger, createPublisher, fapiTlsOptions, parsePublicKeys } from '@ponte/platform'
import { DEV_PAYLOAD_SIGNING_PASSPHRASE, loadOrCreateDevPayloadSigningKey, loadOrCreateDevPki } from '@ponte/pki'
import { createWorkerPublisher } from '../services/gateway/src/adapters/worker-publisher.ts'
import { superviseWorkers } from '../services/gateway/src/adapters/workers.ts'
import type { composeGateway as ComposeGateway } from '../services/gateway/src/compose.ts'
import type { loadConfig as LoadConfig } from '../services/gateway/src/config.ts'

const [role, dir] = process.argv.slice(2) as [string, string]
const setup = JSON.parse(readFileSync(`${dir}/setup.json`, 'utf8')) as {
  consent: Record<string, unknown>
  organisation: Record<string, unknown>
  orgId: string
  servicePrivateKeyPem: string
  servicePublicKeyPem: string
  upstreamPort?: number
  paymentConsent?: Record<string, unknown>
  /** The real consent and connectors services, when a case runs them (else the upstream stand-in serves both). */
  consentUrl?: string
  connectorsUrl?: string
  /** Endpoints (`METHOD /path`) whose per-organisation limits are lifted besides GET /accounts/{accountId}. */
  limitEndpoints?: string[]
}
const accountBody = {
  data: { compeCode: '001', branchCode: '6272', number: '94088392', checkDigit: '4', type: 'CONTA_DEPOSITO_A_VISTA', subtype: 'INDIVIDUAL', currency: 'BRL' },
  links: { self: 'https://api.banco.com.br/open-banking/accounts/v2/accounts/acc-1' },
  meta: { totalRecords: 1, totalPages: 1, requestDateTime: '2026-01-01T00:00:00Z' },
}

if (role === 'upstream') {
  // A minimal node:http responder with fixed bodies: the rows measure the gateways in front of it, not the upstream.
  const json = (v: unknown) => Buffer.from(JSON.stringify(v))
  const jwks = readFileSync(`${dir}/jwks.json`)
  const consent = json(setup.consent)
  const organisation = json(setup.organisation)
  const account = json(accountBody)
  const tppJwks = existsSync(`${dir}/tpp-jwks.json`) ? readFileSync(`${dir}/tpp-jwks.json`) : undefined
  const paymentConsent = setup.paymentConsent ? json(setup.paymentConsent) : undefined
  const server = createHttpServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const url = req.url ?? ''
    if (req.method === 'POST' && paymentConsent && url === '/open-banking/payments/v4/consents') {
      // The request body is read whole (as the consent service would) and the fixed answer sent.
      req.resume()
      req.once('end', () => res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': paymentConsent.length, 'x-v': '4.0.1' }).end(paymentConsent))
      return
    }
    const body = url.startsWith('/open-banking/accounts/v2/accounts/') ? account
      : tppJwks && url.startsWith('/internal/organisations/') && url.includes('/jwks') ? tppJwks
      : url.startsWith('/internal/consents/') ? consent
        : url.startsWith('/internal/organisations/') ? organisation
          : url === '/jwks' ? jwks : undefined
    if (!body) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, ...(body === account ? { 'x-v': '2.5.1' } : {}) })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }))
  process.on('SIGTERM', () => process.exit(0))
} else if (role === 'gateway' && Number(process.env.GATEWAY_BENCH_WORKERS ?? 1) > 1 && cluster.isPrimary) {
  // GATEWAY_BENCH_WORKERS=N: the gateway's own primary (as main.ts with GATEWAY_WORKERS=N) forks N copies of this
  // role sharing one listener; the ready line comes once every worker listens.
  const workers = Number(process.env.GATEWAY_BENCH_WORKERS)
  const ports = new Set<number>()
  let listening = 0
  cluster.on('message', (_w, msg: { port?: number }) => {
    if (typeof msg.port !== 'number') return
    ports.add(msg.port)
    if (++listening === workers) console.log(JSON.stringify({ port: msg.port, workers, ports: [...ports] }))
  })
  superviseWorkers({ workers, shutdownTimeoutMs: 10_000, logger: createLogger({ service: 'gateway', level: 'warn', destination: new Writable({ write(_c, _e, cb) { cb() } }) }) })
} else if (role === 'gateway') {
  const up = `http://127.0.0.1:${setup.upstreamPort}`
  // The bank's payload-signing key: the dev one of the repo's dev PKI (as `make up` uses it).
  const pki = await loadOrCreateDevPki(new URL('../.pki', import.meta.url).pathname)
  const signing = await loadOrCreateDevPayloadSigningKey(pki.dir, pki.ca, { orgId: '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b', cnpj: '12345678000195', commonName: 'Banco Ponte Demo S.A.', passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
  const env = {
    PAYLOAD_SIGNING_CERT_FILE: signing.file,
    PAYLOAD_SIGNING_KEY_FILE: signing.file,
    PAYLOAD_SIGNING_KEY_PASSPHRASE: DEV_PAYLOAD_SIGNING_PASSPHRASE,
    LOG_LEVEL: 'warn',
    SERVICE_TOKEN_PRIVATE_KEY: setup.servicePrivateKeyPem,
    SERVICE_TOKEN_PUBLIC_KEYS: setup.servicePublicKeyPem,
    TLS_CLIENT_CA_FILE: `${dir}/ca.pem`,
    AUTH_JWKS_URL: `${up}/jwks`,
    AUTH_ISSUER: 'https://auth.bench',
    ACCESS_TOKEN_AUDIENCE: 'https://gateway.bench',
    CONSENT_URL: setup.consentUrl ?? up,
    CONNECTORS_URL: setup.connectorsUrl ?? up,
    DIRECTORY_URL: up,
    TRAFFIC_URL: 'http://127.0.0.1:9',
    GLOBAL_TPS_DEFAULT: '1000000',
    GATEWAY_INSTANCE_ID: `bench-${randomUUID().slice(0, 6)}`,
    // Its own Redis database, so the bench's load never counts against a running `make up` gateway's capacity.
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/15',
    ...(process.env.KAFKA_BROKERS ? { KAFKA_BROKERS: process.env.KAFKA_BROKERS } : {}),
    // Experiments: GATEWAY_BENCH_SET_<NAME>=value sets the gateway's <NAME>.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('GATEWAY_BENCH_SET_')).map(([k, v]) => [k.slice('GATEWAY_BENCH_SET_'.length), v])),
  }
  // GATEWAY_BENCH_JWS_CPU=<file>: the CPU time of every RSA-PSS sign and verify (the signed messages' JWS: the TPP's
  // request verified, the answer signed) is measured on the calling thread (process.threadCpuUsage around each
  // synchronous call) and the totals written to <file> at shutdown. Installed before the gateway's modules load.
  const jwsCpu = { sign: { calls: 0, us: 0 }, verify: { calls: 0, us: 0 } }
  if (process.env.GATEWAY_BENCH_JWS_CPU) {
    const require = createRequire(import.meta.url)
    const crypto = require('node:crypto') as typeof NodeCrypto
    const pss = (o: unknown) => typeof o === 'object' && o !== null && (o as { padding?: number }).padding === crypto.constants.RSA_PKCS1_PSS_PADDING
    const timed = <F extends (...a: never[]) => unknown>(fn: F, slot: { calls: number; us: number }, keyArg: number): F => ((...args: Parameters<F>) => {
      if (!pss(args[keyArg]) || typeof args[args.length - 1] === 'function') return fn(...args)
      const t0 = process.threadCpuUsage()
      const out = fn(...args)
      const t = process.threadCpuUsage(t0)
      slot.calls += 1
      slot.us += t.user + t.system
      return out
    }) as F
    crypto.sign = timed(crypto.sign, jwsCpu.sign, 2)
    crypto.verify = timed(crypto.verify, jwsCpu.verify, 2)
    syncBuiltinESMExports()
  }
  // GATEWAY_BENCH_GATEWAY_SRC=<dir under services/gateway> runs another copy of the sources (before/after comparisons).
  const src = `../services/gateway/${process.env.GATEWAY_BENCH_GATEWAY_SRC ?? 'src'}`
  const { composeGateway } = (await import(`${src}/compose.ts`)) as { composeGateway: typeof ComposeGateway }
  const { loadConfig } = (await import(`${src}/config.ts`)) as { loadConfig: typeof LoadConfig }
  const config = loadConfig(env)
  // Logs below warn go nowhere; the serialisation cost of what is logged is kept (GATEWAY_BENCH_LOG_FILE: appended there).
  const logFile = process.env.GATEWAY_BENCH_LOG_FILE
  const logger = createLogger({ service: 'gateway', level: 'warn', destination: logFile ? createWriteStream(logFile, { flags: 'a' }) : new Writable({ write(_c, _e, cb) { cb() } }) })
  const kafka = createKafka({ brokers: [...config.kafka.brokers], clientId: 'gateway-bench', logger })
  // As main.ts: api-call events produced from a worker thread (GATEWAY_BENCH_EVENTS_IN_LOOP=1: in the request loop).
  const publisher = process.env.GATEWAY_BENCH_EVENTS_IN_LOOP === '1' ? createPublisher(kafka) : createWorkerPublisher({ brokers: [...config.kafka.brokers], clientId: 'gateway-bench-events', logLevel: 'warn' })
  const https = fapiTlsOptions({ cert: readFileSync(`${dir}/server.chain.pem`), key: readFileSync(`${dir}/server.key.pem`), clientCa: readFileSync(`${dir}/ca.pem`) })
  const g = await composeGateway({ config, logger, kafka, publisher, https, serviceKeys: { privateKeyPem: setup.servicePrivateKeyPem, publicKeys: parsePublicKeys(setup.servicePublicKeyPem) } })
  const endpoint = 'GET /open-banking/accounts/v2/accounts/{accountId}'
  const at = new Date().toISOString()
  // Let the policy topic replay first (it may hold other environments' policies), then lift the bench's limits.
  await new Promise((r) => setTimeout(r, 3_000))
  g.policies.apply({ id: randomUUID(), source: 'bench', occurredAt: at, version: 1, type: 'traffic.policy.upserted',
    data: { policyId: policyIdOf({ kind: 'global-tps', scope: 'override' }), kind: 'global-tps', limit: 1_000_000, enabled: true, updatedAt: at } })
  for (const e of [endpoint, ...(setup.limitEndpoints ?? [])]) {
    for (const kind of ['tpm', 'monthly'] as const) {
      g.policies.apply({ id: randomUUID(), source: 'bench', occurredAt: at, version: 1, type: 'traffic.policy.upserted',
        data: { policyId: policyIdOf({ kind, scope: 'override', organisationId: setup.orgId, endpoint: e }), kind, endpoint: e, organisationId: setup.orgId, limit: 1_000_000_000, enabled: true, updatedAt: at } })
    }
  }
  await g.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (g.app.server.address() as { port: number }).port
  if (cluster.isWorker) process.send!({ port })
  else console.log(JSON.stringify({ port }))
  process.on('SIGTERM', () => {
    void (async () => {
      await g.app.close()
      for (const c of g.closers) await c()
      // What happened to the api-call events under load (published, dropped), for the bench's notes.
      process.stderr.write(`gateway bench events: ${JSON.stringify(g.events.stats)}\n`)
      if (process.env.GATEWAY_BENCH_JWS_CPU) writeFileSync(process.env.GATEWAY_BENCH_JWS_CPU, JSON.stringify(jwsCpu))
      await ('disconnect' in publisher ? publisher.disconnect() : publisher.close())
      process.exit(0)
    })().catch((err: unknown) => { console.error(err); process.exit(1) })
  })
} else {
  throw new Error(`unknown role ${role}`)
}
