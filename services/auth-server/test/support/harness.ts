// Builds the auth-server on a real TLS listener against the real PostgreSQL and Redis, with its neighbours given as
// base URLs (stand-ins in the service tests, the real services in the end-to-end test).
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer as createHttpsServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Agent, fetch as undiciFetch } from 'undici'
import { SignJWT, type CryptoKey as JoseKey } from 'jose'
import { createPool, createRedis, fapiTlsOptions, migrate, type Logger, type Pool, type PonteServer, type ServiceTokenIssuer, type ServiceTokenVerifier } from '@ponte/platform'
import { issueServerCertificate, type DevCa } from '@ponte/pki'
import { freePort, testInfra, type TestSchema, type TestTpp } from '@ponte/testkit'
import type { Redis } from 'ioredis'
import { buildApp } from '../../src/app.ts'
import { presentedCertificate } from '../../src/adapters/client-certificate.ts'
import { createKeyStore, type KeyStore } from '../../src/adapters/key-store.ts'
import { createAttemptThrottle } from '../../src/adapters/attempt-throttle.ts'
import type { RequestLimiter } from '../../src/adapters/request-limiter.ts'
import { loginRules } from '../../src/domain/throttle.ts'
import { createPgAdapter } from '../../src/adapters/pg-oidc-adapter.ts'
import { createClientCache } from '../../src/adapters/client-cache.ts'
import { createRedisReplayStore } from '../../src/adapters/replay-store.ts'
import { createRestrictedFetch } from '../../src/adapters/restricted-fetch.ts'
import { createConnectorsPort, createConsentPort, createDirectoryPort } from '../../src/adapters/services.ts'
import { createSubjectStore } from '../../src/adapters/subjects.ts'
import { createProvider } from '../../src/provider/configuration.ts'
import { createProviderHolder, type ProviderHolder } from '../../src/provider/provider-holder.ts'

const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url))

/** An HTTPS host serving TPP key sets, as the directory keystore does (`software_jwks_uri`). */
export interface Keystore {
  origin: string
  publish(tpp: TestTpp): string
  server: Server
}

/** Starts the keystore host with a dev-CA server certificate. */
export async function startKeystore(ca: DevCa): Promise<Keystore> {
  const cert = await issueServerCertificate(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] })
  const sets = new Map<string, unknown>()
  const server = createHttpsServer({ cert: cert.chainPem, key: cert.privateKeyPem }, (req, res) => {
    const body = sets.get(req.url ?? '')
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    server,
    publish(tpp) {
      const path = `/${tpp.orgId}/${tpp.softwareId}/application.jwks`
      sets.set(path, tpp.jwks)
      return origin + path
    },
  }
}

/** A software statement as the directory signs it (PS256). */
export async function signSsa(key: JoseKey, tpp: TestTpp, keystore: Keystore, over: Record<string, unknown> = {}, iat = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({
    software_id: tpp.softwareId,
    org_id: tpp.orgId,
    org_name: 'TPP Exemplo',
    software_client_name: 'App Exemplo',
    software_jwks_uri: keystore.publish(tpp),
    software_redirect_uris: ['https://tpp.example.com/cb', 'https://tpp.example.com/cb2'],
    software_statement_roles: [{ role: 'DADOS', authorisation_domain: 'Open Banking', status: 'Active' }, { role: 'PAGTO', status: 'Inactive' }],
    software_api_webhook_uris: ['https://tpp.example.com/webhook'],
    jti: randomUUID(),
    ...over,
  }).setProtectedHeader({ alg: 'PS256', typ: 'JWT', kid: 'directory' }).setIssuer('Open Banking Open Banking Brasil sandbox SSA issuer').setIssuedAt(iat).sign(key)
}

/** The running auth-server of a test. */
export interface AuthServerHarness {
  app: PonteServer
  issuer: string
  pool: Pool
  redis: Redis
  keyStore: KeyStore
  holder: ProviderHolder
  /** Moves the login throttle's clock forward (waits and holds end without waiting for them). */
  throttleClock: { offsetMs: number }
  /** A browser: TLS trusting the dev CA, no client certificate, manual redirects. */
  browserFetch: typeof globalThis.fetch
  close(): Promise<void>
}

