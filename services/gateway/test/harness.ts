import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConsentLookup, OrganisationSummary } from '@ponte/contracts'
import { createKafka, createPublisher, createServer, fapiTlsOptions, ofbDateTime, parsePublicKeys, requireServiceToken, type PonteServer } from '@ponte/platform'
import { createDevCa, issueClientCertificate, issueServerCertificate, issueSigningCertificate, type DevCa, type IssuedSigningCertificate } from '@ponte/pki'
import { listen, testInfra, testLogger, testServiceAuth } from '@ponte/testkit'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { Agent, request } from 'undici'
import { composeGateway, type ComposedGateway } from '../src/compose.ts'
import { loadConfig } from '../src/config.ts'

/** A TPP as the tests see it: its certificate and an mTLS HTTP client. */
export interface Tpp {
  orgId: string
  softwareStatementId: string
  clientId: string
  cert: IssuedSigningCertificate
  agent: Agent
  /** Its payload-signing key (PS256), published in its keystore under `kid`. */
  signingKey: KeyObject
  kid: string
}

/** What a stand-in payments service saw on its last call. */
export interface SeenPaymentCall { url: string; ctx: unknown; headers: Record<string, unknown>; body: unknown }

/** What the stand-in connectors saw on its last call. */
export interface SeenCall { url: string; ctx: unknown; headers: Record<string, unknown> }

export const ISSUER = 'https://auth.test'
export const AUDIENCE = 'https://gateway.test'
/** The bank's organisation id (the `iss` of its signed answers) and the gateway's public base URLs (a request's `aud`). */
export const BANK_ORG_ID = '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b'
export const PUBLIC_BASE_URLS = ['https://localhost:8443', 'https://127.0.0.1:8443']
export const BANK_SIGNING_PASSPHRASE = 'test payload-signing passphrase'
export const ACCOUNT_BODY = (accountId: string) => ({
  data: { compeCode: '001', branchCode: '6272', number: '94088392', checkDigit: '4', type: 'CONTA_DEPOSITO_A_VISTA', subtype: 'INDIVIDUAL', currency: 'BRL' },
  links: { self: `https://api.banco.com.br/open-banking/accounts/v2/accounts/${accountId}` },
  meta: { totalRecords: 1, totalPages: 1, requestDateTime: ofbDateTime() },
})

/**
 * The gateway's world for integration tests: a dev CA, TPPs, an auth-server JWKS with a PS256 key, stand-ins of the
 * consent, connectors and directory internal APIs at the HTTP layer (service tokens checked), and the gateway composed
 * exactly as `main.ts` composes it, against the real Redis and Kafka.
 */
