import { readFileSync } from 'node:fs'
import { issueClientCertificate, loadOrCreateDevPki } from '@ponte/pki'
import { repoRoot } from '@ponte/testkit'
import { load, pct, startChild, type BenchResult } from '../lib.ts'

/**
 * The ceiling and the cost of the shared plumbing: the same "hello" route over TLS with a required client certificate
 * and keep-alive, served by bare fastify and by the platform's server factory.
 */
export async function run(): Promise<BenchResult> {
  const dir = `${repoRoot}.pki`
  const pki = await loadOrCreateDevPki(dir)
  const client = await issueClientCertificate(pki.ca, { orgId: '00000000-0000-4000-8000-000000000001', softwareStatementId: '00000000-0000-4000-8000-000000000002', cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const tlsOptions = { cert: client.chainPem, key: client.privateKeyPem, ca: readFileSync(pki.files.caBundle), rejectUnauthorized: true, servername: 'localhost' }
  const rows = []
  for (const mode of ['bare', 'platform'] as const) {
    const server = await startChild('tls-hello.ts', { args: [mode, dir] })
    try {
      const url = `https://127.0.0.1:${server.info.port}/hello`
      await load('warm-up', { url, tlsOptions, durationSeconds: 2, connections: 10 })
      rows.push(await load(mode === 'bare' ? 'bare fastify, mTLS, keep-alive' : 'platform server factory, FAPI-BR TLS, keep-alive', { url, tlsOptions, connections: 20, durationSeconds: 8 }))
    } finally {
      await server.stop()
    }
  }
  return {
    title: 'Platform overhead: TLS hello with a required client certificate',
    description: 'GET /hello (tiny JSON) over TLS 1.3 with a client certificate, 20 keep-alive connections, 8 s closed loop, server in its own process. ' +
      'Row 1 is the ceiling on this machine; row 2 adds the platform server factory (request id, interaction id, zod provider, error mapper, JSON logs to a sink).',
    rows,
    notes: [`platform / bare: ${pct(rows[1]!.requestsPerSecond, rows[0]!.requestsPerSecond)} of the ceiling's requests/s`],
  }
}