/** Options of {@link startAuthServer}. */
export interface HarnessOptions {
  ca: DevCa
  schema: TestSchema
  logger: Logger
  issuer: ServiceTokenIssuer
  verifier: ServiceTokenVerifier
  /** Origins the server may fetch client jwks_uri from (the keystore host, or the sandbox directory). */
  jwksOrigins: string[]
  directoryUrl: string
  consentUrl: string
  connectorsUrl: string
  audience?: string
  /** Seals the stored keys; replicas sharing one schema share it (default: a fresh one). */
  masterKey?: Buffer
  /** Topic of client suspensions (default `ponte.client.v1`). */
  clientTopic?: string
  /**
   * The per-address request limit. None by default: the service tests send their whole matrix from 127.0.0.1, more
   * than one real client would; `test/request-limit.test.ts` passes its own.
   */
  requestLimiter?: RequestLimiter
  /** Addresses trusted to name the client in `X-Forwarded-For` (default none). */
  trustedProxies?: string[]
}

/** Builds and starts the auth-server on https://127.0.0.1:<port>. */
export async function startAuthServer(o: HarnessOptions): Promise<AuthServerHarness> {
  await migrate({ url: o.schema.databaseUrl, schema: o.schema.name, dir: migrationsDir })
  const pool = createPool({ url: o.schema.databaseUrl, schema: o.schema.name })
  const redis = createRedis(testInfra().redisUrl, o.logger)
  const port = await freePort()
  const issuerUrl = `https://127.0.0.1:${port}`
  const serverCert = await issueServerCertificate(o.ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] })
  const keyStore = createKeyStore(pool, o.masterKey ?? randomBytes(32))
  await keyStore.ensureKeys()
  const internal = { issuer: o.issuer, timeoutMs: 5_000 }
  const directory = createDirectoryPort({ ...internal, baseUrl: o.directoryUrl })
  const consents = createConsentPort({ ...internal, baseUrl: o.consentUrl })
  const connectors = createConnectorsPort({ ...internal, baseUrl: o.connectorsUrl })
  const fetch = createRestrictedFetch({ allowedOrigins: o.jwksOrigins, ca: o.ca.chainPem })
  const certificates = { trustedProxies: o.trustedProxies ?? [] }
  const clients = createClientCache(pool, createPgAdapter(pool), { schema: o.schema.name, logger: o.logger })
  await clients.listen()
  const adapter = clients.adapter
  const replay = createRedisReplayStore(redis)
  const subjects = createSubjectStore(pool)
  const cookieSecret = randomBytes(32).toString('base64url')
  const clock = { offsetMs: 0 }
  const settings = {
    issuer: issuerUrl,
    accessTokenAudience: o.audience ?? 'https://127.0.0.1:8443',
    accessTokenTtlS: 300,
    refreshTokenTtlS: 10 * 366 * 86_400,
    discoveryScopes: ['openid', 'consents', 'resources', 'accounts', 'credit-cards-accounts', 'customers', 'invoice-financings', 'financings', 'loans',
      'unarranged-accounts-overdraft', 'bank-fixed-incomes', 'credit-fixed-incomes', 'variable-incomes', 'treasure-titles', 'funds', 'exchanges', 'payments'],
    cookieSecret,
  }
  const holder = await createProviderHolder(keyStore, (jwks) => createProvider({
    settings, jwks, adapter, fetch, subjects, consents, replay, logger: o.logger,
    certificate: (ctx) => presentedCertificate(ctx.req, certificates),
  }), o.logger)
  const app = buildApp({
    server: { logger: o.logger, https: fapiTlsOptions({ cert: serverCert.chainPem, key: serverCert.privateKeyPem, clientCa: o.ca.chainPem }) },
    serviceAuth: o.verifier,
    pool, holder, keys: keyStore, directory, consents, connectors, subjects, fetch, certificates,
    throttle: createAttemptThrottle(redis, { prefix: `test:${o.schema.name}`, now: () => Date.now() + clock.offsetMs }),
    requestLimiter: o.requestLimiter,
    loginRules: loginRules({ maxFailures: 5, holdS: 900, windowS: 900, addressMaxFailures: 100 }),
    offeredScopes: ['openid', 'consents', 'resources', 'accounts', 'credit-cards-accounts', 'customers', 'payments'],
    csrfSecret: cookieSecret,
    bankName: 'Banco Ponte',
    oidc: { issuer: issuerUrl, accessTokenAudience: settings.accessTokenAudience },
    ...(o.clientTopic ? { clientTopic: o.clientTopic } : {}),
  })
  await app.listen({ host: '127.0.0.1', port })
  const browser = new Agent({ connect: { ca: o.ca.chainPem } })
  const browserFetch = ((url: string | URL | Request, init?: RequestInit) =>
    undiciFetch(url as string, { redirect: 'manual', ...(init as object), dispatcher: browser } as never) as unknown as Promise<Response>) as typeof globalThis.fetch
  return {
    app, issuer: issuerUrl, pool, redis, keyStore, holder, browserFetch, throttleClock: clock,
    async close() {
      await app.close()
      await Promise.all([directory.close(), consents.close(), connectors.close(), fetch.close(), browser.close()])
      await clients.stop()
      await redis.quit().catch(() => redis.disconnect())
      await pool.end()
    },
  }
}

