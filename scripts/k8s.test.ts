import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { parseAllDocuments } from 'yaml'
import { repoRoot, serviceTestEnv, testInfra, testSchema, testServiceAuth, type TestSchema } from '@ponte/testkit'
import { build, generateBase, k8sRoot, k8sServices, strategicMerge } from './k8s.ts'
import { services as stackServices } from './stack-services.ts'

type Obj = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

// The kinds rendered, each validated against the Kubernetes OpenAPI schema (kubernetes-models, no cluster needed).
const models: Record<string, () => Promise<{ validate(): void } & (new (o: Obj) => { validate(): void })>> = {
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap as never,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service as never,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment as never,
  'autoscaling/v2/HorizontalPodAutoscaler': async () => (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler as never,
  'policy/v1/PodDisruptionBudget': async () => (await import('kubernetes-models/policy/v1/PodDisruptionBudget')).PodDisruptionBudget as never,
  'networking.k8s.io/v1/NetworkPolicy': async () => (await import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy')).NetworkPolicy as never,
  'batch/v1/Job': async () => (await import('kubernetes-models/batch/v1/Job')).Job as never,
}

const overlays = ['dev', 'production']

/** What an operator puts in a Secret key, shaped so the service's parsing accepts it (URLs, or 32 random bytes). */
const secretValue = (key: string) => key.endsWith('_URL')
  ? `postgres://ponte@pgbouncer:6432/ponte`
  : randomBytes(32).toString('base64')
const rendered = (path: string) => build(join(k8sRoot, path)) as Obj[]
const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind)

describe('infra/k8s', () => {
  it('the committed base is what scripts/k8s.ts generates (run `node scripts/k8s.ts generate`)', () => {
    for (const [path, text] of generateBase()) expect(readFileSync(join(k8sRoot, 'base', path), 'utf8'), path).toBe(text)
  })

  it('covers every service `make up` starts', () => {
    expect(k8sServices.map((s) => s.name).sort()).toEqual(stackServices.map((s) => s.name).sort())
  })

  describe.each(overlays)('overlay %s', (overlay) => {
    const objs = [...rendered(`overlays/${overlay}`), ...rendered(`overlays/${overlay}/migrate`)]

    it('every rendered object is valid against the Kubernetes schemas', async () => {
      expect(objs.length).toBeGreaterThan(40)
      for (const o of objs) {
        const model = models[`${o.apiVersion}/${o.kind}`]
        expect(model, `${o.apiVersion}/${o.kind} has a schema`).toBeDefined()
        const Model = await model!()
        expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow()
        expect(o.metadata.namespace).toBe(overlay === 'dev' ? 'ponte-dev' : 'ponte')
      }
    })

    it('each service: probes on /readyz and /healthz, limits, non-root read-only, an HPA and a PDB', () => {
      for (const svc of k8sServices) {
        const d = byKind(objs, 'Deployment').find((o) => o.metadata.name === svc.name)!
        const c = d.spec.template.spec.containers[0]
        expect(c.readinessProbe.httpGet.path).toBe('/readyz')
        expect(c.livenessProbe.httpGet.path).toBe('/healthz')
        expect(c.readinessProbe.httpGet.scheme).toBe(svc.tls ? 'HTTPS' : 'HTTP')
        expect(c.resources.requests.cpu && c.resources.limits.memory).toBeTruthy()
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
        expect(c.image).toMatch(overlay === 'dev' ? /^ponte:dev$/ : /^registry\.bank\.example\/ponte:/)
        const hpa = byKind(objs, 'HorizontalPodAutoscaler').find((o) => o.metadata.name === svc.name)!
        expect(hpa.spec.scaleTargetRef.name).toBe(svc.name)
        if (overlay === 'production') expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
        expect(byKind(objs, 'PodDisruptionBudget').some((o) => o.metadata.name === svc.name)).toBe(true)
      }
    })

    it('no secret value in any manifest: secret-looking variables come from Secrets', () => {
      for (const d of [...byKind(objs, 'Deployment'), ...byKind(objs, 'Job')]) {
        for (const c of d.spec.template.spec.containers) {
          for (const e of c.env ?? []) {
            if (/SECRET|MASTER_KEY|PRIVATE_KEY|DATABASE_.*URL|PASSWORD/.test(e.name)) expect(e.valueFrom?.secretKeyRef, `${d.metadata.name} ${e.name}`).toBeDefined()
          }
        }
      }
      for (const cm of byKind(objs, 'ConfigMap')) {
        for (const [k, v] of Object.entries(cm.data as Record<string, string>)) {
          if (/KEY|SECRET/.test(k) && !k.endsWith('_FILE')) expect(v, k).toMatch(/^@\/etc\/ponte\//)
          expect(v, k).not.toMatch(/BEGIN .*PRIVATE KEY|:\/\/[^/@]+:[^/@]+@/)
        }
      }
    })

    it('network policies: default deny; an internal service admits only its callers', () => {
      const pols = byKind(objs, 'NetworkPolicy')
      expect(pols.find((p) => p.metadata.name === 'default-deny')!.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] })
      const from = (name: string) => pols.find((p) => p.metadata.name === name)!.spec.ingress.flatMap((r: Obj) => (r.from ?? []).map((f: Obj) => f.podSelector.matchLabels['app.kubernetes.io/name'])).sort()
      expect(from('consent')).toEqual(['admin', 'auth-server', 'connectors', 'gateway'])
      expect(from('traffic')).toEqual(['admin', 'gateway'])
      expect(from('trace')).toEqual(['admin', 'gateway'])
      expect(from('auth-server')).toEqual([]) // public: anyone on its port
      // The gateway keeps nothing in PostgreSQL: no egress to 5432/6432.
      const gwPorts = pols.find((p) => p.metadata.name === 'gateway')!.spec.egress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port))
      expect(gwPorts).not.toContain(5432)
      expect(gwPorts).toContain(6379)
    })

    it('each Deployment gives its service every setting it requires (its own loadConfig; in production without ALLOW_DEV_DEFAULTS), every file it names mounted', async () => {
      const shared = byKind(objs, 'ConfigMap').find((o) => o.metadata.name === 'ponte-config')!.data as Record<string, string>
      for (const svc of k8sServices) {
        const c = byKind(objs, 'Deployment').find((o) => o.metadata.name === svc.name)!.spec.template.spec.containers[0]
        const env: Record<string, string> = {}
        for (const from of c.envFrom ?? []) if (from.configMapRef?.name === 'ponte-config') Object.assign(env, shared)
        for (const e of c.env ?? []) env[e.name] = e.value ?? secretValue(e.valueFrom.secretKeyRef.key)
        if (overlay === 'production') expect(env.ALLOW_DEV_DEFAULTS, svc.name).toBeUndefined()
        // The service's own parsing and production checks: what `main.ts` would refuse to start with.
        const config = await import(`../services/${svc.name}/src/config.ts`) as { Env: { shape: object }; loadConfig(e: Record<string, string>): unknown }
        expect(() => config.loadConfig(env), svc.name).not.toThrow()
        // No URL left at its development default (this machine): each neighbour is named in the cluster (the sandbox
        // directory is off in production).
        const parsed = (config.Env as unknown as { parse(e: object): Record<string, unknown> }).parse(env)
        for (const [key, v] of Object.entries(parsed)) {
          if (overlay === 'production' && key.endsWith('_URL') && !key.includes('SANDBOX') && typeof v === 'string') expect(v, `${svc.name} ${key}`).not.toMatch(/\/\/(127\.0\.0\.1|localhost)[:/]/)
        }
        // Every file a setting of this service names (`*_FILE`, `*_FILES`, `@/path` values) is inside a mounted volume.
        const mounts = (c.volumeMounts as Obj[]).map((m) => `${String(m.mountPath)}/`)
        for (const key of Object.keys(config.Env.shape)) {
          const v = env[key]
          if (v === undefined) continue
          const files = v.startsWith('@/') ? [v.slice(1)] : key.endsWith('_FILE') ? [v] : key.endsWith('_FILES') || key === 'DIRECTORY_TRUST_ANCHORS' ? v.split(',') : []
          for (const f of files) expect(mounts.some((m) => f.startsWith(m)), `${svc.name} ${key}=${f} is not under a mounted volume`).toBe(true)
        }
      }
    })

    it('the migration Job migrates every schema-owning service with --migrate-only', () => {
      const job = byKind(objs, 'Job')[0]!
      const names = job.spec.template.spec.containers.map((c: Obj) => c.env.find((e: Obj) => e.name === 'SERVICE').value).sort()
      expect(names).toEqual(k8sServices.filter((s) => s.migrates).map((s) => s.name).sort())
      for (const c of job.spec.template.spec.containers) expect(c.command.join(' ')).toContain('--migrate-only')
    })
  })

  it('production puts the gateway and the auth-server on layer-4 load balancers (TLS passes through)', () => {
    const svcs = byKind(rendered('overlays/production'), 'Service')
    for (const name of ['gateway', 'auth-server']) expect(svcs.find((s) => s.metadata.name === name)!.spec.type).toBe('LoadBalancer')
    expect(svcs.find((s) => s.metadata.name === 'consent')!.spec.type).toBeUndefined()
  })

  it('strategic merge: maps merge, named lists merge by name, null deletes', () => {
    expect(strategicMerge({ a: { b: 1, c: 2 }, l: [{ name: 'x', v: 1 }, { name: 'y', v: 2 }] }, { a: { c: null, d: 3 }, l: [{ name: 'y', v: 5 }, { name: 'z', v: 6 }] }))
      .toEqual({ a: { b: 1, d: 3 }, l: [{ name: 'x', v: 1 }, { name: 'y', v: 5 }, { name: 'z', v: 6 }] })
  })

  it('the committed YAML parses as plain kustomize input (no renderer-only fields)', () => {
    for (const path of ['base/kustomization.yaml', 'overlays/dev/kustomization.yaml', 'overlays/production/kustomization.yaml']) {
      const [doc] = parseAllDocuments(readFileSync(join(k8sRoot, path), 'utf8'))
      expect(doc!.toJS()).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' })
    }
  })
})

