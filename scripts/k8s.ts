/**
 * Kubernetes manifests of Ponte (infra/k8s): `generate` writes the kustomize base from the table below (one file per
 * service, the network policies, the migration Job); `build <dir>` renders a kustomization the way `kustomize build`
 * does, for the subset the project uses (resources, namespace, labels, images, patches as strategic-merge files).
 * Neither needs a cluster. See infra/k8s/README.md and docs/decisions/infra-kubernetes.md.
 *
 *   node scripts/k8s.ts generate               # rewrite infra/k8s/base/*.yaml (committed; a test checks freshness)
 *   node scripts/k8s.ts build infra/k8s/overlays/production
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments, stringify } from 'yaml'

export const k8sRoot = fileURLToPath(new URL('../infra/k8s/', import.meta.url))

type Obj = Record<string, unknown>

/** What the cluster must let a service reach (besides DNS), by name. */
type Dependency = 'postgres' | 'redis' | 'kafka' | 'external-https'

export interface K8sService {
  name: string
  port: number
  /** TLS listener (client certificates end in Ponte: the load balancer passes TLS through). */
  tls: boolean
  /** Reached from outside the cluster (through the TLS-passthrough load balancer or the ingress controller). */
  public: boolean
  /** Ponte services this one calls (the architecture's arrows). */
  calls: string[]
  uses: Dependency[]
  /** Measured figures and the requests/limits derived from them (infra/k8s/README.md#resources). */
  resources: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string }
  replicas: { min: number; max: number }
  /** Has a PostgreSQL schema to migrate (the gateway keeps nothing in PostgreSQL). */
  migrates: boolean
  env?: Record<string, string>
  /** Secret keys (of the `ponte-secrets` Secret) given as environment variables. */
  secretEnv?: string[]
  /** Secrets mounted as files, besides the service-token keys (see {@link fileSecrets}). */
  mounts?: Array<keyof typeof fileSecrets>
}

/**
 * The Secrets mounted as files, by volume name: the Secret and where it appears (infra/k8s/README.md#secrets-never-in-the-image-never-in-the-manifests).
 */
export const fileSecrets = {
  /** Server certificate and key, client-certificate trust anchors (ICP-Brasil), the internal CA of the auth-server. */
  tls: { secretName: 'ponte-tls', mountPath: '/etc/ponte/tls' },
  /** The bank's payload-signing (BRSEAL) certificate and its encrypted key: the gateway signs payment answers. */
  'payload-signing': { secretName: 'ponte-payload-signing', mountPath: '/etc/ponte/payload-signing' },
  /** The bank's transport (BRCAC) client certificate, presented on webhook deliveries to TPPs. */
  'webhook-client': { secretName: 'ponte-webhook-client', mountPath: '/etc/ponte/webhook-client' },
} as const

/**
 * The services and the architecture's flows (README.md's diagram). Resources: idle RSS measured per process is
 * 135–165 MiB (Node 24, fastify, pg, kafkajs); memory requests sit above it and limits leave room for caches and
 * bursts. CPU from docs/benchmarks.md: the gateway spends about 330 µs per request on its full path (≈ 3 000 req/s
 * per core), the auth-server signs a PS256 token in about 290 µs plus the client assertion's checks.
 */