/** A minimal browser session: follows the journey's redirects by hand, keeping cookies. */
export class Browser {
  readonly cookies = new Map<string, string>()
  private readonly fetchFn: typeof globalThis.fetch
  constructor(fetchFn: typeof globalThis.fetch) {
    this.fetchFn = fetchFn
  }

  /** A customer's browser on its own connections: TLS trusting `ca`, no client certificate; `close` ends them. */
  static trusting(ca: string): { browser: Browser; close(): Promise<void> } {
    const agent = new Agent({ connect: { ca } })
    const browser = new Browser(((url: string | URL | Request, init?: RequestInit) =>
      undiciFetch(url as string, { redirect: 'manual', ...(init as object), dispatcher: agent } as never) as unknown as Promise<Response>) as typeof globalThis.fetch)
    return { browser, close: () => agent.close() }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string | string[]> } = {}): Promise<{ status: number; location: string | undefined; body: string; headers: Record<string, string> }> {
    const headers: Record<string, string> = {}
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    let body: string | undefined
    if (init.form) {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(init.form)) for (const x of ([] as string[]).concat(v)) params.append(k, x)
      body = params.toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
    }
    const res = await this.fetchFn(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, ...(body ? { body } : {}) })
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const [name, ...value] = pair!.split('=')
      const expired = attrs.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a))
      if (expired) this.cookies.delete(name!.trim())
      else this.cookies.set(name!.trim(), value.join('='))
    }
    const location = res.headers.get('location') ?? undefined
    return { status: res.status, location: location ? new URL(location, url).toString() : undefined, body: await res.text(), headers: Object.fromEntries(res.headers) }
  }

  /** Follows redirects on the authorization server until a page answers or the TPP's redirect URI is reached. */
  async follow(url: string, stopAt: string): Promise<{ status: number; url: string; body: string }> {
    let current = url
    for (let i = 0; i < 10; i++) {
      if (current.startsWith(stopAt)) return { status: 302, url: current, body: '' }
      const res = await this.request(current)
      if (res.status >= 300 && res.status < 400 && res.location) { current = res.location; continue }
      return { status: res.status, url: current, body: res.body }
    }
    throw new Error('too many redirects')
  }
}

/** The value of a hidden input in a page. */
export function formValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!m) throw new Error(`no ${name} field in page`)
  return m[1]!.replace(/&#(\d+);/g, (_s, n: string) => String.fromCharCode(Number(n)))
}

/** The values of the resource checkboxes in the consent page. */
export function checkboxValues(html: string): string[] {
  return [...html.matchAll(/type="checkbox" id="[^"]+" name="resource" value="([^"]*)"/g)].map((m) => m[1]!.replace(/&#(\d+);/g, (_s, n: string) => String.fromCharCode(Number(n))))
}

/** The values of a radio group in a page (e.g. `debtorAccount` on the payment review page). */
export function radioValues(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`type="radio" id="[^"]+" name="${name}" value="([^"]*)"`, 'g'))].map((m) => m[1]!)
}
