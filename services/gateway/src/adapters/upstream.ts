import { DomainError, SERVICE_TOKEN_HEADER, type ServiceTokenIssuer } from '@ponte/platform'
import type { CallerContext } from '@ponte/contracts'
import { Pool, type Dispatcher } from 'undici'

/** An upstream answer, read whole (regulated payloads are bounded by paging). */
export interface UpstreamResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** The owning service's verdict on the request's `pagination-key` (`x-ponte-pagination-key-status`), when it gave one. */
  paginationKeyStatus?: string
}

/** The services the gateway forwards regulated calls to. */
export type UpstreamService = 'consent' | 'connectors' | 'trace'

/** One forwarded call. */
export interface ForwardRequest {
  service: UpstreamService
  method: string
  /** Path and query, as received. */
  url: string
  /** Headers to send (the service token is added to this object). */
  headers: Record<string, string>
  body?: Buffer
  /** Builds the caller context (called only when no cached service token fits). */
  context: () => CallerContext
  /**
   * Identity of the context for the service-token cache: tokens are kept per `contextOwner` (held weakly: the verified
   * access token's facts, so they go when it leaves its cache) and `contextKey` within it; the same pair must always
   * mean the same context.
   */
  contextOwner: object
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
  baseUrls: Record<UpstreamService, string>
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
/** Service tokens kept per context owner; beyond this many variants (consent state changes) the owner's set restarts. */
const MAX_VARIANTS = 16

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/**
 * One request through `pool`, the body read whole. A bare dispatch handler: no response stream, no async-resource
 * bookkeeping, the chunks concatenated once (a single-chunk body is passed on as it came).
 */
function dispatchWhole(pool: Pool, opts: Dispatcher.DispatchOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let status = 0
    let headers: RawResponse['headers'] = {}
    const chunks: Buffer[] = []
    let size = 0
    pool.dispatch(opts, {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, h) {
        if (statusCode < 200) return
        status = statusCode
        headers = h as RawResponse['headers']
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk)
        size += chunk.length
      },
      onResponseEnd() {
        resolve({ status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) })
      },
      onResponseError(_controller, err) {
        reject(err)
      },
    })
  })
}

/** Creates the pools. Service tokens carrying the same context are signed once and reused for half their life. */
export function createUpstreams(options: UpstreamOptions): Upstreams {
  const now = options.now ?? Date.now
  const services = Object.keys(options.baseUrls) as UpstreamService[]
  const pools = Object.fromEntries(services.map((s) => [s, new Pool(options.baseUrls[s], { connections: options.connections, keepAliveTimeout: 30_000, pipelining: 1 })])) as Record<UpstreamService, Pool>
  const prefix = Object.fromEntries(services.map((s) => [s, new URL(options.baseUrls[s]).pathname.replace(/\/$/, '')])) as Record<UpstreamService, string>
  const tokens = new WeakMap<object, Map<string, { token: string; reuseUntil: number }>>()
  const stats = { tokensSigned: 0, tokensReused: 0 }

  async function sign(service: UpstreamService, req: ForwardRequest, cacheKey: string, t: number): Promise<string> {
    const token = await options.issuer.sign(service, req.context(), options.tokenTtlSeconds)
    stats.tokensSigned++
    let own = tokens.get(req.contextOwner)
    if (!own || own.size >= MAX_VARIANTS) tokens.set(req.contextOwner, (own = new Map()))
    own.set(cacheKey, { token, reuseUntil: t + (options.tokenTtlSeconds * 1000) / 2 })
    return token
  }

  return {
    stats,
    async forward(req) {
      const service = req.service
      const cacheKey = service === 'connectors' ? req.contextKey : `${service}|${req.contextKey}`
      const t = now()
      const hit = tokens.get(req.contextOwner)?.get(cacheKey)
      let token: string
      if (hit && hit.reuseUntil > t) {
        stats.tokensReused++
        token = hit.token
      } else {
        token = await sign(service, req, cacheKey, t)
      }
      const headers = req.headers
      headers[SERVICE_TOKEN_HEADER] = token
      try {
        const res = await dispatchWhole(pools[service], {
          method: req.method as 'GET',
          path: prefix[service] + req.url,
          headers,
          ...(req.body && req.body.length > 0 ? { body: req.body } : {}),
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        })
        const body = res.body
        const out: Record<string, string> = {}
        for (const name of PASS_BACK) {
          const v = res.headers[name]
          if (typeof v === 'string') out[name] = v
        }
        const pk = res.headers['x-ponte-pagination-key-status']
        return { status: res.status, headers: out, body, ...(typeof pk === 'string' ? { paginationKeyStatus: pk } : {}) }
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          throw new DomainError('GATEWAY_TIMEOUT', `${service} did not answer within ${options.timeoutMs} ms`, { cause: err })
        }
        throw new DomainError('UPSTREAM_UNAVAILABLE', `${service} is unavailable`, { cause: err })
      }
    },
    async close() {
      await Promise.all(services.map((s) => pools[s].close()))
    },
  }
}
