// The whole platform as separate processes, started the way `make up` starts them (scripts/stack.ts): each service
// is `node --import @ponte/platform/otel src/main.ts` in its folder, with the shared development environment plus the
// service's own `env()` from scripts/stack-services.ts, in the same start groups, each group ready before the next.
// What differs from `make up`, so a run never meets a running stack or another run: free ports (every cross-service
// URL wired to them), fresh schemas, a fresh service-token key pair and a Redis database of its own.
import { Agent, request } from 'undici'
import { loadOrCreateDevPki, type DevPki } from '@ponte/pki'
import { createTppFromParts, deleteTopics, freePorts, repoRoot, startPgBouncer, startServiceProcess, startTcpBalancer, serviceTestEnv, testSchema, testServiceAuth, waitFor, type PgBouncer, type ServiceProcess, type TcpBalancer, type TestSchema, type TestTpp } from '@ponte/testkit'
import { services } from '../../../../scripts/stack-services.ts'

/** The Redis logical database of these runs: counters (global capacity, login throttle) apart from `make up`'s. */
const REDIS_DB = 9

/** A running stack and how to reach it. */
export interface E2eStack {
  pki: DevPki
  /** Public (TLS) addresses, as TPPs and customers reach them. */
  gatewayUrl: string
  /** The gateway's public name in response `links` (PUBLIC_BASE_URL of consent and connectors). */
  linksBaseUrl: string
  authIssuer: string
  sandboxUrl: string
  /** The admin console (plain HTTP on loopback, as under `make up`). */
  adminUrl: string
  /** Every line each process wrote (all instances of the service), for failure reports. */
  output(name: string): string[]
  /** The process ids of the service's instances (their memory is read from /proc). */
  pids(name: string): number[]
  /** The PostgreSQL schema of a service (`sandbox` for the sandbox directory). */
  schema(name: string): string
  /** With `pgbouncer`: the role each service connected as through the pooler. */
  pooledRoles: string[]
  /** With several instances: the balancer in front of each service, by service name. */
  balancers: Map<string, TcpBalancer[]>
  /** Each service's base URL whose `/readyz` tells readiness. */
  readyUrls: Record<string, string>
  /** The schema each service runs in, by service name (and `sandbox` for the directory's sandbox). */
  schemas: Record<string, string>
  /**
   * Stops one service (single instance) with `signal` and starts it again with the same environment and ports,
   * resolving once it is ready. The stop resolves with the process's exit code.
   */
  restart(name: string, signal?: NodeJS.Signals, between?: () => Promise<void>): Promise<void>
  /** Stops every process (SIGTERM, then SIGKILL) and drops every schema. Safe to call after a failed start. */
  stop(): Promise<void>
}

/** Options of {@link startE2eStack}. */
export interface E2eStackOptions {
  /**
   * Instances of every service (default 1). With more, each instance listens on ports of its own and a TCP balancer
   * (round-robin, TLS passed through) takes the service's port, so every URL in the wiring reaches all instances.
   */
  instances?: number
  /** Extra environment for every service process (e.g. OpenTelemetry settings). */
  env?: Record<string, string>
  /**
   * Every service queries PostgreSQL through a private PgBouncer in transaction mode, as its own role (whose
   * `search_path` is its schema), and migrates and listens over the direct URL (docs/decisions/platform-pgbouncer.md).
   */
  pgbouncer?: boolean
  /** How long one process may take to listen and then to be ready (default 60 s each; a loaded machine needs more). */
  startTimeoutMs?: number
  /**
   * Start the services of a group one after the other instead of all at once, and give a process that exits before it
   * is ready a second start: for a machine so loaded that start-up itself times out (single instance only).
   */
  gentleStart?: boolean
  /** Extra environment per service, given the schema names (e.g. connectors on an external core reading its schema). */
  serviceEnv?: (schemas: Record<string, string>) => Promise<Record<string, Record<string, string>>> | Record<string, Record<string, string>>
}

