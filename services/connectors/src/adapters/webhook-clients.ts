import { Agent, request } from 'undici'
import { ClientWebhookInfo } from '@ponte/contracts'
import { DomainError, SERVICE_TOKEN_HEADER, type ServiceTokenIssuer } from '@ponte/platform'

/** Where a client's webhook URIs come from. */
export interface WebhookClientDirectory {
  /** The client's registered webhook URIs and whether it is active; undefined when the client is unknown (404). */
  find(clientId: string): Promise<ClientWebhookInfo | undefined>
  close(): Promise<void>
}

/** Options of {@link createAuthServerWebhookClients}. */
export interface AuthServerWebhookClientsOptions {
  /** Base URL of the auth-server's internal API. */
  baseUrl: string
  issuer: ServiceTokenIssuer
  /** Trust anchors (PEM) of the auth-server's TLS certificate; default: the system store. */
  ca?: string | undefined
  timeoutMs: number
}

/**
 * Reads `GET /internal/clients/{clientId}/webhook` of the auth-server (audience `auth-server`), which owns client
 * registrations and their `webhook_uris` (docs/regulation/dcr.md#webhook-uris). Any answer but 200 or 404 throws, so
 * the event that asked is redelivered rather than dropped.
 */
export function createAuthServerWebhookClients(options: AuthServerWebhookClientsOptions): WebhookClientDirectory {
  const base = options.baseUrl.replace(/\/$/, '')
  const dispatcher = new Agent({ connections: 8, connect: { ...(options.ca ? { ca: options.ca } : {}), timeout: options.timeoutMs }, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs })
  return {
    async find(clientId) {
      const token = await options.issuer.sign('auth-server')
      let res
      try {
        res = await request(`${base}/internal/clients/${encodeURIComponent(clientId)}/webhook`, {
          method: 'GET', headers: { [SERVICE_TOKEN_HEADER]: token, accept: 'application/json' }, dispatcher, signal: AbortSignal.timeout(options.timeoutMs),
        })
      } catch (err) {
        throw new DomainError('UPSTREAM_UNAVAILABLE', `auth-server unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
      const text = await res.body.text()
      if (res.statusCode === 404) return undefined
      if (res.statusCode !== 200) throw new DomainError('BAD_GATEWAY', `auth-server answered ${res.statusCode} for client ${clientId}'s webhook info`)
      return ClientWebhookInfo.parse(JSON.parse(text))
    },
    close: () => dispatcher.close(),
  }
}
