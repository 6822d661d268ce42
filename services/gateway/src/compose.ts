import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { SecureContextOptions, TlsOptions } from 'node:tls'
import { ApiCatalogEvent, ClientEvent, ConsentEvent, ConsentLookup, DirectoryEvent, OrganisationJwks, OrganisationSummary, PolicyList, TrafficPolicyEvent, topicSettings, topics } from '@ponte/contracts'
import { createInternalClient, createServiceTokenIssuer, createServiceTokenVerifier, ensureTopics, subscribe, type Closer, type EventPublisher, type Kafka, type Logger, type PonteServer, type ReadinessCheck, type Subscription } from '@ponte/platform'
import type { KeyObject } from 'node:crypto'
import { TrustStore } from '@ponte/pki'
import { Agent } from 'undici'
import { buildApp } from './app.ts'
import { createAdmission } from './adapters/admission.ts'
import { createAccessTokenVerifier } from './adapters/access-tokens.ts'
import { createBankSigner, loadPayloadSigningKey, watchPayloadSigningKey } from './adapters/bank-signer.ts'
import { createParticipantKeys } from './adapters/participant-keys.ts'
import { createReplayGuard } from './adapters/replay-guard.ts'
import { createCallEvents, type CallEvents } from './adapters/call-events.ts'
import { createCertificateReader } from './adapters/client-certificates.ts'
import { createConsentCache, type ConsentCache } from './adapters/consent-cache.ts'
import { createLimiter } from './adapters/limiter.ts'
import { registerGatewayMetrics } from './adapters/gateway-metrics.ts'
import { createOpenDataCache } from './adapters/open-data-cache.ts'
import { createOrganisationStatus } from './adapters/organisations.ts'
import { createLimitsRedis } from './adapters/redis-client.ts'
import { createUpstreams } from './adapters/upstream.ts'
import { createPolicyStore, seedPolicies, type PolicyStore } from './domain/limits.ts'
import { parseRouteTable } from './domain/route-table.ts'
import { createOperatorControls, type OperatorControls } from './domain/operator-controls.ts'
import type { Config } from './config.ts'

/** What {@link composeGateway} needs besides the configuration. */
export interface ComposeInput {
  config: Config
  logger: Logger
  kafka: Kafka
  publisher: Pick<EventPublisher, 'sendRaw'>
  serviceKeys: { privateKeyPem: string; publicKeys: KeyObject[] }
  /** TLS listener options (FAPI-BR); plain HTTP when absent (tests of the header path only). */
  https?: TlsOptions & SecureContextOptions
  readiness?: ReadinessCheck[]
  /** Clock for the traffic limits (tests move it across minute boundaries). */
  now?: () => number
}

/** The composed gateway: the app, what tests observe, and what to close at shutdown (in order). */
export interface ComposedGateway {
  app: PonteServer
  consents: ConsentCache
  policies: PolicyStore
  controls: OperatorControls
  events: CallEvents
  subscriptions: Subscription[]
  closers: Closer[]
}

