import { createServer, type IncomingMessage } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { startServiceProcess, testInfra, testSchema, testServiceAuth, waitFor } from '@ponte/testkit'

// A service started with the platform's OpenTelemetry bootstrap exports spans over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set; this collector stands in for the real one at the HTTP boundary.
describe('OpenTelemetry bootstrap', () => {
  const schema = testSchema('platform_otel')
  afterAll(() => schema.drop())

  it('exports the service\'s spans to the configured OTLP endpoint', async () => {
    const received: Array<{ url: string; type: string; bytes: number }> = []
    const collector = createServer((req: IncomingMessage, res) => {
      let bytes = 0
      req.on('data', (c: Buffer) => { bytes += c.length })
      req.on('end', () => { received.push({ url: req.url ?? '', type: String(req.headers['content-type']), bytes }); res.end('{}') })
    })
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r))
    const port = (collector.address() as { port: number }).port
    const infra = testInfra()
    const proc = await startServiceProcess('admin', {
      ...testServiceAuth().env,
      DATABASE_URL: infra.databaseUrl,
      DB_SCHEMA: schema.name,
      PORT: '0',
      HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'ponte-admin-test',
      METRICS_PORT: '0',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }, 30_000, ['--import', '@ponte/platform/otel'])
    try {
      await fetch(`${proc.address}/healthz`)
      await waitFor(() => received.some((r) => r.url === '/v1/traces' && r.bytes > 0), { timeoutMs: 20_000, what: 'an OTLP trace export' })
      expect(received.find((r) => r.url === '/v1/traces')!.type).toMatch(/json|protobuf/)
    } finally {
      await proc.stop()
      collector.close()
    }
  }, 60_000)
})
