import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { SecureContextOptions, TlsOptions } from 'node:tls'
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type FastifyError } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { DomainError, type ErrorCode } from './errors.ts'
import { isDatabaseUnavailable } from './db.ts'
import { clientErrorHandler, connectRefusalHandler, drainRequest, headerCount, pathOf, refusalBody, refusalOf, RouteMethods, type RefusalBodyWriter } from './refusals.ts'
import type { Logger } from './logger.ts'
import { instrumentHttp } from './http-metrics.ts'
import { instrumentTracing } from './tracing.ts'

/** A dependency check run by `/readyz`. It throws (or rejects) when the dependency is not usable. */
export interface ReadinessCheck {
  name: string
  check: () => Promise<unknown>
  /** Milliseconds before the check counts as failed. Default 2 000. */
  timeoutMs?: number
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  logger: Logger
  /** Checks that must all pass for `/readyz` to answer 200. */
  readiness?: ReadinessCheck[]
  /** TLS listener options (see `fapiTlsOptions`); plain HTTP when absent. */
  https?: TlsOptions & SecureContextOptions
  /** Largest accepted body in bytes. Default 1 MiB. */
  bodyLimit?: number
  /** Whether to trust `X-Forwarded-*` from these addresses (fastify `trustProxy`). Default none. */
  trustProxy?: FastifyServerOptions['trustProxy']
  /**
   * Writes refusals in the surface's own shape (e.g. RFC 6749 `{ error, error_description }` on OAuth endpoints),
   * including those the framework makes before a route runs; `undefined` from it keeps the OFB envelope.
   */
  refusalBody?: RefusalBodyWriter
  /** Extra fastify options (advanced). */
  fastify?: Partial<FastifyServerOptions>
  /** Whether to observe every route's latency in the process metrics (`/metrics`, see `startMetricsListener`). Default true. */
  httpMetrics?: boolean
}

const draining = new WeakSet<object>()

/**
 * Starts draining a server before it closes: `/readyz` and `/healthz` answer 503 so load balancers take it out of
 * rotation, and every answer carries `connection: close` so clients move their keep-alive connections elsewhere,
 * while requests are still served in full.
 */
export function beginDrain(app: PonteServer): void {
  draining.add(app)
}

/** The fastify instance every Ponte service uses, with zod schemas as the type provider. */
export type PonteServer = FastifyInstance<Server | HttpsServer, IncomingMessage, ServerResponse, Logger, ZodTypeProvider>

const interactionKey = Symbol('ponte.interactionId')
/** On a request answered by a {@link DomainError}: the level of its access line (a chosen refusal is not a fault). */
const refusalLevelKey = Symbol('ponte.refusalLevel')
type RefusalLevel = 'silent' | 'warn' | 'info'
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const REQUEST_ID_RE = /^[\w.:-]{1,128}$/

/** Whether a value is a valid `x-fapi-interaction-id` (RFC 4122 UUID, docs/regulation/data-apis.md#interaction-id). */
export function isInteractionId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 36 && UUID_RE.test(value)
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's `x-fapi-interaction-id`: the caller's when valid, otherwise a generated one. */
    interactionId: string
    /** Whether the caller sent a valid `x-fapi-interaction-id` (protected routes answer 400 otherwise). */
    interactionIdValid: boolean
  }
}

function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 400: return 'INVALID_REQUEST'
    case 401: return 'UNAUTHORIZED'
    case 403: return 'FORBIDDEN'
    case 404: return 'NOT_FOUND'
    case 405: return 'METHOD_NOT_ALLOWED'
    case 406: return 'NOT_ACCEPTABLE'
    case 409: return 'CONFLICT'
    case 413: return 'PAYLOAD_TOO_LARGE'
    case 414: return 'URI_TOO_LONG'
    case 415: return 'UNSUPPORTED_MEDIA_TYPE'
    case 422: return 'UNPROCESSABLE_ENTITY'
    case 429: return 'TOO_MANY_REQUESTS'
    case 431: return 'HEADERS_TOO_LARGE'
    case 503: return 'SERVICE_UNAVAILABLE'
    case 504: return 'GATEWAY_TIMEOUT'
    default: return status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST'
  }
}

