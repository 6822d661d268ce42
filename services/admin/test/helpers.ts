import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createInternalClient, createPool, createRedis, migrate, type PonteServer, type Pool, type Redis } from '@ponte/platform'
import { testInfra, testLogger, testSchema, testServiceAuth } from '@ponte/testkit'
import { buildApp, type AppDeps } from '../src/app.ts'
import { createAuditStore, type AuditStore } from '../src/adapters/audit-store.ts'
import { createCatalogStore } from '../src/adapters/catalog-store.ts'
import { loadCatalog } from '../src/adapters/route-table-file.ts'
import { CSRF_HEADER, PENDING_COOKIE, SESSION_COOKIE } from '../src/adapters/http-security.ts'
import { createLoginThrottle } from '../src/adapters/login-throttle.ts'
import { createSessionStore, type SessionTimeouts } from '../src/adapters/sessions.ts'
import { createStaffStore, type StaffStore, type StaffUser } from '../src/adapters/staff-store.ts'
import type { Role } from '../src/domain/roles.ts'
import { currentTotp } from '../src/domain/totp.ts'

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url))
export const PASSWORD = 'correct-horse-7-battery'

/** A clock the test moves by hand. */
export function manualClock(start = new Date()) {
  let t = start.getTime()
  return { now: () => new Date(t), advance: (ms: number) => { t += ms } }
}

/** Options of {@link startAdmin}. */
export interface StartAdminOptions {
  consentUrl?: string
  trafficUrl?: string
  directoryUrl?: string
  connectorsUrl?: string
  traceUrl?: string
  authServerUrl?: string
  /** Trust anchors of the auth-server's TLS certificate. */
  authServerCa?: string
  /** The service-token key pair shared with the upstream services started by the test. */
  auth?: ReturnType<typeof testServiceAuth>
  timeouts?: Partial<SessionTimeouts>
  throttle?: { perAccount?: number; perAddress?: number }
  /** The Kafka topic of API version changes (default: one of the test's own). */
  catalogTopic?: string
  /** Serve the built browser app from this directory. */
  webDir?: string
}

/**
 * The admin app on its own PostgreSQL schema and its own Redis key prefix, with a manual clock. Upstream services
 * default to an address nothing listens on. `close()` drops everything.
 */