/** Wires the gateway from its configuration: clients, caches, limiter, Kafka subscriptions and the app. */
export async function composeGateway(input: ComposeInput): Promise<ComposedGateway> {
  const { config, serviceKeys } = input
  const log = input.logger
  const kafka = input.kafka
  const routes = parseRouteTable(JSON.parse(readFileSync(new URL('./routes.generated.json', import.meta.url), 'utf8')))
  const instance = config.instanceId ?? `${hostname()}-${process.pid}`
  const authCaFile = config.tokens.caFile ?? (config.allowDevDefaults ? config.tls.clientCaFile : undefined)
  if (!config.tokens.caFile && authCaFile) log.warn({ setting: 'AUTH_CA_FILE' }, 'ALLOW_DEV_DEFAULTS: trusting the client CA bundle for the auth-server JWKS; set AUTH_CA_FILE in production')
  const jwksDispatcher = new Agent({ connect: authCaFile ? { ca: readFileSync(authCaFile) } : {} })
  const trustStore = config.tls.clientCaFile ? await TrustStore.fromFiles([config.tls.clientCaFile]) : new TrustStore()

  const issuer = createServiceTokenIssuer(config.service, serviceKeys.privateKeyPem)
  const consentClient = createInternalClient({ baseUrl: config.services.consent, audience: 'consent', issuer, timeoutMs: 3_000 })
  const directoryClient = createInternalClient({ baseUrl: config.services.directory, audience: 'directory', issuer, timeoutMs: 3_000 })
  const trafficClient = createInternalClient({ baseUrl: config.services.traffic, audience: 'traffic', issuer, timeoutMs: 5_000 })

  const consents = createConsentCache({
    ...config.consents,
    source: (id) => consentClient.find('GET', `/internal/consents/${encodeURIComponent(id)}/lookup`, ConsentLookup),
  })
  const organisations = createOrganisationStatus({
    ...config.organisations,
    logger: log,
    source: (id) => directoryClient.find('GET', `/internal/organisations/${encodeURIComponent(id)}`, OrganisationSummary),
  })
  const signingKey = await loadPayloadSigningKey(config.signed, config.allowDevDefaults, log)
  const signer = createBankSigner({ organisationId: config.signed.bank.organisationId, kid: signingKey.kid, privateKey: signingKey.privateKey })
  // Configured key files are followed, so a rotation needs no restart (the dev key is never rotated in place).
  const { certFile, keyFile, passphrase } = config.signed
  const stopKeyWatch = certFile && keyFile && passphrase ? watchPayloadSigningKey(signer, { certFile, keyFile, passphrase }, config.signed.reloadMs, log) : () => undefined
  const participantKeys = createParticipantKeys({
    maxAgeMs: config.signed.keysMaxAgeMs,
    cooldownMs: config.signed.keysCooldownMs,
    logger: log,
    source: (id, kid) => directoryClient.find('GET', `/internal/organisations/${encodeURIComponent(id)}/jwks${kid ? `?kid=${encodeURIComponent(kid)}` : ''}`, OrganisationJwks),
  })
  // The regulator's endpoints (served by trace) have their own short cache lifetime.
  const regulatorPaths = new Set(routes.filter((r) => r.service === 'trace').map((r) => r.path))
  const policies = createPolicyStore(seedPolicies(routes, config.limits.globalTpsDefault, new Date(), config.regulator.tpmPerIp))
  const redis = createLimitsRedis(config.redis.url, config.redis.timeoutMs, log)
  const events = createCallEvents({ ...config.events, publisher: input.publisher, logger: log })

  let stopped = false
  async function loadPolicies(attempt = 1): Promise<void> {
    if (stopped) return
    try {
      const list = await trafficClient.call('GET', '/internal/policies', PolicyList)
      policies.load(list.policies.map(({ scope: _s, level: _l, floor: _f, ...p }) => p))
      log.info({ policies: list.total }, 'traffic policies loaded')
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), attempt }, 'traffic policies not loaded yet (NFR defaults apply); retrying')
      setTimeout(() => void loadPolicies(attempt + 1), Math.min(attempt * 2_000, 30_000)).unref()
    }
  }
  await loadPolicies()

  // Each replica reads every event: its own consumer groups (fresh per start; the policy topic from the beginning).
  const suffix = randomUUID().slice(0, 8)
  // The staff's switches (API versions off, clients suspended): compacted topics, read from the beginning.
  const controls = createOperatorControls()
  // Their producers (admin, auth-server) may not have run yet; the subscription needs the topics to exist.
  await ensureTopics(kafka, [
    { topic: config.controls.catalogTopic, ...topicSettings[topics.apiCatalog] },
    { topic: config.controls.clientTopic, ...topicSettings[topics.client] },
  ]).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'operator control topics not ensured; the subscriptions retry'))
  const subscriptions = await Promise.all([
    subscribe({ kafka, groupId: `gateway-consents-${instance}-${suffix}`, topic: topics.consent, schema: ConsentEvent, logger: log,
      handler: async (e) => consents.invalidate(e.data.consentId) }),
    subscribe({ kafka, groupId: `gateway-directory-${instance}-${suffix}`, topic: topics.directory, schema: DirectoryEvent, logger: log,
      handler: async (e) => organisations.apply(e) }),
    subscribe({ kafka, groupId: `gateway-policies-${instance}-${suffix}`, topic: config.limits.policyTopic, schema: TrafficPolicyEvent, logger: log, fromBeginning: true,
      handler: async (e) => policies.apply(e) }),
    subscribe({ kafka, groupId: `gateway-catalog-${instance}-${suffix}`, topic: config.controls.catalogTopic, schema: ApiCatalogEvent, logger: log, fromBeginning: true,
      handler: async (e) => controls.apply(e) }),
    subscribe({ kafka, groupId: `gateway-clients-${instance}-${suffix}`, topic: config.controls.clientTopic, schema: ClientEvent, logger: log, fromBeginning: true,
      handler: async (e) => controls.apply(e) }),
  ])

  const upstreams = createUpstreams({
    baseUrls: { consent: config.services.consent, connectors: config.services.connectors, trace: config.services.trace },
    issuer,
    timeoutMs: config.upstream.timeoutMs,
    connections: config.upstream.connections,
    tokenTtlSeconds: config.upstream.serviceTokenTtlS,
  })

  const tokens = createAccessTokenVerifier({ ...config.tokens, dispatcher: jwksDispatcher })
  const limiter = createLimiter({ redis, logger: log, onRedisDown: config.limits.onRedisDown })
  const admission = createAdmission({ ...config.overload, logger: log })
  const unregisterMetrics = registerGatewayMetrics({ tokens, consents, organisations, limiter, events, admission })

  const app = buildApp({
    serviceAuth: createServiceTokenVerifier(config.service, serviceKeys.publicKeys),
    // Kafka and Redis outages degrade (events buffered, limits per LIMITS_ON_REDIS_DOWN) without leaving rotation.
    server: { logger: log, ...(input.https ? { https: input.https } : {}), ...(input.readiness ? { readiness: input.readiness } : {}), trustProxy: config.certificates.trustedProxies.length ? [...config.certificates.trustedProxies] : false },
    routes,
    certificates: createCertificateReader({ trustStore, trustedProxies: config.certificates.trustedProxies, ...(config.certificates.header ? { header: config.certificates.header } : {}) }),
    tokens,
    consents,
    organisations,
    policies,
    limiter,
    upstreams,
    events,
    admission,
    openData: createOpenDataCache(config.openData.ttlMs, undefined, input.now, (path) => (regulatorPaths.has(path) ? config.regulator.cacheTtlMs : undefined)),
    controls,
    signed: {
      participantKeys,
      replay: createReplayGuard(redis),
      signer,
      publicBaseUrls: config.signed.publicBaseUrls,
    },
    ...(input.now ? { now: input.now } : {}),
  })
  await Promise.all(subscriptions.map((s) => s.ready))
  // Disabled API versions and suspended clients live in compacted topics read from the beginning: the gateway starts
  // serving only once it has read what they held, so a version turned off or a client suspended is never served by a
  // gateway that has just started.
  await Promise.all(subscriptions.map((s) => s.caughtUp))
  const closers: Closer[] = [
    () => { stopped = true },
    stopKeyWatch,
    unregisterMetrics,
    () => admission.close(),
    () => Promise.all(subscriptions.map((s) => s.stop())),
    () => events.close(),
    () => upstreams.close(),
    () => Promise.all([consentClient.close(), directoryClient.close(), trafficClient.close(), jwksDispatcher.close()]),
    () => redis.quit().catch(() => redis.disconnect()),
  ]
  return { app, consents, policies, controls, events, subscriptions, closers }
}
