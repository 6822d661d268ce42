import { bootService, createInternalClient, createOutboxRelay, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { createAuditStore } from './adapters/audit-store.ts'
import { createLoginThrottle } from './adapters/login-throttle.ts'
import { createSessionStore } from './adapters/sessions.ts'
import { createStaffStore } from './adapters/staff-store.ts'
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

const client = (baseUrl: string, audience: string) => createInternalClient({ baseUrl, audience, issuer, timeoutMs: config.services.timeoutMs })
const upstream = { consent: client(config.services.consentUrl, 'consent'), traffic: client(config.services.trafficUrl, 'traffic'), directory: client(config.services.directoryUrl, 'directory') }
const relay = createOutboxRelay({ pool, publisher: runtime.publisher!, logger: runtime.logger })

const app = buildApp({
  serviceAuth,
  // A Kafka outage delays audit events (they wait in the outbox); it does not take the console out of rotation.
  server: { logger: runtime.logger, readiness: runtime.readiness },
  staff,
  audit,
  sessions: createSessionStore(redis, config.sessions),
  throttle: createLoginThrottle(redis, config.throttle),
  upstream,
  clock,
  pendingLoginS: config.sessions.pendingS,
  webDir: config.webDir,
})
const address = await runService({
  app, host: config.http.host, port: config.http.port, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics,
  closers: [() => relay.stop(), () => upstream.consent.close(), () => upstream.traffic.close(), () => upstream.directory.close(), ...runtime.closers],
})
runtime.logger.info({ address }, 'admin listening')