describe('--migrate-only (the migration Job)', () => {
  const auth = testServiceAuth()
  const schemas: TestSchema[] = []
  afterAll(async () => { for (const s of schemas) await s.drop() })

  it.each(k8sServices.filter((s) => s.migrates).map((s) => [s.name] as const))('%s migrates its schema and exits 0 with only DATABASE_URL', async (name) => {
    const schema = testSchema(`mig_${name.replace('-', '_')}`)
    schemas.push(schema)
    // The service's own environment, as the Job gives it; Kafka and Redis point nowhere: migrating must not need them.
    const shared = await serviceTestEnv(auth.env)
    const svc = stackServices.find((s) => s.name === name)!
    const env = { ...shared, ...svc.env(shared), ...svc.testEnv?.(schema.name), DB_SCHEMA: schema.name, KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' }
    const { code, output } = await runMigrateOnly(name, env)
    expect(output).toContain('migrate-only: schema up to date')
    expect(code).toBe(0)
    const client = new pg.Client({ connectionString: testInfra().databaseUrl })
    await client.connect()
    try {
      const { rows } = await client.query<{ n: string }>('select count(*) as n from information_schema.tables where table_schema = $1 and table_name = $2', [schema.name, 'migrations'])
      expect(Number(rows[0]!.n)).toBe(1)
    } finally { await client.end() }
  })
})

/** `node src/main.ts --migrate-only` in the service's folder, as the Job's command runs it. */
function runMigrateOnly(name: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', '--migrate-only'], { cwd: `${repoRoot}services/${name}`, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c) => { output += String(c) })
    child.stderr.on('data', (c) => { output += String(c) })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} --migrate-only kept running:\n${output}`)) }, 25_000)
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, output }) })
  })
}