export const k8sServices: K8sService[] = [
  { name: 'gateway', port: 8443, tls: true, public: true, calls: ['consent', 'connectors', 'directory', 'traffic', 'trace', 'auth-server'], uses: ['redis', 'kafka'],
    resources: { cpuRequest: '1000m', cpuLimit: '2000m', memoryRequest: '384Mi', memoryLimit: '768Mi' }, replicas: { min: 2, max: 20 }, migrates: false,
    env: {
      GATEWAY_WORKERS: '2', SHUTDOWN_DRAIN_DELAY_MS: '5000', AUTH_JWKS_URL: 'https://auth-server:8444/jwks', CONSENT_URL: 'http://consent:3001', CONNECTORS_URL: 'http://connectors:3003', DIRECTORY_URL: 'http://directory:3005', TRAFFIC_URL: 'http://traffic:3002', TRACE_URL: 'http://trace:3004', AUTH_CA_FILE: '/etc/ponte/tls/internal-ca.crt',
      PAYLOAD_SIGNING_CERT_FILE: '/etc/ponte/payload-signing/certificate.pem', PAYLOAD_SIGNING_KEY_FILE: '/etc/ponte/payload-signing/private-key.pem',
    },
    secretEnv: ['PAYLOAD_SIGNING_KEY_PASSPHRASE'], mounts: ['tls', 'payload-signing'] },
  { name: 'auth-server', port: 8444, tls: true, public: true, calls: ['consent', 'connectors', 'directory'], uses: ['postgres', 'redis', 'kafka', 'external-https'],
    resources: { cpuRequest: '1000m', cpuLimit: '2000m', memoryRequest: '320Mi', memoryLimit: '640Mi' }, replicas: { min: 2, max: 10 }, migrates: true,
    env: { CONSENT_URL: 'http://consent:3001', CONNECTORS_URL: 'http://connectors:3003', DIRECTORY_URL: 'http://directory:3005' },
    secretEnv: ['KEYS_MASTER_KEY', 'COOKIE_SECRET'], mounts: ['tls'] },
  { name: 'consent', port: 3001, tls: false, public: false, calls: [], uses: ['postgres', 'kafka'],
    resources: { cpuRequest: '500m', cpuLimit: '1000m', memoryRequest: '256Mi', memoryLimit: '512Mi' }, replicas: { min: 2, max: 10 }, migrates: true },
  // Payment consents from consent at payment time; webhook deliveries to the TPPs over mTLS (external-https), their
  // URIs from the auth-server.
  { name: 'connectors', port: 3003, tls: false, public: false, calls: ['consent', 'auth-server'], uses: ['postgres', 'kafka', 'external-https'],
    resources: { cpuRequest: '500m', cpuLimit: '1000m', memoryRequest: '256Mi', memoryLimit: '512Mi' }, replicas: { min: 2, max: 10 }, migrates: true,
    env: {
      CONSENT_URL: 'http://consent:3001', AUTH_SERVER_INTERNAL_URL: 'https://auth-server:8444', AUTH_SERVER_CA_FILE: '/etc/ponte/tls/internal-ca.crt',
      WEBHOOK_CLIENT_CERT_FILE: '/etc/ponte/webhook-client/tls.crt', WEBHOOK_CLIENT_KEY_FILE: '/etc/ponte/webhook-client/tls.key',
    },
    secretEnv: ['PAGINATION_KEY_SECRET'], mounts: ['tls', 'webhook-client'] },
  { name: 'traffic', port: 3002, tls: false, public: false, calls: [], uses: ['postgres', 'redis', 'kafka'],
    resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '256Mi', memoryLimit: '512Mi' }, replicas: { min: 2, max: 4 }, migrates: true },
  // Serves the regulator's endpoints to the gateway; reads TPP certificate expiry from the directory connector.
  { name: 'trace', port: 3004, tls: false, public: false, calls: ['directory'], uses: ['postgres', 'kafka'],
    resources: { cpuRequest: '250m', cpuLimit: '1000m', memoryRequest: '256Mi', memoryLimit: '512Mi' }, replicas: { min: 2, max: 10 }, migrates: true,
    env: { DIRECTORY_URL: 'http://directory:3005' } },
  { name: 'directory', port: 3005, tls: false, public: false, calls: [], uses: ['postgres', 'kafka', 'external-https'],
    resources: { cpuRequest: '250m', cpuLimit: '1000m', memoryRequest: '256Mi', memoryLimit: '512Mi' }, replicas: { min: 2, max: 6 }, migrates: true,
    env: { DIRECTORY_SANDBOX_ENABLED: 'false', DIRECTORY_TRUST_ANCHORS: '/etc/ponte/tls/ca.crt' }, mounts: ['tls'] },
  // The console's API calls the internal APIs of the pages' owners; single sign-on reaches the bank's OpenID Provider.
  { name: 'admin', port: 3000, tls: false, public: true, calls: ['consent', 'traffic', 'directory', 'connectors', 'trace', 'auth-server'], uses: ['postgres', 'redis', 'kafka', 'external-https'],
    resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '256Mi', memoryLimit: '512Mi' }, replicas: { min: 2, max: 4 }, migrates: true,
    env: {
      CONSENT_URL: 'http://consent:3001', TRAFFIC_URL: 'http://traffic:3002', DIRECTORY_URL: 'http://directory:3005', CONNECTORS_URL: 'http://connectors:3003', TRACE_URL: 'http://trace:3004',
      AUTH_SERVER_URL: 'https://auth-server:8444', AUTH_SERVER_CA_FILE: '/etc/ponte/tls/internal-ca.crt',
    }, mounts: ['tls'] },
]

