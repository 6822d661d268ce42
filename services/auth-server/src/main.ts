import { readFileSync } from 'node:fs'
import { topicSettings, topics } from '@ponte/contracts'
import { bootService, createOutboxRelay, createRedis, ensureTopics, loadTls, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { startConsumers } from './adapters/consumers.ts'
import { createKeyStore } from './adapters/key-store.ts'
import { createAttemptThrottle } from './adapters/attempt-throttle.ts'
import { createRequestLimiter, registerRequestLimitMetrics } from './adapters/request-limiter.ts'
import { loginRules, totpRule } from './domain/throttle.ts'
import { createPgAdapter } from './adapters/pg-oidc-adapter.ts'
import { createClientCache } from './adapters/client-cache.ts'
import { createRedisReplayStore } from './adapters/replay-store.ts'
import { createRestrictedFetch } from './adapters/restricted-fetch.ts'
import { createConnectorsPort, createConsentPort, createDirectoryPort } from './adapters/services.ts'
import { createSubjectStore } from './adapters/subjects.ts'
import { presentedCertificate } from './adapters/client-certificate.ts'
import { createProvider } from './provider/configuration.ts'
import { createProviderHolder } from './provider/provider-holder.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const https = orExit(() => loadTls(config.tls))
const { runtime, serviceAuth, issuer } = await bootService(config, new URL('../migrations', import.meta.url))
const { logger } = runtime
for (const warning of config.warnings) logger.warn(`WARNING: ${warning}`)
const pool = runtime.pool!
const redis = runtime.redis!
const kafka = runtime.kafka!

const internal = { issuer, timeoutMs: config.services.timeoutMs }
const directory = createDirectoryPort({ ...internal, baseUrl: config.services.directoryUrl })
const consents = createConsentPort({ ...internal, baseUrl: config.services.consentUrl })
const connectors = createConnectorsPort({ ...internal, baseUrl: config.services.connectorsUrl })
const fetch = createRestrictedFetch({
  allowedOrigins: config.jwksFetch.allowedOrigins,
  ca: config.jwksFetch.caFile ? readFileSync(config.jwksFetch.caFile, 'utf8') : undefined,
})
const certificates = { header: config.proxy.clientCertHeader, trustedProxies: config.proxy.trusted }

const keyStore = createKeyStore(pool, config.masterKey)
const created = await keyStore.ensureKeys()
if (created.length) logger.info({ kids: created }, 'created the initial signing and encryption keys')
const clients = createClientCache(pool, createPgAdapter(pool), { schema: config.db.schema, logger, listenPool: runtime.sessionPool })
await clients.listen().catch((err: unknown) => logger.warn({ err }, 'client change listener not started; clients are read from the database'))
const adapter = clients.adapter
const replay = createRedisReplayStore(redis)
const subjects = createSubjectStore(pool)
const holder = await createProviderHolder(keyStore, (jwks) => createProvider({
  settings: config.oidc, jwks, adapter, fetch, subjects, consents, replay, logger,
  certificate: (ctx) => presentedCertificate(ctx.req, certificates),
}), logger)
holder.start(config.keyReloadIntervalMs)

const subscriptions = await startConsumers({ kafka, pool, logger })
// Client suspensions leave through the outbox (ponte.client.v1); a Kafka outage delays them, the auth-server refuses
// the client at once either way.
let stopping = false
void (async () => {
  for (let waitMs = 1_000; !stopping; waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      await ensureTopics(kafka, [{ topic: config.kafka.clientTopic, ...topicSettings[topics.client] }])
      return
    } catch (err) {
      logger.warn({ err, topic: config.kafka.clientTopic }, 'client topic not ensured yet; retrying')
      await new Promise((r) => setTimeout(r, waitMs).unref())
    }
  }
})()
const relay = createOutboxRelay({ pool, listenPool: runtime.sessionPool, publisher: runtime.publisher!, logger })
const prune = setInterval(() => {
  adapter.pruneExpired().catch((err: unknown) => logger.warn({ err }, 'pruning expired oidc rows failed'))
}, 600_000)
prune.unref()

// The request limit has a Redis client of its own: no retry and a short command timeout, so a hung Redis serves
// requests without the limit instead of holding them (the login throttle and the replay store keep failing closed).
const limitsRedis = createRedis(config.redis.url, logger, { maxRetriesPerRequest: 0, commandTimeoutMs: config.requestLimit.redisTimeoutMs })
const requestLimiter = createRequestLimiter(limitsRedis, { budgets: config.requestLimit.budgets, prefix: 'auth:requests', logger })
registerRequestLimitMetrics(requestLimiter)

const app = buildApp({
  serviceAuth,
  server: { logger, readiness: runtime.readiness, https },
  pool, holder, keys: keyStore, directory, consents, connectors, subjects, fetch, certificates,
  throttle: createAttemptThrottle(redis, { prefix: 'auth:attempts' }),
  requestLimiter,
  loginRules: loginRules(config.login),
  totpRule: totpRule(config.totp),
  offeredScopes: config.oidc.offeredScopes,
  csrfSecret: config.oidc.cookieSecret,
  bankName: config.bankName,
  oidc: { issuer: config.oidc.issuer, accessTokenAudience: config.oidc.accessTokenAudience },
  clientTopic: config.kafka.clientTopic,
})
const address = await runService({
  app,
  host: config.http.host,
  port: config.http.port,
  closers: [
    () => { stopping = true },
    () => relay.stop(),
    () => holder.stop(),
    () => clients.stop(),
    ...subscriptions.map((s) => () => s.stop()),
    () => directory.close(),
    () => consents.close(),
    () => connectors.close(),
    () => fetch.close(),
    () => limitsRedis.quit().catch(() => limitsRedis.disconnect()),
    ...runtime.closers,
  ],
  shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics,
})
logger.info({ address, issuer: config.oidc.issuer }, 'auth-server listening')
