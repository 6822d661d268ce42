/**
 * The admin console's API (the real app: session guard, permission table, audit store) on schema `bench_admin` and
 * Redis, in front of the trace server of bench/servers/trace.ts. Creates BENCH_ADMIN_SESSIONS viewer accounts (default
 * 50), one signed-in session each, and prints `{"port":N,"cookies":["__Host-ponte-admin=…",…]}` when listening.
 * Env: BENCH_TRACE_URL (required), BENCH_SERVICE_KEYS (JSON `{ privateKeyPem, publicKeyPem }`, shared with trace),
 * BENCH_DASHBOARD_CACHE_MS (default 5000). Usage: node bench/servers/admin.ts
 */
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import {
  createInternalClient, createLogger, createPool, createRedis, createServiceTokenIssuer, createServiceTokenVerifier, migrate, parsePublicKeys,
} from '@ponte/platform'
import { ensureDatabase, testInfra } from '@ponte/testkit'
import { buildApp } from '../../services/admin/src/app.ts'
import { createAuditStore } from '../../services/admin/src/adapters/audit-store.ts'
import { createCatalogStore } from '../../services/admin/src/adapters/catalog-store.ts'
import { loadCatalog } from '../../services/admin/src/adapters/route-table-file.ts'
import { SESSION_COOKIE } from '../../services/admin/src/adapters/http-security.ts'
import { createLoginThrottle } from '../../services/admin/src/adapters/login-throttle.ts'
import { createSessionStore } from '../../services/admin/src/adapters/sessions.ts'
import { createSsoAccounts } from '../../services/admin/src/adapters/sso.ts'
import { createStaffStore } from '../../services/admin/src/adapters/staff-store.ts'

const count = Number(process.env.BENCH_ADMIN_SESSIONS ?? 50)
const keys = JSON.parse(process.env.BENCH_SERVICE_KEYS!) as { privateKeyPem: string; publicKeyPem: string }
const { databaseUrl, redisUrl } = testInfra()
await ensureDatabase(databaseUrl)
const schema = 'bench_admin'
await migrate({ url: databaseUrl, schema, dir: fileURLToPath(new URL('../../services/admin/migrations', import.meta.url)) })
const pool = createPool({ url: databaseUrl, schema, max: 10 })
const logger = createLogger({ service: 'admin', destination: new Writable({ write(_c, _e, cb) { cb() } }) })
const redis = createRedis(redisUrl, logger)
const prefix = `bench-admin:${process.pid}`
const clock = { now: () => new Date() }
const staff = createStaffStore(pool)
const sessions = createSessionStore(redis, { idleS: 3_600, absoluteS: 28_800, pendingS: 300 }, prefix)

for (let i = 0; i < count; i++) await staff.ensure({ email: `bench-viewer-${i}@bank.test`, name: `Viewer ${i}`, password: 'bench-password-1', roles: ['viewer'] })
const viewers = (await staff.list()).filter((u) => u.email.startsWith('bench-viewer-')).slice(0, count)
const cookies: string[] = []
for (const u of viewers) cookies.push(`${SESSION_COOKIE}=${(await sessions.create(u.userId, '127.0.0.1', Date.now(), false)).token}`)

const issuer = createServiceTokenIssuer('admin', keys.privateKeyPem)
const client = (baseUrl: string, audience: string) => createInternalClient({ baseUrl, audience, issuer, timeoutMs: 10_000, connections: 64 })
const upstream = {
  trace: client(process.env.BENCH_TRACE_URL!, 'trace'),
  consent: client('http://127.0.0.1:9', 'consent'), traffic: client('http://127.0.0.1:9', 'traffic'), directory: client('http://127.0.0.1:9', 'directory'),
  connectors: client('http://127.0.0.1:9', 'connectors'), authServer: client('http://127.0.0.1:9', 'auth-server'),
}
const audit = createAuditStore(pool, clock)
const app = buildApp({
  server: { logger },
  serviceAuth: createServiceTokenVerifier('admin', parsePublicKeys(keys.publicKeyPem)),
  staff, sessions, clock, upstream,
  audit,
  // The API catalog is not exercised here; its store publishes to a topic of the bench's own.
  catalog: { versions: loadCatalog(fileURLToPath(new URL('../../services/gateway/src/routes.generated.json', import.meta.url))), store: createCatalogStore(pool, audit, `bench.api-catalog.${prefix}`, clock) },
  throttle: createLoginThrottle(redis, { perAccount: 5, perAddress: 20, windowS: 900, prefix: `${prefix}:login` }),
  pendingLoginS: 300,
  ssoAccounts: createSsoAccounts(pool),
  dashboardCacheMs: Number(process.env.BENCH_DASHBOARD_CACHE_MS ?? 5_000),
  keyMaxAgeDays: 90,
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port), cookies })}\n`)
process.once('SIGTERM', () => void (async () => {
  await app.close()
  for (const c of Object.values(upstream)) await c.close()
  const left = await redis.keys(`${prefix}:*`)
  if (left.length) await redis.del(...left)
  redis.disconnect()
  await pool.end()
  process.exit(0)
})())
