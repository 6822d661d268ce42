import { readFileSync } from 'node:fs'
import { topicSettings, topics } from '@ponte/contracts'
import { bootService, createInternalClient, createOutboxRelay, ensureTopics, orExit, runService } from '@ponte/platform'
import { loadOrCreateDevPki } from '@ponte/pki'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { createAuditStore } from './adapters/audit-store.ts'
import { createCatalogStore } from './adapters/catalog-store.ts'
import { loadCatalog } from './adapters/route-table-file.ts'
import { createLoginThrottle } from './adapters/login-throttle.ts'
import { createSessionStore } from './adapters/sessions.ts'
import { createStaffStore } from './adapters/staff-store.ts'
import { createSsoAccounts, createSsoClient } from './adapters/sso.ts'
import { DEMO_STAFF, DEMO_STAFF_PASSWORD, DEMO_STAFF_TOTP_SECRET } from './domain/demo-staff.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth, issuer } = await bootService(config, new URL('../migrations', import.meta.url))
const pool = runtime.pool!
const redis = runtime.redis!
const clock = { now: () => new Date() }
const staff = createStaffStore(pool)
const audit = createAuditStore(pool, clock)

if (config.seedDemoStaff) {
  runtime.logger.warn('SEED_DEMO_STAFF=true: demo staff accounts with a PUBLIC password exist (README). Never set it in production.')
  for (const u of DEMO_STAFF) await staff.ensure({ ...u, password: DEMO_STAFF_PASSWORD, totpSecret: DEMO_STAFF_TOTP_SECRET })
}

const client = (baseUrl: string, audience: string, ca?: string) => createInternalClient({ baseUrl, audience, issuer, timeoutMs: config.services.timeoutMs, ...(ca ? { ca } : {}) })
// The auth-server listens on TLS only: its CA file, or in development the dev PKI's CA.
let authServerCa: string | undefined
if (config.services.authServerCaFile) authServerCa = readFileSync(config.services.authServerCaFile, 'utf8')
else if (config.allowDevDefaults) {
  authServerCa = (await loadOrCreateDevPki(config.services.devPkiDir)).caBundlePem
  runtime.logger.warn('WARNING: the auth-server client trusts the dev CA; set AUTH_SERVER_CA_FILE before production')
}
const upstream = {
  consent: client(config.services.consentUrl, 'consent'), traffic: client(config.services.trafficUrl, 'traffic'), directory: client(config.services.directoryUrl, 'directory'),
  connectors: client(config.services.connectorsUrl, 'connectors'), trace: client(config.services.traceUrl, 'trace'), authServer: client(config.services.authServerUrl, 'auth-server', authServerCa),
}
// API version changes leave through the outbox: their topic must exist (auto-creation is off on Ponte's brokers).
let stopping = false
void (async () => {
  for (let waitMs = 1_000; !stopping; waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      await ensureTopics(runtime.kafka!, [{ topic: config.catalog.topic, ...topicSettings[topics.apiCatalog] }])
      return
    } catch (err) {
      runtime.logger.warn({ err, topic: config.catalog.topic }, 'API catalog topic not ensured yet; retrying')
      await new Promise((r) => setTimeout(r, waitMs).unref())
    }
  }
})()
const relay = createOutboxRelay({ pool, listenPool: runtime.sessionPool, publisher: runtime.publisher!, logger: runtime.logger })

const app = buildApp({
  serviceAuth,
  // A Kafka outage delays audit events (they wait in the outbox); it does not take the console out of rotation.
  server: { logger: runtime.logger, readiness: runtime.readiness },
  staff,
  audit,
  sessions: createSessionStore(redis, config.sessions),
  throttle: createLoginThrottle(redis, config.throttle),
  upstream,
  catalog: { versions: loadCatalog(config.catalog.routeTableFile), store: createCatalogStore(pool, audit, config.catalog.topic, clock) },
  clock,
  pendingLoginS: config.sessions.pendingS,
  webDir: config.webDir,
  sso: config.sso ? createSsoClient(config.sso, redis) : undefined,
  ssoAccounts: createSsoAccounts(pool),
  dashboardCacheMs: config.dashboardCacheMs,
  keyMaxAgeDays: config.keyMaxAgeDays,
})
const address = await runService({
  app, host: config.http.host, port: config.http.port, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics,
  closers: [() => { stopping = true }, () => relay.stop(), () => upstream.consent.close(), () => upstream.traffic.close(), () => upstream.directory.close(), () => upstream.connectors.close(), () => upstream.trace.close(), () => upstream.authServer.close(), ...runtime.closers],
})
runtime.logger.info({ address }, 'admin listening')
