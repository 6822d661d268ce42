import { load, startChild, type BenchResult } from '../lib.ts'

/**
 * The gateway's consent lookup: `GET /internal/consents/{id}/lookup` on the consent service (plain HTTP, internal
 * network), with a gateway service token, against the real PostgreSQL, warm (no cache in front: every request verifies
 * the EdDSA token and reads the consent by primary key).
 */
export async function run(): Promise<BenchResult> {
  const server = await startChild('consent-lookup.ts')
  try {
    const { port, consentId, token } = server.info as { port: number; consentId: string; token: string }
    const url = `http://127.0.0.1:${port}/internal/consents/${encodeURIComponent(consentId)}/lookup`
    const headers = { 'x-ponte-service-token': token }
    await load('warm-up', { url, headers, durationSeconds: 2, connections: 10 })
    const row = await load('lookup, 20 keep-alive connections', { url, headers, connections: 20, durationSeconds: 8 })
    return {
      title: 'Consent lookup (gateway hot path, internal API)',
      description: 'GET /internal/consents/{id}/lookup with a gateway service token (EdDSA JWT verified per request), one authorised consent ' +
        'in PostgreSQL read by primary key, response validated by the zod contract. 20 keep-alive connections, 8 s closed loop, server in its own process.',
      rows: [row],
    }
  } finally {
    await server.stop()
  }
}