/** Ports of the servers Ponte uses but does not run in the cluster (managed or operator-run). */
const dependencyPorts: Record<Exclude<Dependency, 'external-https'>, number[]> = {
  // 6432: a PgBouncer in front of PostgreSQL.
  postgres: [5432, 6432],
  // 26379: Redis Sentinel.
  redis: [6379, 26379],
  kafka: [9092],
}

const appLabel = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'ponte' })

function container(svc: K8sService, command?: string[]): Obj {
  const scheme = svc.tls ? 'HTTPS' : 'HTTP'
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: 'http', scheme }, periodSeconds, failureThreshold, timeoutSeconds: 3 })
  const env: Obj[] = [
    { name: 'SERVICE', value: svc.name },
    { name: 'PORT', value: String(svc.port) },
    ...Object.entries(svc.env ?? {}).map(([name, value]) => ({ name, value })),
    // Each service its own database role (through the pooler) and the direct URL for migrations and LISTEN.
    ...['DATABASE_URL', 'DATABASE_DIRECT_URL'].filter(() => svc.uses.includes('postgres')).map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: `ponte-db-${svc.name}`, key } } })),
    ...(svc.secretEnv ?? []).map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: 'ponte-secrets', key } } })),
  ]
  return {
    name: svc.name,
    image: 'ponte',
    ...(command ? { command } : {}),
    ports: [{ name: 'http', containerPort: svc.port }],
    envFrom: [{ configMapRef: { name: 'ponte-config' } }],
    env,
    ...(command ? {} : {
      readinessProbe: probe('/readyz', 5, 3),
      livenessProbe: probe('/healthz', 10, 6),
      startupProbe: probe('/healthz', 2, 60),
    }),
    resources: { requests: { cpu: svc.resources.cpuRequest, memory: svc.resources.memoryRequest }, limits: { cpu: svc.resources.cpuLimit, memory: svc.resources.memoryLimit } },
    securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'service-token', mountPath: '/etc/ponte/service-token', readOnly: true },
      ...(svc.mounts ?? []).map((name) => ({ name, mountPath: fileSecrets[name].mountPath, readOnly: true })),
    ],
  }
}

function volumes(svc: K8sService): Obj[] {
  return [
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    { name: 'service-token', secret: { secretName: 'ponte-service-token', defaultMode: 0o440 } },
    ...(svc.mounts ?? []).map((name) => ({ name, secret: { secretName: fileSecrets[name].secretName, defaultMode: 0o440 } })),
  ]
}

const podSecurity = { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } }

