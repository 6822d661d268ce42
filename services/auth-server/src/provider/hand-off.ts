import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough } from 'node:stream'
import type Provider from 'oidc-provider'

const FORWARDED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded']

/** Koa composes the middleware on every `callback()` call: once per provider instance is enough. */
const handlers = new WeakMap<Provider, ReturnType<Provider['callback']>>()

/**
 * Gives a request to oidc-provider. `X-Forwarded-*` headers are honoured only from trusted proxies (oidc-provider runs
 * with `proxy = true`, so they are deleted from everyone else), and the client-certificate header likewise.
 */
export async function handOff(provider: Provider, req: IncomingMessage, res: ServerResponse, trusted: boolean, certHeader?: string): Promise<void> {
  if (!trusted) {
    for (const h of FORWARDED) delete req.headers[h]
    if (certHeader) delete req.headers[certHeader]
  }
  let handler = handlers.get(provider)
  if (!handler) handlers.set(provider, handler = provider.callback())
  await handler(req, res)
}

/**
 * A copy of `req` whose body is `json` (the registration metadata after the DCR-BR checks), for oidc-provider to
 * read as if the client had sent it. Socket, method, URL and other headers stay those of the original request.
 */
export function withJsonBody(req: IncomingMessage, json: unknown, extra: Record<string, unknown> = {}): IncomingMessage {
  const data = Buffer.from(JSON.stringify(json), 'utf8')
  const copy = new PassThrough() as unknown as IncomingMessage & Record<string, unknown>
  copy.headers = { ...req.headers, 'content-type': 'application/json', 'content-length': String(data.length) }
  delete copy.headers['transfer-encoding']
  copy.rawHeaders = []
  copy.method = req.method
  copy.url = req.url
  copy.httpVersion = req.httpVersion
  copy.httpVersionMajor = req.httpVersionMajor
  copy.httpVersionMinor = req.httpVersionMinor
  Object.defineProperty(copy, 'socket', { value: req.socket })
  Object.defineProperty(copy, 'connection', { value: req.socket })
  Object.assign(copy, extra)
  ;(copy as unknown as PassThrough).end(data)
  return copy
}
