import { DomainError, SERVICE_TOKEN_HEADER, type ServiceTokenIssuer } from '@ponte/platform'
import type { CallerContext } from '@ponte/contracts'
import { Pool } from 'undici'
import { createLru } from './lru.ts'

/** An upstream answer, read whole (regulated payloads are bounded by paging). */
export interface UpstreamResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** The owning service's verdict on the request's `pagination-key` (`x-ponte-pagination-key-status`), when it gave one. */
  paginationKeyStatus?: string
}

/** One forwarded call. */
export interface ForwardRequest {
  service: 'consent' | 'connectors'
  method: string
  /** Path and query, as received. */
  url: string
  headers: Record<string, string>
  body?: Buffer
  /** Builds the caller context (called only when no cached service token fits). */
  context: () => CallerContext
  /** Identity of the context for the service-token cache: the same key must always mean the same context. */
  contextKey: string
}

/** Forwards calls to the owning services over keep-alive pools. */
export interface Upstreams {
  forward(req: ForwardRequest): Promise<UpstreamResponse>
  close(): Promise<void>
  readonly stats: { tokensSigned: number; tokensReused: number }
}

/** Options of {@link createUpstreams}. */
export interface UpstreamOptions {
  baseUrls: Record<'consent' | 'connectors', string>
  issuer: ServiceTokenIssuer
  timeoutMs: number
  /** Keep-alive connections per upstream. */
  connections: number
  /** Lifetime of a signed service token; it is reused for half of it. */
  tokenTtlSeconds: number
  now?: () => number
}

/** Response headers passed back to the TPP. */
const PASS_BACK = ['content-type', 'x-v', 'location', 'cache-control', 'retry-after'] as const

/** Creates the pools. Service tokens carrying the same context are signed once and reused for half their life. */
export function createUpstreams(options: UpstreamOptions): Upstreams {
  const now = options.now ?? Date.now
  const pools = {
    consent: new Pool(options.baseUrls.consent, { connections: options.connections, keepAliveTimeout: 30_000, pipelining: 1 }),
    connectors: new Pool(options.baseUrls.connectors, { connections: options.connections, keepAliveTimeout: 30_000, pipelining: 1 }),
  }
  const prefix = {
    consent: new URL(options.baseUrls.consent).pathname.replace(/\/$/, ''),
    connectors: new URL(options.baseUrls.connectors).pathname.replace(/\/$/, ''),
  }
  const tokens = createLru<string, { token: string; reuseUntil: number }>(20_000)
  const stats = { tokensSigned: 0, tokensReused: 0 }

  async function serviceToken(service: 'consent' | 'connectors', key: string, context: () => CallerContext): Promise<string> {
    const cacheKey = `${service}\u0000${key}`
    const hit = tokens.get(cacheKey)
    const t = now()
    if (hit && hit.reuseUntil > t) {
      stats.tokensReused++
      return hit.token
    }
    const token = await options.issuer.sign(service, context(), options.tokenTtlSeconds)
    stats.tokensSigned++
    tokens.set(cacheKey, { token, reuseUntil: t + (options.tokenTtlSeconds * 1000) / 2 })
    return token
  }

  return {
    stats,
    async forward(req) {
      const token = await serviceToken(req.service, req.contextKey, req.context)
      const headers: Record<string, string> = { ...req.headers, [SERVICE_TOKEN_HEADER]: token }
      try {
        const res = await pools[req.service].request({
          method: req.method as 'GET',
          path: prefix[req.service] + req.url,
          headers,
          ...(req.body && req.body.length > 0 ? { body: req.body } : {}),
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        })
        const body = Buffer.from(await res.body.arrayBuffer())
        const out: Record<string, string> = {}
        for (const name of PASS_BACK) {
          const v = res.headers[name]
          if (typeof v === 'string') out[name] = v
        }
        const pk = res.headers['x-ponte-pagination-key-status']
        return { status: res.statusCode, headers: out, body, ...(typeof pk === 'string' ? { paginationKeyStatus: pk } : {}) }
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          throw new DomainError('GATEWAY_TIMEOUT', `${req.service} did not answer within ${options.timeoutMs} ms`, { cause: err })
        }
        throw new DomainError('UPSTREAM_UNAVAILABLE', `${req.service} is unavailable`, { cause: err })
      }
    },
    async close() {
      await Promise.all([pools.consent.close(), pools.connectors.close()])
    },
  }
}
