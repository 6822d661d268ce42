import { randomUUID } from 'node:crypto'
import { load, startChild, type BenchResult } from '../lib.ts'

/**
 * Consent creation: `POST /open-banking/consents/v3/consents` on the consent service as the gateway forwards it
 * (gateway service token with the TPP's caller context), against the real PostgreSQL: each request validates the
 * body, writes the consent, its audit entry and its outbox event in one transaction.
 */
export async function run(): Promise<BenchResult> {
  const server = await startChild('consent-lookup.ts')
  try {
    const { port, createToken } = server.info as { port: number; createToken: string }
    const url = `http://127.0.0.1:${port}/open-banking/consents/v3/consents`
    const headers = { 'x-ponte-service-token': createToken, 'x-fapi-interaction-id': randomUUID(), 'content-type': 'application/json' }
    const body = JSON.stringify({ data: {
      loggedUser: { document: { identification: '76109277673', rel: 'CPF' } },
      permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'],
      expirationDateTime: new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    } })
    const warm = await load('warm-up', { url, method: 'POST', body, headers, durationSeconds: 2, connections: 10 })
    if (warm.non2xx) throw new Error(`consent creation answered ${warm.non2xx} non-2xx in the warm-up`)
    const row = await load('create, 20 keep-alive connections', { url, method: 'POST', body, headers, connections: 20, durationSeconds: 8 })
    return {
      title: 'Consent creation (regulated API behind the gateway)',
      description: 'POST /open-banking/consents/v3/consents with a gateway service token carrying the TPP caller context (EdDSA JWT verified per request): ' +
        'body validated, consent + audit entry + outbox event written in one PostgreSQL transaction. 20 keep-alive connections, 8 s closed loop, server in its own process.',
      rows: [row],
    }
  } finally {
    await server.stop()
  }
}