/**
 * Builds a fastify server with the platform's shared plumbing: JSON logs with request id and interaction id, zod
 * validation and serialisation, the single error mapper writing the OFB error envelope, `/healthz` and `/readyz`,
 * and a shutdown flag that turns readiness red while in-flight requests drain. It never listens.
 */
export function createServer(options: ServerOptions): PonteServer {
  const writer = options.refusalBody
  const body = (code: ErrorCode, status: number, detail: string, path: string | undefined, method?: string) =>
    refusalBody(refusalOf(code, status, detail, path, code, undefined, method), writer)
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1_048_576,
    trustProxy: options.trustProxy ?? false,
    requestIdHeader: false,
    // One child logger per request that carries both the request id and the interaction id.
    childLoggerFactory: (logger, bindings, childOptions, rawReq) => {
      const req = rawReq as IncomingMessage & { [interactionKey]?: [string, boolean] }
      const given = req.headers['x-fapi-interaction-id']
      const valid = isInteractionId(given)
      const id = valid ? given : randomUUID()
      req[interactionKey] = [id, valid]
      return logger.child({ ...bindings, interactionId: id }, childOptions)
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 500 },
    // Refusals made before any route runs speak the surface's language too (docs/errors.md).
    clientErrorHandler: clientErrorHandler(writer),
    frameworkErrors: (err, req, reply) => {
      const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400
      const detail = status === 414 ? 'a path parameter is too long' : 'the URL is not valid percent-encoding'
      req.log.info({ code: err.code }, 'request refused')
      const given = req.headers['x-fapi-interaction-id']
      void (reply as FastifyReply).code(status).header('x-fapi-interaction-id', isInteractionId(given) ? given : randomUUID()).header('cache-control', 'no-store')
        .send(body(statusToCode(status), status, detail, pathOf(req.raw.url), req.method))
    },
    ...(options.https ? { https: options.https } : {}),
    ...options.fastify,
  }).withTypeProvider<ZodTypeProvider>() as unknown as PonteServer

  app.server.on('connect', connectRefusalHandler(writer))
  if (options.httpMetrics !== false) instrumentHttp(app as never)
  instrumentTracing(app as never)
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  let closing = false
  const stopping = () => closing || draining.has(app)
  app.decorateRequest('interactionId', '')
  app.decorateRequest('interactionIdValid', false)

  const routeMethods = new RouteMethods()
  app.addHook('onRoute', (route) => { routeMethods.add(route.method, route.url) })

  app.addHook('onRequest', (req, reply, done) => {
    const [id, valid] = (req.raw as IncomingMessage & { [interactionKey]?: [string, boolean] })[interactionKey] ?? [randomUUID(), false]
    req.interactionId = id
    req.interactionIdValid = valid
    reply.header('x-fapi-interaction-id', id)
    // Two credentials are never guessed between (the first one is all Node keeps): refuse the request.
    if (headerCount(req.raw, 'authorization') > 1) {
      done(new DomainError('INVALID_REQUEST', 'more than one Authorization header'))
      return
    }
    done()
  })

  // One access line per request (a callback-style hook: cheaper than an async one on the hot path).
  app.addHook('onResponse', (req, reply, done) => {
    if (req.url !== '/healthz' && req.url !== '/readyz') {
      const line = { method: req.method, url: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }
      const refused = (req as FastifyRequest & { [refusalLevelKey]?: RefusalLevel })[refusalLevelKey]
      if (refused === 'silent') { /* counted by whoever refused it */ }
      else if (reply.statusCode >= 500) req.log[refused === 'warn' ? 'warn' : 'error'](line, 'request completed')
      else req.log.info(line, 'request completed')
    }
    done()
  })

  app.setNotFoundHandler((req, reply) => {
    const path = pathOf(req.url)!
    const allowed = routeMethods.allowed(path)
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      reply.code(405).header('allow', allowed.join(', ')).send(body('METHOD_NOT_ALLOWED', 405, `${req.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, path, req.method))
      return
    }
    reply.code(404).send(body('NOT_FOUND', 404, `no route for ${req.method} ${path}`, path, req.method))
  })

  app.setErrorHandler(async (err: FastifyError | DomainError, req, reply) => {
    const path = pathOf(req.url)
    if (err instanceof DomainError) {
      // A refusal the code chose, not a fault: its own stack says nothing, its cause (an upstream's error) may.
      const tagged: FastifyRequest & { [refusalLevelKey]?: RefusalLevel } = req
      tagged[refusalLevelKey] = err.quiet ? 'silent' : err.status >= 500 ? 'warn' : 'info'
      if (err.quiet) { /* counted by whoever refused it */ }
      else if (err.status >= 500) req.log.warn({ code: err.code, detail: err.message, ...(err.cause === undefined ? {} : { err: err.cause }) }, 'request refused')
      else req.log.info({ code: err.code, detail: err.message }, 'request refused')
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v)
      return reply.code(err.status).send(refusalBody(refusalOf(err.code, err.status, err.message, path, err.ofbCode, err.title, req.method), writer))
    }
    const fe = err as FastifyError
    if (fe.validation) {
      const detail = fe.validation.map((v) => `${fe.validationContext ?? 'request'}${v.instancePath || ''} ${v.message ?? ''}`.trim()).join('; ')
      req.log.info({ detail }, 'request refused')
      return reply.code(400).send(body('INVALID_PARAMETER', 400, detail, path, req.method))
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500
    if (status === 413) {
      // Answer 413 and close, after reading what the client is still sending (else it sees a reset, not the answer).
      req.log.info({ code: fe.code }, 'request refused')
      await drainRequest(req.raw)
      return reply.code(413).header('connection', 'close').send(body('PAYLOAD_TOO_LARGE', 413, 'the request body is too large', path, req.method))
    }
    if (status < 500) {
      req.log.info({ code: fe.code, detail: fe.message }, 'request refused')
      return reply.code(status).send(body(statusToCode(status), status, fe.message, path, req.method))
    }
    if (dependencyDown(err)) {
      // PostgreSQL or Redis went away under the request (a restart, a failover): the client may retry, so 503 in the
      // surface's envelope rather than a 500.
      req.log.warn({ err: (err as Error).message }, 'a dependency was unavailable')
      return reply.code(503).header('retry-after', '1').send(body('UPSTREAM_UNAVAILABLE', 503, 'a dependency is unavailable; retry shortly', path, req.method))
    }
    req.log.error({ err }, 'unhandled error')
    // 5xx never leaks internals.
    return reply.code(500).send(body('INTERNAL_ERROR', 500, 'unexpected error', path, req.method))
  })

  const checks = options.readiness ?? []
  app.get('/healthz', { logLevel: 'silent' }, async (_req, reply) => {
    const down = stopping()
    return reply.code(down ? 503 : 200).send({ status: down ? 'closing' : 'ok' })
  })
  app.get('/readyz', { logLevel: 'silent' }, async (_req, reply) => {
    if (stopping()) return reply.code(503).send({ status: 'closing', checks: {} })
    const results = await Promise.all(checks.map(async (c) => {
      const timeoutMs = c.timeoutMs ?? 2_000
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          c.check(),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs) }),
        ])
        return [c.name, { ok: true }] as const
      } catch (e) {
        return [c.name, { ok: false, error: e instanceof Error ? e.message : String(e) }] as const
      } finally {
        clearTimeout(timer)
      }
    }))
    const ok = results.every(([, r]) => r.ok)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks: Object.fromEntries(results) })
  })

  app.addHook('onSend', (_req, reply, payload, done) => {
    if (draining.has(app)) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('preClose', async () => { closing = true })
  return app
}

/** PostgreSQL connection classes (08, 57P0x: the server shutting down or restarting) and socket-level failures. */
const DOWN_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
const DOWN_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|enableOfflineQueue|MaxRetriesPerRequest/

/** Whether an error says a dependency (PostgreSQL, Redis) is unreachable, rather than a defect of the request's code. */
export function dependencyDown(err: unknown): boolean {
  if (isDatabaseUnavailable(err)) return true
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && DOWN_CODES.has(e.code)) return true
    if (typeof e.message === 'string' && DOWN_MESSAGES.test(e.message)) return true
  }
  return false
}
