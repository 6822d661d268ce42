import { randomUUID, type X509Certificate } from 'node:crypto'
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { SERVICE_TOKEN_HEADER, type ServiceTokenVerifier } from '@ponte/platform'
import type { ClientWebhookInfo, ConsentEvent, PaymentEvent } from '@ponte/contracts'

/** A notification as the TPP's receiver saw it. */
export interface Received {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: unknown
  /** The client certificate the bank presented. */
  peer: X509Certificate | undefined
}

/** What a receiver does with a request to `path`: answer a status, or never answer. */
export type Behaviour = (path: string, nth: number) => number | 'hang'

/** A TPP's webhook receiver: an HTTPS server that requires a client certificate from `clientCa`. */
export interface Receiver {
  base: string
  received: Received[]
  close(): Promise<void>
}

export async function startReceiver(o: { chainPem: string; privateKeyPem: string; clientCa: string; behaviour: Behaviour; port?: number }): Promise<Receiver> {
  const received: Received[] = []
  const counts = new Map<string, number>()
  const hanging = new Set<ServerResponse>()
  const server: HttpsServer = createHttpsServer({ cert: o.chainPem, key: o.privateKeyPem, ca: o.clientCa, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = req.url ?? ''
      const nth = (counts.get(path) ?? 0) + 1
      counts.set(path, nth)
      const raw = (req.socket as TLSSocket).getPeerX509Certificate()
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      try { body = JSON.parse(text) } catch { body = text }
      received.push({ path, headers: req.headers, body, peer: raw })
      const answer = o.behaviour(path, nth)
      if (answer === 'hang') {
        hanging.add(res)
        return
      }
      res.writeHead(answer, { 'content-type': 'application/json', ...(answer >= 300 && answer < 400 ? { location: `${path}/moved` } : {}) }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    base: `https://127.0.0.1:${port}`,
    received,
    async close() {
      for (const r of hanging) r.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The auth-server's `GET /internal/clients/{clientId}/webhook`, served from `clients` at the HTTP boundary. */
export interface FakeAuthServer {
  url: string
  clients: Map<string, ClientWebhookInfo>
  calls: string[]
  close(): Promise<void>
}

export async function startFakeAuthServer(verifier: ServiceTokenVerifier): Promise<FakeAuthServer> {
  const clients = new Map<string, ClientWebhookInfo>()
  const calls: string[] = []
  const server: HttpServer = createHttpServer((req, res) => {
    void (async () => {
      const token = req.headers[SERVICE_TOKEN_HEADER]
      try {
        await verifier.verify(typeof token === 'string' ? token : '')
      } catch {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}')
        return
      }
      const m = /^\/internal\/clients\/([^/]+)\/webhook$/.exec(req.url ?? '')
      const id = m ? decodeURIComponent(m[1]!) : undefined
      if (id) calls.push(id)
      const info = id ? clients.get(id) : undefined
      if (req.method !== 'GET' || !info) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info))
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, clients, calls, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) }
}

const envelope = () => ({ id: randomUUID(), source: 'test', occurredAt: new Date(Date.now() - 1_234).toISOString(), version: 1 as const })

/** A `payment.created` or `payment.status-changed` event. */
export function paymentEvent(o: { clientId: string; paymentId?: string; apiVersion?: 'v4' | 'v5'; previousStatus?: 'RCVD' | 'ACCP' | 'ACPD' | 'PDNG' }): PaymentEvent {
  const data = {
    paymentId: o.paymentId ?? randomUUID(), consentId: `urn:ponte:${randomUUID()}`, clientId: o.clientId, organisationId: 'org-tpp',
    apiVersion: o.apiVersion ?? 'v4', endToEndId: 'E1234567820260101120000000000001', statusUpdateDateTime: new Date().toISOString(),
  }
  return o.previousStatus
    ? { ...envelope(), type: 'payment.status-changed', data: { ...data, status: 'ACSC', previousStatus: o.previousStatus } }
    : { ...envelope(), type: 'payment.created', data: { ...data, status: 'RCVD' } }
}

/** A payment consent event (or a data consent's, with `kind: 'data'`). */
export function consentEvent(o: { clientId: string; consentId?: string; type?: 'consent.authorised' | 'consent.extended'; kind?: 'data' | 'payment'; apiVersion?: string }): ConsentEvent {
  const data = { consentId: o.consentId ?? `urn:ponte:${randomUUID()}`, kind: o.kind ?? 'payment', clientId: o.clientId, organisationId: 'org-tpp', apiVersion: o.apiVersion ?? 'v5' }
  return o.type === 'consent.extended'
    ? { ...envelope(), type: 'consent.extended', data }
    : { ...envelope(), type: 'consent.authorised', data: { ...data, resourceIds: [] } }
}
