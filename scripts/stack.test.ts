import { afterAll, describe, expect, it } from 'vitest'
import { Agent, request } from 'undici'
import { deleteTopics, runServiceExpectingExit, serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, waitFor, type TestSchema } from '@ponte/testkit'
import { services } from './stack-services.ts'

// Every service, started as its own process the way `make up` starts it, against the real servers: it migrates its
// schema, becomes ready, and stops cleanly on SIGTERM. A bad environment makes it refuse to start.
const auth = testServiceAuth()
const schemas: TestSchema[] = []
const insecure = new Agent({ connect: { rejectUnauthorized: false } })
afterAll(async () => {
  for (const s of schemas) await s.drop()
  await deleteTopics(schemas.map((s) => `test.traffic-policy.${s.name}`))
})

const sharedEnv = () => serviceTestEnv(auth.env)

describe.each(services.map((s) => [s.name, s] as const))('service %s as a process', (name, svc) => {
  it('starts, migrates, reports ready, and stops cleanly on SIGTERM', async () => {
    const shared = await sharedEnv()
    const schema = testSchema(`proc_${name.replace('-', '_')}`)
    schemas.push(schema)
    const env = { ...shared, ...svc.env(shared), ...svc.testEnv?.(schema.name), PORT: '0', HOST: '127.0.0.1', DB_SCHEMA: schema.name }
    const proc = await startServiceProcess(name, env)
    try {
      // Readiness may take a moment (consumers joining their group); it must turn green by itself.
      const body = await waitFor(async () => {
        const res = await request(`${proc.address}/readyz`, { dispatcher: insecure })
        const json = (await res.body.json()) as { status: string }
        return res.statusCode === 200 ? json : undefined
      }, { timeoutMs: 30_000, intervalMs: 250, what: `${name} /readyz` })
      expect(body.status).toBe('ready')
      expect(proc.output.some((l) => l.includes('"level":"info"') && l.includes(`"service":"${name}"`))).toBe(true)
      // Prometheus metrics on the metrics listener it logged (METRICS_PORT=0 in tests).
      const metricsAddress = proc.output.map((l) => /"metricsAddress":"([^"]+)"/.exec(l)?.[1]).find(Boolean)
      expect(metricsAddress, `${name} serves /metrics`).toBeDefined()
      const metrics = await request(`${metricsAddress}/metrics`)
      expect(metrics.statusCode).toBe(200)
      expect(await metrics.body.text()).toContain('nodejs_eventloop_lag_seconds')
    } finally {
      const code = await proc.stop('SIGTERM')
      expect(code).toBe(0)
      expect(proc.output.some((l) => l.includes('"msg":"stopped"'))).toBe(true)
    }
  }, 60_000)

  it('refuses to start with a bad environment, listing every bad key', async () => {
    const shared = await sharedEnv()
    const { code, output } = await runServiceExpectingExit(name, { ...shared, ...svc.env(shared), PORT: 'eighty', LOG_LEVEL: 'loud' })
    expect(code).toBe(1)
    expect(output).toContain('PORT')
    expect(output).toContain('LOG_LEVEL')
  })
})