function serviceObjects(svc: K8sService): Obj[] {
  const labels = appLabel(svc.name)
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: svc.name, labels },
    spec: {
      replicas: svc.replicas.min,
      selector: { matchLabels: { 'app.kubernetes.io/name': svc.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          // SIGTERM drains in-flight requests within SHUTDOWN_TIMEOUT_MS (10 s); the pod gets a little more.
          terminationGracePeriodSeconds: 20,
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': svc.name } } }],
          containers: [container(svc)],
          volumes: volumes(svc),
        },
      },
    },
  }
  const service = {
    apiVersion: 'v1', kind: 'Service', metadata: { name: svc.name, labels },
    spec: { selector: { 'app.kubernetes.io/name': svc.name }, ports: [{ name: 'http', port: svc.port, targetPort: 'http', protocol: 'TCP' }] },
  }
  const hpa = {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: svc.name, labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: svc.name },
      minReplicas: svc.replicas.min, maxReplicas: svc.replicas.max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  }
  const pdb = {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: svc.name, labels },
    spec: { minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': svc.name } } },
  }
  return [deployment, service, hpa, pdb]
}

const dnsEgress = { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }

/** One policy per service: ingress only from its callers (or from outside when public), egress only to what it uses. */
function networkPolicies(): Obj[] {
  const byName = new Map(k8sServices.map((s) => [s.name, s]))
  const defaultDeny = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }
  const policies: Obj[] = [defaultDeny]
  for (const svc of k8sServices) {
    const callers = k8sServices.filter((s) => s.calls.includes(svc.name)).map((s) => s.name)
    const ingress = svc.public
      ? [{ ports: [{ protocol: 'TCP', port: svc.port }] }]
      : callers.length ? [{ from: callers.map((c) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': c } } })), ports: [{ protocol: 'TCP', port: svc.port }] }] : []
    const egress: Obj[] = [dnsEgress]
    for (const callee of svc.calls) egress.push({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': callee } } }], ports: [{ protocol: 'TCP', port: byName.get(callee)!.port }] })
    for (const dep of svc.uses) {
      if (dep === 'external-https') egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] })
      else egress.push({ ports: dependencyPorts[dep].map((port) => ({ protocol: 'TCP', port })) })
    }
    policies.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: svc.name, labels: appLabel(svc.name) },
      spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': svc.name } }, policyTypes: ['Ingress', 'Egress'], ingress, egress },
    })
  }
  policies.push({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'migrate', labels: appLabel('migrate') },
    spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'migrate' } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [dnsEgress, { ports: dependencyPorts.postgres.map((port) => ({ protocol: 'TCP', port })) }] },
  })
  return policies
}

/** Every schema migrated before a rollout: one container per service, each `--migrate-only` (then exits 0). */
function migrateJob(): Obj {
  const migrating = k8sServices.filter((s) => s.migrates)
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'ponte-migrate', labels: appLabel('migrate') },
    spec: {
      backoffLimit: 3,
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels: appLabel('migrate') },
        spec: {
          restartPolicy: 'OnFailure',
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          // Each container gets its service's whole environment (its configuration is checked before migrating);
          // `--migrate-only` migrates over DATABASE_DIRECT_URL (PostgreSQL itself: the lock is a session advisory lock).
          containers: migrating.map((svc) => {
            const c = container({ ...svc, resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '192Mi', memoryLimit: '384Mi' } },
              ['sh', '-c', 'cd services/$SERVICE && exec node src/main.ts --migrate-only'])
            delete c.ports
            return c
          }),
          volumes: [...new Map(migrating.flatMap(volumes).map((v) => [v.name, v])).values()],
        },
      },
    },
  }
}

const header = '# Generated by `node scripts/k8s.ts generate` from scripts/k8s.ts; edit there, not here.\n'
const toYaml = (objs: Obj[]) => header + objs.map((o) => stringify(o, { lineWidth: 0 })).join('---\n')

/** The base's files, by path under infra/k8s/base. */
export function generateBase(): Map<string, string> {
  const files = new Map<string, string>()
  for (const svc of k8sServices) files.set(`${svc.name}.yaml`, toYaml(serviceObjects(svc)))
  files.set('network-policies.yaml', toYaml(networkPolicies()))
  files.set('migrate/job.yaml', toYaml([migrateJob()]))
  return files
}

// --- a kustomize build for the subset used here -------------------------------------------------------------------

interface Kustomization {
  resources?: string[]
  namespace?: string
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean }>
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>
  patches?: Array<{ path: string }>
}

