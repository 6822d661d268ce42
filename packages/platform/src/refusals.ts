import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { errorTitle, ofbError, type ErrorCode } from './errors.ts'

/**
 * A refusal written by the server factory itself: an unknown route or method, a schema violation, a framework error
 * raised before any route runs (bad URL encoding, oversized parameter, headers or body, broken framing, wrong
 * content type) or a `DomainError`. A surface whose error language is not the OFB envelope (the OAuth endpoints)
 * writes it in its own shape through {@link RefusalBodyWriter}.
 */
export interface Refusal {
  status: number
  /** The platform code (`docs/errors.md`). */
  code: ErrorCode
  /** The code written in the OFB envelope (the API's own code when a `DomainError` carries one). */
  ofbCode: string
  title: string
  /** Safe to show to the caller. */
  detail: string
  /** The request path without its query, when known (framing errors may come before a path could be read). */
  path: string | undefined
  /** The request method, when known. */
  method?: string | undefined
}

/** Writes the body of a refusal for a surface; `undefined` leaves the OFB envelope. */
export type RefusalBodyWriter = (refusal: Refusal) => unknown

/** The refusal of a platform code with the code's own status and title. */
export function refusalOf(code: ErrorCode, status: number, detail: string, path: string | undefined, ofbCode: string = code, title = errorTitle(code), method?: string): Refusal {
  return { status, code, ofbCode, title, detail, path, method }
}

/** The body of a refusal: the surface's writer when it has one for it, the OFB envelope otherwise. */
export function refusalBody(refusal: Refusal, writer: RefusalBodyWriter | undefined): unknown {
  const own = writer?.(refusal)
  return own !== undefined ? own : ofbError({ code: refusal.ofbCode, title: refusal.title, detail: refusal.detail })
}

/** The path part of a request URL (no query string). */
export function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** Counts the headers named `name` (lower case) as they came on the wire (Node keeps only the first Authorization). */
export function headerCount(req: IncomingMessage, name: string): number {
  const raw = req.rawHeaders
  let n = 0
  for (let i = 0; i < raw.length; i += 2) {
    const h = raw[i]!
    if (h.length === name.length && h.toLowerCase() === name) n++
  }
  return n
}

/**
 * Route patterns by method, to tell "no such path" (404) from "no such method on this path" (405 with `Allow`). Only
 * consulted when no route matched, so it costs nothing on served requests.
 */
export class RouteMethods {
  private readonly patterns: Array<{ method: string; re: RegExp }> = []

  add(method: string | string[], url: string): void {
    const source = url
      .split(/(:[^/]+|\*)/)
      .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('')
    const re = new RegExp(`^${source}$`)
    for (const m of ([] as string[]).concat(method)) this.patterns.push({ method: m.toUpperCase(), re })
  }

  /** The methods some route serves at `path`, sorted; empty when the path is unknown. */
  allowed(path: string): string[] {
    const out = new Set<string>()
    for (const p of this.patterns) if (p.re.test(path)) out.add(p.method)
    if (out.has('GET')) out.add('HEAD')
    return [...out].sort()
  }
}

/** The status of a Node `clientError` (malformed framing, oversized headers, timeouts). */
function clientErrorStatus(code: string | undefined): [number, ErrorCode, string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'INVALID_REQUEST', 'the request was not received in time']
  if (code === 'HPE_INVALID_METHOD') return [400, 'INVALID_REQUEST', 'the request method is not valid HTTP']
  return [400, 'INVALID_REQUEST', 'the request is not valid HTTP/1.1']
}

/**
 * The `clientError` handler: answers a request Node could not parse in the surface's shape, then closes the
 * connection (there is no reliable place to read the next request from).
 */
export function clientErrorHandler(writer: RefusalBodyWriter | undefined) {
  return (error: Error, socket: Socket): void => {
    const err = error as Error & { code?: string; rawPacket?: unknown }
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy()
      return
    }
    const [status, code, detail] = clientErrorStatus(err.code)
    const line = Buffer.isBuffer(err.rawPacket) ? /^([A-Za-z]+) (\/\S*) HTTP\//.exec(err.rawPacket.subarray(0, 8192).toString('latin1')) : null
    endWithRefusal(socket, status, refusalBody(refusalOf(code, status, detail, pathOf(line?.[2]), code, undefined, line?.[1]), writer))
  }
}

/**
 * The `connect` handler: `CONNECT` (a proxy tunnel) is no method of any Ponte API. Node hands it to this event instead
 * of the routes and, with no listener, drops the connection without a word; it is answered 405 in the surface's shape,
 * then the connection closes.
 */
export function connectRefusalHandler(writer: RefusalBodyWriter | undefined) {
  return (req: IncomingMessage, socket: Duplex): void => {
    const path = req.url?.startsWith('/') ? pathOf(req.url) : undefined
    endWithRefusal(socket, 405, refusalBody(refusalOf('METHOD_NOT_ALLOWED', 405, 'CONNECT is not a method of this API', path, 'METHOD_NOT_ALLOWED', undefined, 'CONNECT'), writer))
  }
}

/** Writes a complete JSON refusal on a raw connection, then closes it (destroyed if the peer does not finish). */
function endWithRefusal(socket: Duplex, status: number, refusal: unknown): void {
  const body = JSON.stringify(refusal)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nx-fapi-interaction-id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`)
  setTimeout(() => socket.destroy(), 2_000).unref()
}

/** Largest remainder of an oversized body read (and dropped) before answering 413, and the longest wait for it. */
const DRAIN_MAX_BYTES = 64 * 1_048_576
const DRAIN_MAX_MS = 10_000

/**
 * Reads the rest of an oversized request body and drops it, so the 413 that follows reaches a client still writing
 * (closing a socket with unread data resets it: the client sees EPIPE instead of the answer). Bounded in bytes and
 * time; past either bound the answer goes out anyway.
 */
export function drainRequest(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve()
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > DRAIN_MAX_BYTES) return Promise.resolve()
  return new Promise((resolve) => {
    let seen = 0
    const done = () => {
      clearTimeout(timer)
      req.removeListener('data', onData)
      req.removeListener('end', done)
      req.removeListener('error', done)
      req.removeListener('close', done)
      resolve()
    }
    const onData = (chunk: Buffer) => {
      seen += chunk.length
      if (seen > DRAIN_MAX_BYTES) done()
    }
    const timer = setTimeout(done, DRAIN_MAX_MS)
    timer.unref()
    req.on('data', onData)
    req.once('end', done)
    req.once('error', done)
    req.once('close', done)
    req.resume()
  })
}
