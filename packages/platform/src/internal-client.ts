import { Agent, request } from 'undici'
import type { z } from 'zod'
import { DomainError, type OfbErrorBody } from './errors.ts'
import { SERVICE_TOKEN_HEADER, type ServiceTokenIssuer } from './service-auth.ts'

/** Options of {@link createInternalClient}. */
export interface InternalClientOptions {
  /** Base URL of the target service, e.g. `http://127.0.0.1:3001`. */
  baseUrl: string
  /** The target service's name: the `aud` of the service tokens. */
  audience: string
  issuer: ServiceTokenIssuer
  /** Per-request timeout in ms (default 5 000): a hung dependency answers 504, never a hanging request. */
  timeoutMs?: number
  /** Keep-alive connections to the target (default 32). */
  connections?: number
  /** Trust anchors (PEM) of an `https` target's certificate (default: the system store). */
  ca?: string | undefined
}

/** A call's options. */
export interface InternalCallOptions<C> {
  body?: unknown
  /** Verified caller context to vouch for (`ctx` claim). */
  ctx?: C
  /** Extra headers (e.g. `x-fapi-interaction-id`). */
  headers?: Record<string, string>
  query?: Record<string, string | number | undefined>
}

/** The raw answer of a call, for callers that map statuses themselves. */
export interface InternalResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

/** A typed client of another Ponte service's internal API. */
export interface InternalClient {
  /**
   * Calls `method path` and parses a 2xx body with `schema`. A non-2xx answer throws a {@link DomainError} that keeps
   * the target's status and OFB error code (so a 404 or 422 passes through unchanged); a timeout throws
   * `GATEWAY_TIMEOUT`, an unreachable service `UPSTREAM_UNAVAILABLE`.
   */
  call<S extends z.ZodType, C = unknown>(method: string, path: string, schema: S, options?: InternalCallOptions<C>): Promise<z.output<S>>
  /** As {@link call}, but a 404 answers `undefined`: the lookup of something that may not exist. */
  find<S extends z.ZodType, C = unknown>(method: string, path: string, schema: S, options?: InternalCallOptions<C>): Promise<z.output<S> | undefined>
  /** Calls and returns status, headers and parsed JSON body without interpreting them. */
  raw<C = unknown>(method: string, path: string, options?: InternalCallOptions<C>): Promise<InternalResponse>
  close(): Promise<void>
}

/** Creates a keep-alive client for one target service; every request carries a fresh service token. */
export function createInternalClient(options: InternalClientOptions): InternalClient {
  const timeoutMs = options.timeoutMs ?? 5_000
  const dispatcher = new Agent({ connections: options.connections ?? 32, keepAliveTimeout: 30_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(options.ca ? { connect: { ca: options.ca } } : {}) })
  const base = options.baseUrl.replace(/\/$/, '')

  async function raw<C>(method: string, path: string, o: InternalCallOptions<C> = {}): Promise<InternalResponse> {
    const token = await options.issuer.sign(options.audience, o.ctx)
    const headers: Record<string, string> = { [SERVICE_TOKEN_HEADER]: token, accept: 'application/json', ...o.headers }
    let body: string | undefined
    if (o.body !== undefined) {
      body = JSON.stringify(o.body)
      headers['content-type'] = 'application/json'
    }
    let url = base + path
    if (o.query) {
      const q = new URLSearchParams()
      for (const [k, v] of Object.entries(o.query)) if (v !== undefined) q.set(k, String(v))
      const s = q.toString()
      if (s) url += (url.includes('?') ? '&' : '?') + s
    }
    try {
      const res = await request(url, { method: method as 'GET', headers, body, dispatcher, signal: AbortSignal.timeout(timeoutMs) })
      const text = await res.body.text()
      let parsed: unknown = undefined
      if (text) {
        try { parsed = JSON.parse(text) } catch { parsed = text }
      }
      return { status: res.statusCode, headers: res.headers, body: parsed }
    } catch (err) {
      const name = (err as { name?: string; code?: string }).name
      const code = (err as { code?: string }).code
      if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new DomainError('GATEWAY_TIMEOUT', `${options.audience} did not answer within ${timeoutMs} ms`, { cause: err })
      }
      throw new DomainError('UPSTREAM_UNAVAILABLE', `${options.audience} is unavailable`, { cause: err })
    }
  }

  async function call<S extends z.ZodType, C>(method: string, path: string, schema: S, o?: InternalCallOptions<C>): Promise<z.output<S>> {
    const res = await raw(method, path, o)
    if (res.status >= 200 && res.status < 300) return schema.parse(res.body)
    const first = (res.body as OfbErrorBody | undefined)?.errors?.[0]
    if (res.status >= 500) throw new DomainError('UPSTREAM_UNAVAILABLE', `${options.audience} failed (${res.status})`)
    const code = res.status === 404 ? 'NOT_FOUND' : res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'FORBIDDEN' : res.status === 422 ? 'UNPROCESSABLE_ENTITY' : 'INVALID_REQUEST'
    throw new DomainError(code, first?.detail ?? `${options.audience} answered ${res.status}`, {
      status: res.status,
      ...(first?.code ? { ofbCode: first.code } : {}),
      ...(first?.title ? { title: first.title } : {}),
    })
  }

  return {
    raw,
    call,
    async find(method, path, schema, o) {
      try {
        return await call(method, path, schema, o)
      } catch (err) {
        if (err instanceof DomainError && err.status === 404) return undefined
        throw err
      }
    },
    close: () => dispatcher.close(),
  }
}