export async function startWorld() {
  const { logger } = testLogger('gateway-test')
  const auth = testServiceAuth()
  const ca: DevCa = await createDevCa({ name: `Gateway Test ${randomUUID().slice(0, 6)}` })
  const rogueCa = await createDevCa({ name: 'Rogue' })
  const server = await issueServerCertificate(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] })
  const dir = mkdtempSync(join(tmpdir(), 'gw-test-'))
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, ca.chainPem)

  // Access-token keys (PS256) and the JWKS the gateway fetches.
  const signing = await generateKeyPair('PS256', { extractable: true })
  const otherKey = await generateKeyPair('PS256', { extractable: true })
  const jwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'PS256', use: 'sig' }
  let jwksFetches = 0
  const authApp = createServer({ logger })
  authApp.get('/jwks', async () => {
    jwksFetches++
    return { keys: [jwk] }
  })
  const authUrl = await listen(authApp)

  // Stand-ins of the internal APIs.
  const consentsById = new Map<string, ConsentLookup>()
  const orgs = new Map<string, OrganisationSummary>()
  const seen: SeenCall[] = []
  const connectors = { nextStatus: 200, paginationEcho: true, keyStatusHeader: false, delayMs: 0 }
  // Stand-ins of the payments owners: what they saw, and the status they answer next.
  const payments = { seen: [] as SeenPaymentCall[], nextStatus: 201 }
  const orgKeys = new Map<string, Array<Record<string, unknown>>>()
  let participantKeyFetches = 0
  const paymentsAnswer = (req: { url: string; body: unknown; headers: Record<string, unknown>; serviceCaller?: { ctx?: unknown } | null }, reply: { code: (n: number) => unknown; header: (k: string, v: string) => unknown }) => {
    payments.seen.push({ url: req.url, ctx: req.serviceCaller?.ctx, headers: { ...req.headers }, body: req.body })
    reply.header('x-v', req.url.includes('/v5/') ? '5.0.0' : '4.0.1')
    const now = ofbDateTime()
    if (payments.nextStatus === 422) {
      reply.code(422)
      return { errors: [{ code: 'DETALHE_PAGAMENTO_INVALIDO', title: 'Detalhe do pagamento inválido.', detail: 'Detalhe do pagamento inválido.' }], meta: { requestDateTime: now } }
    }
    reply.code(payments.nextStatus)
    const data = (req.body as { data?: Record<string, unknown> } | undefined)?.data ?? {}
    return {
      data: { consentId: 'urn:banco:PXO1234567', creationDateTime: now, expirationDateTime: now, statusUpdateDateTime: now, status: 'AWAITING_AUTHORISATION', ...data },
      links: { self: `https://api.banco.com.br${req.url}` },
      meta: { requestDateTime: now },
    }
  }

  const consentApp = createServer({ logger })
  consentApp.register(async (i) => {
    i.addHook('onRequest', requireServiceToken(auth.verifier('consent')))
    i.get('/internal/consents/:id/lookup', async (req, reply) => {
      const c = consentsById.get((req.params as { id: string }).id)
      if (!c) return reply.code(404).send({ errors: [{ code: 'NOT_FOUND', title: 'x', detail: 'x' }], meta: { requestDateTime: '2026-01-01T00:00:00Z' } })
      return c
    })
    i.post('/open-banking/payments/:v/consents', async (req, reply) => paymentsAnswer(req, reply))
    i.get('/open-banking/consents/v3/consents/:id', async (req, reply) => {
      reply.header('x-v', '3.3.1')
      return { data: { consentId: (req.params as { id: string }).id }, caller: req.serviceCaller }
    })
  })
  const consentUrl = await listen(consentApp)

  const connectorsApp = createServer({ logger })
  connectorsApp.register(async (i) => {
    i.addHook('onRequest', requireServiceToken(auth.verifier('connectors')))
    i.addHook('onRequest', async (req) => {
      seen.push({ url: req.url, ctx: req.serviceCaller?.ctx, headers: { ...req.headers } })
    })
    i.get('/open-banking/accounts/v2/accounts/:accountId', async (req, reply) => {
      if (connectors.delayMs) await new Promise((resolve) => setTimeout(resolve, connectors.delayMs))
      reply.header('x-v', '2.5.1')
      if (connectors.nextStatus !== 200) return reply.code(connectors.nextStatus).send({ errors: [{ code: 'NAO_ENCONTRADO', title: 'x', detail: 'x' }], meta: { requestDateTime: '2026-01-01T00:00:00Z' } })
      return ACCOUNT_BODY((req.params as { accountId: string }).accountId)
    })
    i.get('/open-banking/accounts/v2/accounts/:accountId/transactions', async (req, reply) => {
      const key = (req.query as Record<string, string>)['pagination-key']
      const minted = connectors.paginationEcho && key ? key : randomUUID()
      reply.header('x-v', '2.5.1')
      if (connectors.keyStatusHeader && key) reply.header('x-ponte-pagination-key-status', connectors.paginationEcho ? 'valid' : 'invalid')
      return { data: [], links: { self: `https://api.banco.com.br/open-banking/accounts/v2/accounts/x/transactions?page=2&pagination-key=${minted}` }, meta: { totalRecords: 0, totalPages: 1, requestDateTime: '2026-01-01T00:00:00Z' } }
    })
    i.post('/open-banking/payments/:v/pix/payments', async (req, reply) => paymentsAnswer(req, reply))
    i.get('/open-banking/channels/v2/branches', async (_req, reply) => {
      reply.header('x-v', '2.1.0')
      return { data: { calls: seen.length }, links: { self: 'https://api.banco.com.br/open-banking/channels/v2/branches' }, meta: { totalRecords: 1, totalPages: 1 } }
    })
  })
  const connectorsUrl = await listen(connectorsApp)

  const directoryApp = createServer({ logger })
  directoryApp.register(async (i) => {
    i.addHook('onRequest', requireServiceToken(auth.verifier('directory')))
    i.get('/internal/organisations/:id/jwks', async (req, reply) => {
      participantKeyFetches++
      const keys = orgKeys.get((req.params as { id: string }).id)
      if (!keys) return reply.code(404).send({ errors: [{ code: 'NOT_FOUND', title: 'x', detail: 'x' }], meta: { requestDateTime: '2026-01-01T00:00:00Z' } })
      return { keys }
    })
    i.get('/internal/organisations/:id', async (req, reply) => {
      const o = orgs.get((req.params as { id: string }).id)
      if (!o) return reply.code(404).send({ errors: [{ code: 'NOT_FOUND', title: 'x', detail: 'x' }], meta: { requestDateTime: '2026-01-01T00:00:00Z' } })
      return o
    })
  })
  const directoryUrl = await listen(directoryApp)

  // The bank's payload-signing key: a BRSEAL-shaped certificate, its key encrypted at rest (one file holds both).
  const bankSigning = await issueSigningCertificate(ca, { orgId: BANK_ORG_ID, cnpj: '12345678000195', commonName: 'Banco Ponte Teste S.A.' })
  const bankSigningFile = join(dir, 'bank-signing.pem')
  const encryptedKey = createPrivateKey(bankSigning.privateKeyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: BANK_SIGNING_PASSPHRASE }) as string
  writeFileSync(bankSigningFile, `${bankSigning.chainPem.trim()}\n${encryptedKey}`)
  // The listener's certificate as files, for gateways started as processes.
  const serverCertFile = join(dir, 'server.pem')
  const serverKeyFile = join(dir, 'server-key.pem')
  writeFileSync(serverCertFile, server.chainPem)
  writeFileSync(serverKeyFile, server.privateKeyPem)

  const infra = testInfra()
  const env = {
    ...auth.env,
    LOG_LEVEL: 'warn',
    // Its own Redis database: the counters of a running `make up` gateway and of these tests never mix.
    REDIS_URL: Object.assign(new URL(infra.redisUrl), { pathname: '/8' }).toString(),
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    TLS_CLIENT_CA_FILE: caFile,
    AUTH_JWKS_URL: `${authUrl}/jwks`,
    AUTH_ISSUER: ISSUER,
    ACCESS_TOKEN_AUDIENCE: AUDIENCE,
    CONSENT_URL: consentUrl,
    CONNECTORS_URL: connectorsUrl,
    DIRECTORY_URL: directoryUrl,
    TRAFFIC_URL: 'http://127.0.0.1:9',
    GLOBAL_TPS_DEFAULT: '100000',
    // Load shedding on event-loop delay off (see serviceTestEnv); test/overload.test.ts turns it on where it is under test.
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    EVENT_FLUSH_MS: '50',
    CLIENT_CERT_HEADER: 'x-client-cert',
    TRUSTED_PROXIES: '10.255.255.1',
    BANK_ORGANISATION_ID: BANK_ORG_ID,
    PUBLIC_BASE_URLS: PUBLIC_BASE_URLS.join(','),
    PAYLOAD_SIGNING_CERT_FILE: bankSigningFile,
    PAYLOAD_SIGNING_KEY_FILE: bankSigningFile,
    PAYLOAD_SIGNING_KEY_PASSPHRASE: BANK_SIGNING_PASSPHRASE,
  }
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'gateway-test', logger })
  const publisher = createPublisher(kafka)
  const https = fapiTlsOptions({ cert: server.chainPem, key: server.privateKeyPem, clientCa: ca.chainPem })
  const clock = { offsetMs: 0 }
  const gateways: Array<ComposedGateway & { url: string }> = []

  async function startGateway(extraEnv: Record<string, string> = {}) {
    const config = loadConfig({ ...env, ...extraEnv })
    const g = await composeGateway({ config, logger, kafka, publisher, serviceKeys: { privateKeyPem: auth.pair.privateKeyPem, publicKeys: parsePublicKeys(auth.pair.publicKeyPem) }, https, now: () => Date.now() + clock.offsetMs })
    const url = (await listen(g.app)).replace('http://', 'https://')
    const started = { ...g, url }
    gateways.push(started)
    return started
  }
  async function tpp(name: string, issuingCa: DevCa = ca): Promise<Tpp> {
    const orgId = randomUUID()
    const softwareStatementId = randomUUID()
    const cert = await issueClientCertificate(issuingCa, { orgId, softwareStatementId, cnpj: '11222333000181', commonName: `${name}.tpp.test` })
    orgs.set(orgId, { organisationId: orgId, name, cnpj: '11222333000181', status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] })
    const agent = new Agent({ connect: { cert: cert.chainPem, key: cert.privateKeyPem, ca: ca.chainPem, servername: 'localhost' } })
    const { privateKey: signingKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const kid = `sig-${randomUUID().slice(0, 8)}`
    orgKeys.set(orgId, [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'PS256' }])
    return { orgId, softwareStatementId, clientId: `client-${name}-${randomUUID().slice(0, 6)}`, cert, agent, signingKey, kid }
  }

  const noCertAgent = new Agent({ connect: { ca: ca.chainPem, servername: 'localhost' } })

  async function token(t: Pick<Tpp, 'clientId' | 'cert'>, o: { scope?: string; consentId?: string; exp?: number; key?: CryptoKey; kid?: string; alg?: string; x5t?: string; iss?: string } = {}) {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({
      client_id: t.clientId,
      scope: o.scope ?? `openid accounts consent:${o.consentId ?? 'none'}`,
      ...(o.consentId ? { consent_id: o.consentId } : {}),
      cnf: { 'x5t#S256': o.x5t ?? t.cert.x5tS256 },
    })
      .setProtectedHeader({ alg: o.alg ?? 'PS256', kid: o.kid ?? 'k1', typ: 'at+jwt' })
      .setIssuer(o.iss ?? ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('user-1')
      .setIssuedAt(now - 10)
      .setExpirationTime(o.exp ?? now + 600)
      .setJti(randomUUID())
      .sign(o.key ?? signing.privateKey)
  }

  function consentFor(t: Tpp, overrides: Partial<ConsentLookup> = {}): ConsentLookup {
    const c: ConsentLookup = {
      consentId: `urn:ponte:${randomUUID()}`,
      status: 'AUTHORISED',
      clientId: t.clientId,
      expirationDateTime: ofbDateTime(new Date(Date.now() + 86_400_000)),
      permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'RESOURCES_READ'],
      resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }, { type: 'ACCOUNT', resourceId: 'acc-2' }],
      customer: { cpf: '76109277673' },
      ...overrides,
    }
    consentsById.set(c.consentId, c)
    return c
  }

  async function call(url: string, o: { agent?: Agent; token?: string; interactionId?: string | null; headers?: Record<string, string>; method?: string; body?: string } = {}) {
    const headers: Record<string, string> = { ...o.headers }
    if (o.token) headers.authorization = `Bearer ${o.token}`
    if (o.interactionId !== null) headers['x-fapi-interaction-id'] = o.interactionId ?? randomUUID()
    const res = await request(url, { method: (o.method ?? 'GET') as 'GET', headers, dispatcher: o.agent ?? noCertAgent, ...(o.body !== undefined ? { body: o.body } : {}) })
    const text = await res.body.text()
    let body: unknown = text
    try { body = JSON.parse(text) } catch { /* not JSON */ }
    return { status: res.statusCode, headers: res.headers, body: body as Record<string, unknown> & { errors?: Array<{ code: string }> } }
  }

  return {
    ca, rogueCa, logger, auth, signing, otherKey, consentsById, orgs, seen, connectors, clock, publisher, kafka, payments, orgKeys, bankSigningFile,
    get jwksFetches() { return jwksFetches },
    get participantKeyFetches() { return participantKeyFetches },
    startGateway, tpp, token, consentFor, call,
    /** The environment of a gateway started as a process (`startServiceProcess`) against this world. */
    processEnv: { ...env, TLS_CERT_FILE: serverCertFile, TLS_KEY_FILE: serverKeyFile } as Record<string, string>,
    async close() {
      for (const g of gateways) {
        await g.app.close()
        for (const c of g.closers) await c()
      }
      await publisher.disconnect()
      await Promise.all([authApp.close(), consentApp.close(), connectorsApp.close(), directoryApp.close(), noCertAgent.close()])
    },
  }
}

export type World = Awaited<ReturnType<typeof startWorld>>
export type { PonteServer }
