// The whole platform as separate processes, started the way `make up` starts them (scripts/stack.ts): each service
// is `node --import @ponte/platform/otel src/main.ts` in its folder, with the shared development environment plus the
// service's own `env()` from scripts/stack-services.ts, in the same start groups, each group ready before the next.
// What differs from `make up`, so a run never meets a running stack or another run: free ports (every cross-service
// URL wired to them), fresh schemas, a fresh service-token key pair and a Redis database of its own.
import { Agent, request } from 'undici'
import { loadOrCreateDevPki, type DevPki } from '@ponte/pki'
import { deleteTopics, freePorts, repoRoot, startServiceProcess, serviceTestEnv, testSchema, testServiceAuth, waitFor, type ServiceProcess, type TestSchema } from '@ponte/testkit'
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
  /** Every line each process wrote, for failure reports. */
  output(name: string): string[]
  /** Stops every process (SIGTERM, then SIGKILL) and drops every schema. Safe to call after a failed start. */
  stop(): Promise<void>
}

/** Starts directory (with the sandbox), consent, connectors (demo bank), traffic, auth-server and gateway. */
export async function startE2eStack(options: { env?: Record<string, string> } = {}): Promise<E2eStack> {
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const auth = testServiceAuth()
  const [directory, sandbox, consent, connectors, traffic, authServer, gateway] = await freePorts(7) as [number, number, number, number, number, number, number]
  const schemas: Record<string, TestSchema> = {
    directory: testSchema('e2e_gw_directory'), sandbox: testSchema('e2e_gw_sandbox'), consent: testSchema('e2e_gw_consent'),
    connectors: testSchema('e2e_gw_core'), traffic: testSchema('e2e_gw_traffic'), 'auth-server': testSchema('e2e_gw_auth'),
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
  const policyTopic = `test.traffic-policy.${schemas.consent!.name}`
  // Where each service listens and the URLs of its neighbours, on this run's ports.
  const wiring: Record<string, Record<string, string>> = {
    directory: {
      PORT: String(directory), DIRECTORY_SANDBOX_PORT: String(sandbox), DIRECTORY_SANDBOX_HOST: '127.0.0.1',
      DIRECTORY_SANDBOX_DB_SCHEMA: schemas.sandbox!.name, DIRECTORY_SANDBOX_PUBLIC_URL: sandboxUrl,
      AUTH_SERVER_ISSUER: authIssuer, GATEWAY_PUBLIC_URL: gatewayUrl,
    },
    consent: { PORT: String(consent), PUBLIC_BASE_URL: linksBaseUrl },
    connectors: { PORT: String(connectors), PUBLIC_BASE_URL: linksBaseUrl },
    // A private policy topic: this run's traffic service must not rewrite the one a running `make up` reads.
    traffic: { PORT: String(traffic), TRAFFIC_POLICY_TOPIC: policyTopic },
    'auth-server': {
      PORT: String(authServer), ISSUER: authIssuer, ACCESS_TOKEN_AUDIENCE: gatewayUrl,
      DIRECTORY_URL: local(directory), CONSENT_URL: local(consent), CONNECTORS_URL: local(connectors),
      JWKS_FETCH_ALLOWED_ORIGINS: sandboxUrl,
    },
    gateway: {
      PORT: String(gateway), AUTH_JWKS_URL: `${authIssuer}/jwks`, AUTH_ISSUER: authIssuer, ACCESS_TOKEN_AUDIENCE: gatewayUrl,
      CONSENT_URL: local(consent), CONNECTORS_URL: local(connectors), DIRECTORY_URL: local(directory), TRAFFIC_URL: local(traffic),
      GATEWAY_INSTANCE_ID: `e2e-${schemas.consent!.name.slice(-12)}`, TRAFFIC_POLICY_TOPIC: policyTopic,
    },
  }
  const readyUrl: Record<string, string> = {
    directory: local(directory), consent: local(consent), connectors: local(connectors), traffic: local(traffic),
    'auth-server': `https://127.0.0.1:${authServer}`, gateway: `https://127.0.0.1:${gateway}`,
  }
  const wanted = services.filter((s) => s.name in wiring)
  const running = new Map<string, ServiceProcess>()
  const tls = new Agent({ connect: { ca: pki.caBundlePem } })

  const stop = async () => {
    // All at once, as `make down` does (each leaves its Kafka groups, which takes seconds); SIGKILL past 15 s.
    await Promise.all([...running.values()].map(async (proc) => {
      const killer = setTimeout(() => void proc.stop('SIGKILL'), 15_000)
      await proc.stop('SIGTERM').finally(() => clearTimeout(killer))
    }))
    running.clear()
    await tls.close()
    for (const s of Object.values(schemas)) await s.drop().catch(() => undefined)
    await deleteTopics([policyTopic]).catch(() => undefined)
  }

  try {
    for (const group of [...new Set(wanted.map((s) => s.group))].sort((a, b) => a - b)) {
      // allSettled: a failed start stops only once every process of the group is known (none is left behind).
      const started = await Promise.allSettled(wanted.filter((s) => s.group === group).map(async (svc) => {
        const schema = schemas[svc.name]
        const env = {
          ...shared, ...svc.env(shared), HOST: '127.0.0.1', ...(schema ? { DB_SCHEMA: schema.name } : {}), ...wiring[svc.name],
          OTEL_SERVICE_NAME: `ponte-${svc.name}`, ...options.env,
        }
        const proc = await startServiceProcess(svc.name, env, 60_000, ['--import', '@ponte/platform/otel'])
        running.set(svc.name, proc)
        await waitFor(async () => {
          const res = await request(`${readyUrl[svc.name]}/readyz`, { dispatcher: tls, signal: AbortSignal.timeout(2_000) })
          await res.body.dump()
          return res.statusCode === 200
        }, { timeoutMs: 60_000, intervalMs: 200, what: `${svc.name} /readyz` })
      }))
      const failed = started.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { pki, gatewayUrl, linksBaseUrl, authIssuer, sandboxUrl, output: (name) => running.get(name)?.output ?? [], stop }
}