const supported = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches'])

function readYamlDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`)
    return d.toJS() as Obj
  }).filter((o) => o && typeof o === 'object')
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Strategic merge for the cases used here: maps merge; lists of maps with `name` merge item by item; other lists replace. */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (isObj(target) && isObj(patch)) {
    const out: Obj = { ...target }
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k]
      else out[k] = k in out ? strategicMerge(out[k], v) : v
    }
    return out
  }
  if (Array.isArray(target) && Array.isArray(patch) && patch.every((p) => isObj(p) && typeof p.name === 'string')) {
    const out = [...target]
    for (const p of patch as Obj[]) {
      const i = out.findIndex((t) => isObj(t) && t.name === p.name)
      if (i >= 0) out[i] = strategicMerge(out[i], p)
      else out.push(p)
    }
    return out
  }
  return patch
}

function setImages(node: unknown, images: NonNullable<Kustomization['images']>): void {
  if (Array.isArray(node)) { for (const n of node) setImages(n, images); return }
  if (!isObj(node)) return
  if (Array.isArray(node.containers)) {
    for (const c of node.containers as Obj[]) {
      const [name] = String(c.image).split(/[:@]/)
      const rule = images.find((i) => i.name === name)
      if (rule) c.image = `${rule.newName ?? name}${rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : ''}`
    }
  }
  for (const v of Object.values(node)) setImages(v, images)
}

/** Renders a kustomization directory into its objects (the `kustomize build` output for the supported fields). */
export function build(dir: string): Obj[] {
  const file = join(dir, 'kustomization.yaml')
  const k = readYamlDocs(file)[0] as Kustomization
  for (const key of Object.keys(k)) if (!supported.has(key)) throw new Error(`${file}: field ${key} is not supported by this renderer`)
  let objs: Obj[] = []
  for (const r of k.resources ?? []) {
    const path = resolve(dir, r)
    if (!existsSync(path)) throw new Error(`${file}: resource ${r} not found`)
    objs.push(...(statSync(path).isDirectory() ? build(path) : readYamlDocs(path)))
  }
  for (const p of k.patches ?? []) {
    for (const patch of readYamlDocs(resolve(dir, p.path))) {
      const meta = patch.metadata as Obj
      const i = objs.findIndex((o) => o.kind === patch.kind && (o.metadata as Obj).name === meta.name)
      if (i < 0) throw new Error(`${file}: patch ${p.path} targets ${String(patch.kind)}/${String(meta.name)}, which is not in the resources`)
      objs[i] = strategicMerge(objs[i], patch) as Obj
    }
  }
  if (k.namespace) objs = objs.map((o) => ({ ...o, metadata: { ...(o.metadata as Obj), namespace: k.namespace } }))
  for (const l of k.labels ?? []) {
    for (const o of objs) {
      const meta = o.metadata as Obj
      meta.labels = { ...(meta.labels as Obj | undefined), ...l.pairs }
      const tmpl = (o.spec as Obj | undefined)?.template as Obj | undefined
      if (tmpl) { const tm = (tmpl.metadata ?? {}) as Obj; tm.labels = { ...(tm.labels as Obj | undefined), ...l.pairs }; tmpl.metadata = tm }
    }
  }
  if (k.images) setImages(objs, k.images)
  return objs
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, arg] = process.argv.slice(2)
  if (cmd === 'generate') {
    for (const [path, text] of generateBase()) {
      const target = join(k8sRoot, 'base', path)
      if (!existsSync(dirname(target))) throw new Error(`missing folder ${dirname(target)}`)
      writeFileSync(target, text)
      console.log(`wrote infra/k8s/base/${path}`)
    }
  } else if (cmd === 'build' && arg) {
    process.stdout.write(build(resolve(arg)).map((o) => stringify(o, { lineWidth: 0 })).join('---\n'))
  } else {
    console.error('usage: node scripts/k8s.ts generate | build <kustomization dir>')
    process.exit(2)
  }
}