export async function startAdmin(options: StartAdminOptions = {}) {
  const schema = testSchema('admin')
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
  const pool: Pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 10 })
  const { logger, lines } = testLogger('admin-test')
  const redis: Redis = createRedis(testInfra().redisUrl, logger)
  const prefix = `admin-test:${randomBytes(6).toString('hex')}`
  const clock = manualClock()
  const auth = options.auth ?? testServiceAuth()
  const issuer = auth.issuer('admin')
  const staff: StaffStore = createStaffStore(pool)
  const audit: AuditStore = createAuditStore(pool, clock)
  const timeouts: SessionTimeouts = { idleS: 900, absoluteS: 28_800, pendingS: 300, ...options.timeouts }
  const sessions = createSessionStore(redis, timeouts, prefix)
  const throttle = createLoginThrottle(redis, { perAccount: 5, perAddress: 20, windowS: 900, ...options.throttle, prefix: `${prefix}:login-failures` })
  const upstream = {
    consent: createInternalClient({ baseUrl: options.consentUrl ?? 'http://127.0.0.1:9', audience: 'consent', issuer, timeoutMs: 5_000 }),
    traffic: createInternalClient({ baseUrl: options.trafficUrl ?? 'http://127.0.0.1:9', audience: 'traffic', issuer, timeoutMs: 5_000 }),
    directory: createInternalClient({ baseUrl: options.directoryUrl ?? 'http://127.0.0.1:9', audience: 'directory', issuer, timeoutMs: 5_000 }),
    connectors: createInternalClient({ baseUrl: options.connectorsUrl ?? 'http://127.0.0.1:9', audience: 'connectors', issuer, timeoutMs: 5_000 }),
    trace: createInternalClient({ baseUrl: options.traceUrl ?? 'http://127.0.0.1:9', audience: 'trace', issuer, timeoutMs: 5_000 }),
    authServer: createInternalClient({ baseUrl: options.authServerUrl ?? 'http://127.0.0.1:9', audience: 'auth-server', issuer, timeoutMs: 5_000, ca: options.authServerCa }),
  }
  const catalogTopic = options.catalogTopic ?? `test.api-catalog.${randomBytes(4).toString('hex')}`
  const catalog = { versions: loadCatalog(fileURLToPath(new URL('../../gateway/src/routes.generated.json', import.meta.url))), store: createCatalogStore(pool, audit, catalogTopic, clock) }
  const deps: AppDeps = { server: { logger }, serviceAuth: auth.verifier('admin'), staff, audit, sessions, throttle, upstream, clock, catalog, pendingLoginS: timeouts.pendingS, ...(options.webDir ? { webDir: options.webDir } : {}) }
  const app: PonteServer = buildApp(deps)
  await app.ready()

  let n = 0
  /** Creates a staff member with these roles (the store enrols TOTP when they can change something). */
  async function user(roles: Role[], extra: { totpSecret?: string } = {}): Promise<StaffUser> {
    n++
    return staff.create({ email: `staff${n}-${roles.join('-') || 'none'}@bank.test`, name: `Staff ${n}`, password: PASSWORD, roles, ...extra })
  }

  /** Runs the full login (password, then the current TOTP code when asked) and answers the cookie and CSRF token. */
  async function login(u: StaffUser, address = '10.0.0.1'): Promise<{ cookie: string; csrf: string; headers: Record<string, string> }> {
    const first = await app.inject({ method: 'POST', url: '/api/session/login', payload: { email: u.email, password: PASSWORD }, remoteAddress: address })
    if (first.statusCode !== 200) throw new Error(`login failed: ${first.statusCode} ${first.body}`)
    let res = first
    if (first.json().status === 'totp_required') {
      const pending = cookieValue(first.headers['set-cookie'], PENDING_COOKIE)!
      res = await app.inject({
        method: 'POST', url: '/api/session/totp', payload: { code: currentTotp(u.totpSecret!, clock.now()) },
        headers: { cookie: `${PENDING_COOKIE}=${pending}` }, remoteAddress: address,
      })
      if (res.statusCode !== 200) throw new Error(`totp failed: ${res.statusCode} ${res.body}`)
      // Each TOTP step is accepted once per account; move past it so the next login of the same member works.
      clock.advance(90_000)
    }
    const cookie = `${SESSION_COOKIE}=${cookieValue(res.headers['set-cookie'], SESSION_COOKIE)!}`
    const csrf = res.json().csrfToken as string
    return { cookie, csrf, headers: { cookie, [CSRF_HEADER]: csrf } }
  }

  return {
    app, deps, pool, redis, clock, staff, audit, sessions, schema, prefix, lines, user, login,
    async close() {
      await app.close()
      await upstream.consent.close()
      await upstream.traffic.close()
      await upstream.directory.close()
      await upstream.connectors.close()
      await upstream.trace.close()
      await upstream.authServer.close()
      const keys = await redis.keys(`${prefix}:*`)
      if (keys.length) await redis.del(...keys)
      redis.disconnect()
      await pool.end()
      await schema.drop()
    },
  }
}

/** The value of cookie `name` among `Set-Cookie` headers. */
export function cookieValue(setCookie: string | string[] | undefined, name: string): string | undefined {
  for (const c of [setCookie ?? []].flat()) {
    const [pair] = c.split(';')
    const eq = pair!.indexOf('=')
    if (pair!.slice(0, eq) === name) return pair!.slice(eq + 1)
  }
  return undefined
}

/** The full `Set-Cookie` line of cookie `name`. */
export function cookieLine(setCookie: string | string[] | undefined, name: string): string | undefined {
  return [setCookie ?? []].flat().find((c) => c.startsWith(`${name}=`))
}