/** Starts directory (with the sandbox), consent, connectors (demo bank), traffic, trace, admin, auth-server and gateway. */
export async function startE2eStack(options: E2eStackOptions = {}): Promise<E2eStack> {
  const instances = options.instances ?? 1
  const startTimeoutMs = options.startTimeoutMs ?? 60_000
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const auth = testServiceAuth()
  const [directory, sandbox, consent, connectors, traffic, authServer, gateway, trace, admin] = await freePorts(9) as [number, number, number, number, number, number, number, number, number]
  const schemas: Record<string, TestSchema> = {
    directory: testSchema('e2e_gw_directory'), sandbox: testSchema('e2e_gw_sandbox'), consent: testSchema('e2e_gw_consent'),
    connectors: testSchema('e2e_gw_core'), traffic: testSchema('e2e_gw_traffic'), 'auth-server': testSchema('e2e_gw_auth'),
    trace: testSchema('e2e_gw_trace'), admin: testSchema('e2e_gw_admin'),
  }
  const local = (port: number) => `http://127.0.0.1:${port}`
  const gatewayUrl = `https://localhost:${gateway}`
  const authIssuer = `https://localhost:${authServer}`
  const sandboxUrl = `https://localhost:${sandbox}`
  // Response links carry the gateway's public name. The specs declare links `format: url`, which needs a dotted host
  // name (`localhost`, `make up`'s default, is not one), so links use a name of the reserved .test domain.
  const linksBaseUrl = `https://gateway.ponte.test:${gateway}`

  // The shared environment of scripts/dev-setup.ts, with this run's key pair and its own Redis database.
  const shared = await serviceTestEnv(auth.env, { redisDb: REDIS_DB })
  // One role per service schema (the sandbox directory, development only, stays on the direct URL).
  let bouncer: PgBouncer | undefined
  const pooled = (name: string): Record<string, string> => {
    const schema = schemas[name]
    if (!bouncer || !schema) return {}
    return { DATABASE_URL: bouncer.url(schema.name), DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: shared.DATABASE_URL! }
  }
  const policyTopic = `test.traffic-policy.${schemas.consent!.name}`
  // Where each service listens and the URLs of its neighbours, on this run's ports.
  const wiring: Record<string, Record<string, string>> = {
    directory: {
      PORT: String(directory), DIRECTORY_SANDBOX_PORT: String(sandbox), DIRECTORY_SANDBOX_HOST: '127.0.0.1',
      DIRECTORY_SANDBOX_DB_SCHEMA: schemas.sandbox!.name, DIRECTORY_SANDBOX_PUBLIC_URL: sandboxUrl,
      AUTH_SERVER_ISSUER: authIssuer, GATEWAY_PUBLIC_URL: gatewayUrl,
    },
    consent: { PORT: String(consent), PUBLIC_BASE_URL: linksBaseUrl },
    // Payments read and consume payment consents; webhooks: the clients' URIs from this run's auth-server, consumers
    // in groups of their own, retries within a test's patience.
    connectors: {
      PORT: String(connectors), PUBLIC_BASE_URL: linksBaseUrl, CONSENT_URL: local(consent), AUTH_SERVER_INTERNAL_URL: authIssuer,
      WEBHOOK_CONSUMER_GROUP: `test.connectors.webhooks.${schemas.connectors!.name}`, WEBHOOK_POLL_MS: '200', WEBHOOK_INITIAL_BACKOFF_MS: '200',
    },
    // A private policy topic: this run's traffic service must not rewrite the one a running `make up` reads.
    traffic: { PORT: String(traffic), TRAFFIC_POLICY_TOPIC: policyTopic },
    // Not on the journey's path, started so that every service runs (and scales out) as under `make up`.
    trace: { PORT: String(trace), PROBE_GATEWAY_URL: gatewayUrl },
    admin: { PORT: String(admin), CONSENT_URL: local(consent), TRAFFIC_URL: local(traffic), DIRECTORY_URL: local(directory), CONNECTORS_URL: local(connectors), TRACE_URL: local(trace), AUTH_SERVER_URL: authIssuer },
    'auth-server': {
      PORT: String(authServer), ISSUER: authIssuer, ACCESS_TOKEN_AUDIENCE: gatewayUrl,
      DIRECTORY_URL: local(directory), CONSENT_URL: local(consent), CONNECTORS_URL: local(connectors),
      JWKS_FETCH_ALLOWED_ORIGINS: sandboxUrl,
      // Every TPP, customer and service of a run is 127.0.0.1, and the fault suite drives journeys back to back: one
      // address stands for all of them. The per-address request limit still counts every request (its Redis script
      // and its Redis-down path run), with budgets a hundred times the defaults (docs/decisions/auth-server-request-limits.md).
      REQUEST_LIMIT_PUBLIC_PER_MIN: '120000', REQUEST_LIMIT_MTLS_PER_MIN: '600000',
    },
    gateway: {
      PORT: String(gateway), AUTH_JWKS_URL: `${authIssuer}/jwks`, AUTH_ISSUER: authIssuer, ACCESS_TOKEN_AUDIENCE: gatewayUrl,
      CONSENT_URL: local(consent), CONNECTORS_URL: local(connectors), DIRECTORY_URL: local(directory), TRAFFIC_URL: local(traffic),
      TRACE_URL: local(trace),
      GATEWAY_INSTANCE_ID: `e2e-${schemas.consent!.name.slice(-12)}`, TRAFFIC_POLICY_TOPIC: policyTopic,
      // The `aud` of signed requests: the endpoint's URL under the gateway's public names of this run.
      PUBLIC_BASE_URLS: `${gatewayUrl},https://127.0.0.1:${gateway}`,
    },
  }
  const readyUrl: Record<string, string> = {
    directory: local(directory), consent: local(consent), connectors: local(connectors), traffic: local(traffic), trace: local(trace), admin: local(admin),
    'auth-server': `https://127.0.0.1:${authServer}`, gateway: `https://127.0.0.1:${gateway}`,
  }
  const schemaNames = Object.fromEntries(Object.entries(schemas).map(([k, v]) => [k, v.name]))
  const extra = options.serviceEnv ? await options.serviceEnv(schemaNames) : {}
  const wanted = services.filter((s) => s.name in wiring)
  const envOf = new Map<string, Record<string, string>>()
  const running = new Map<string, ServiceProcess>()
  const balancers = new Map<string, TcpBalancer[]>()
  const tls = new Agent({ connect: { ca: pki.caBundlePem } })
  // The variables holding a port each instance must listen on by itself (the balancer takes the shared one).
  const portKeys = (name: string) => name === 'directory' ? ['PORT', 'DIRECTORY_SANDBOX_PORT'] : ['PORT']

  const startInstance = async (name: string, env: Record<string, string>, i: number, own: Record<string, string>) => {
    const key = instances > 1 ? `${name}#${i}` : name
    const proc = await startServiceProcess(name, { ...env, ...own, ...(name === 'gateway' ? { GATEWAY_INSTANCE_ID: `${env.GATEWAY_INSTANCE_ID}-${i}` } : {}) }, startTimeoutMs, ['--import', '@ponte/platform/otel'])
    // A restarted process's lines follow the previous one's (one history per service).
    const before = running.get(key)?.output ?? []
    if (before.length) proc.output.unshift(...before)
    running.set(key, proc)
    const ready = own.PORT ? readyUrl[name]!.replace(/:\d+$/, `:${own.PORT}`) : readyUrl[name]!
    await waitFor(async () => {
      const res = await request(`${ready}/readyz`, { dispatcher: tls, signal: AbortSignal.timeout(2_000) })
      await res.body.dump()
      return res.statusCode === 200
    }, { timeoutMs: startTimeoutMs, intervalMs: 200, what: `${key} /readyz` })
  }

  const restart = async (name: string, signal: NodeJS.Signals = 'SIGKILL', between?: () => Promise<void>) => {
    const proc = running.get(name)
    if (!proc || instances > 1) throw new Error(`restart: ${name} is not a single running instance`)
    await proc.stop(signal)
    await between?.()
    await startInstance(name, envOf.get(name)!, 0, {})
  }

  const stop = async () => {
    // All at once, as `make down` does (each leaves its Kafka groups, which takes seconds); SIGKILL past 15 s.
    await Promise.all([...running.values()].map(async (proc) => {
      const killer = setTimeout(() => void proc.stop('SIGKILL'), 15_000)
      await proc.stop('SIGTERM').finally(() => clearTimeout(killer))
    }))
    running.clear()
    for (const list of balancers.values()) for (const b of list) await b.close()
    balancers.clear()
    await bouncer?.stop()
    bouncer = undefined
    await tls.close()
    for (const s of Object.values(schemas)) await s.drop().catch(() => undefined)
    await deleteTopics([policyTopic]).catch(() => undefined)
  }

  try {
    if (options.pgbouncer) {
      bouncer = await startPgBouncer({ roles: Object.fromEntries(Object.entries(schemas).filter(([k]) => k !== 'sandbox').map(([, s]) => [s.name, s.name])) })
      // Tables are created by the owner (migrations over the direct URL); the roles inherit its privileges.
    }
    for (const group of [...new Set(wanted.map((s) => s.group))].sort((a, b) => a - b)) {
      // allSettled: a failed start stops only once every process of the group is known (none is left behind).
      let previous: Promise<void> = Promise.resolve()
      const started = await Promise.allSettled(wanted.filter((s) => s.group === group).flatMap((svc) => {
        const schema = schemas[svc.name]
        const env = {
          ...shared, ...svc.env(shared), HOST: '127.0.0.1', ...(schema ? { DB_SCHEMA: schema.name } : {}), ...pooled(svc.name), ...wiring[svc.name],
          OTEL_SERVICE_NAME: `ponte-${svc.name}`, ...options.env, ...extra[svc.name],
        }
        envOf.set(svc.name, env)
        const start = (i: number, own: Record<string, string>) => options.gentleStart
          ? (previous = previous.then(() => startInstance(svc.name, env, i, own).catch(() => startInstance(svc.name, env, i, own))))
          : startInstance(svc.name, env, i, own)
        if (instances === 1) return [start(0, {})]
        // Each instance on ports of its own; a balancer on each shared port, listening before the instances start.
        const owns = Array.from({ length: instances }, () => ({}) as Record<string, string>)
        const balanced = (async () => {
          for (const k of portKeys(svc.name)) (await freePorts(instances)).forEach((port, i) => { owns[i]![k] = String(port) })
          balancers.set(svc.name, await Promise.all(portKeys(svc.name).map((k) => startTcpBalancer(owns.map((o) => Number(o[k])), Number((env as Record<string, string>)[k])))))
        })()
        return owns.map((own, i) => balanced.then(() => start(i, own)))
      }))
      const failed = started.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    }
  } catch (err) {
    await stop()
    throw err
  }
  const instancesOf = (name: string) => [...running.entries()].filter(([k]) => k === name || k.startsWith(`${name}#`)).map(([, p]) => p)
  const output = (name: string) => instancesOf(name).flatMap((p) => p.output)
  const pids = (name: string) => instancesOf(name).map((p) => p.pid)
  const schema = (name: string) => schemas[name]!.name
  const pooledRoles = options.pgbouncer ? Object.entries(schemas).filter(([k]) => k !== 'sandbox').map(([, s]) => s.name) : []
  return { pki, gatewayUrl, linksBaseUrl, authIssuer, sandboxUrl, adminUrl: local(admin), output, pids, schema, balancers, pooledRoles, schemas: schemaNames, readyUrls: readyUrl, restart, stop }
}

/** A software statement as the sandbox directory's onboarding answers it (the bundle a TPP keeps). */
export interface SandboxSoftwareStatement {
  softwareStatementId: string
  jwksUri: string
  transport: { chainPem: string; privateKeyPem: string }
  signing: { privateJwk: Record<string, unknown> }
  encryption: { privateJwk: Record<string, unknown> }
  /** With webhook URIs: the server certificate of the TPP's webhook host. */
  webhookServer?: { chainPem: string; privateKeyPem: string; hostnames: string[] }
}

/** A TPP onboarded in the stack's sandbox directory and registered at its auth-server. */
export interface OnboardedTpp {
  tpp: TestTpp
  organisationId: string
  statement: SandboxSoftwareStatement
  /** The DCR answer (201). */
  client: Record<string, unknown> & { client_id: string }
}

/**
 * Onboards a TPP in the sandbox directory (organisation, software statement), fetches a fresh SSA over mTLS with its
 * transport certificate, and registers it (DCR) with the statement's redirect and webhook URIs.
 */
export async function onboardTpp(stack: E2eStack, o: { name: string; clientName: string; roles: string[]; redirectUris: string[]; webhookUris: string[] }): Promise<OnboardedTpp> {
  const tls = new Agent({ connect: { ca: stack.pki.caBundlePem } })
  const post = async (path: string, body: unknown) => {
    const res = await request(`${stack.sandboxUrl}${path}`, { method: 'POST', dispatcher: tls, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const json = await res.body.json() as Record<string, unknown>
    if (res.statusCode !== 201) throw new Error(`sandbox ${path} answered ${res.statusCode}: ${JSON.stringify(json)}`)
    return json
  }
  let tpp: TestTpp | undefined
  try {
    const organisationId = String((await post('/sandbox/organisations', { name: o.name, roles: o.roles })).organisationId)
    const statement = await post(`/sandbox/organisations/${organisationId}/softwarestatements`, { clientName: o.clientName, redirectUris: o.redirectUris, webhookUris: o.webhookUris }) as unknown as SandboxSoftwareStatement
    tpp = createTppFromParts({
      orgId: organisationId, softwareId: statement.softwareStatementId, cnpj: '12345678000195', trustPem: stack.pki.caBundlePem, transport: statement.transport,
      signing: { privateJwk: statement.signing.privateJwk, kid: String(statement.signing.privateJwk.kid) },
      encryption: { privateJwk: statement.encryption.privateJwk, kid: String(statement.encryption.privateJwk.kid) },
    })
    const assertion = await tpp.fetch(`${stack.sandboxUrl}/organisations/${organisationId}/softwarestatements/${statement.softwareStatementId}/assertion`)
    const ssa = await assertion.text()
    if (assertion.status !== 200) throw new Error(`SSA: ${assertion.status} ${ssa}`)
    const reg = await tpp.fetch(`${stack.authIssuer}/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ software_statement: ssa, redirect_uris: o.redirectUris, ...(o.webhookUris.length ? { webhook_uris: o.webhookUris } : {}) }),
    })
    const client = await reg.json() as OnboardedTpp['client']
    if (reg.status !== 201) throw new Error(`DCR: ${reg.status} ${JSON.stringify(client)}`)
    return { tpp, organisationId, statement, client }
  } catch (err) {
    await tpp?.close()
    throw err
  } finally {
    await tls.close()
  }
}
