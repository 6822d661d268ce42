import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PonteServer } from '@ponte/platform'
import type { Admission } from '../adapters/admission.ts'
import type { CallEvents } from '../adapters/call-events.ts'
import type { UpstreamResponse } from '../adapters/upstream.ts'
import { stagesFor } from '../domain/pipeline.ts'
import { refuse } from '../domain/refusals.ts'
import { routerPath, type RouteSpec } from '../domain/route-table.ts'
import { createStages, newCall, type CallFacts, type Stage, type StageDeps } from './stages.ts'
import { apiVersionKey } from '../domain/operator-controls.ts'

/** What the regulated routes are built from. */
export interface RegulatedRoutesOptions extends StageDeps {
  routes: readonly RouteSpec[]
  events: CallEvents
  /** Load shedding (adapters/admission.ts); every call is admitted when absent. */
  admission?: Admission
  now?: () => number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the regulated pipeline: what the api-call event reports. */
    gatewayCall: CallFacts | null
  }
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])
const SKIP_EVENTS = new Set(['/healthz', '/readyz'])

/** What each fastify route carries: its table entry and its stages, chosen once at start-up. */
interface RouteConfig { route: RouteSpec; stages: readonly Stage[]; versionKey: string | undefined }

/**
 * The regulated edge: one fastify route per entry of the generated table, each running the stages its entry selects
 * (`domain/pipeline.ts`), in the order the rules fix: certificate → token → binding → interaction id → scope → consent
 * → organisation → (signed request → jti) → limits → forward → (signed answer). Every refusal is a {@link DomainError} answered in the OFB envelope by the
 * platform's error handler.
 */
export async function regulatedRoutes(app: PonteServer, o: RegulatedRoutesOptions): Promise<void> {
  const now = o.now ?? Date.now
  const stages = createStages(o)
  // Bodies pass through untouched: the owning service parses and validates them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1_048_576 }, (_req, body, done) => done(null, body))

  // Load shedding first, before any body is read or any check runs: a shed call costs little, so refusals stay fast on
  // a saturated process. The regulator's endpoints (served by trace) are never shed (docs/decisions/gateway-load-shedding.md).
  const admission = o.admission
  if (admission) {
    // Built once: a shed call allocates no error and writes no log line (admission logs each episode, the metrics
    // count every call, the api-call event reports it).
    const shedErrors = {
      in_flight: refuse('SITE_OVERLOADED', 'too many calls in progress; retry shortly', { 'retry-after': '1' }, true),
      event_loop: refuse('SITE_OVERLOADED', 'the gateway is overloaded; retry shortly', { 'retry-after': '1' }, true),
    }
    app.addHook('onRequest', (req, reply, done) => {
      const { route } = req.routeOptions.config as unknown as RouteConfig
      if (route.service === 'trace') return done()
      const shed = admission.admit()
      if (shed) {
        req.gatewayCall = { route, errorCode: 'SITE_OVERLOADED', ttfbMs: 0 }
        return done(shedErrors[shed])
      }
      let released = false
      reply.raw.once('close', () => { if (!released) { released = true; admission.release() } })
      done()
    })
  }

  function send(reply: FastifyReply, route: RouteSpec, facts: CallFacts, res: UpstreamResponse, started: number) {
    reply.code(res.status)
    const h = res.headers
    for (const k in h) reply.header(k, h[k])
    if (!h['x-v']) reply.header('x-v', route.version)
    facts.responseBytes = res.body.length
    facts.ttfbMs = now() - started
    return reply.send(res.body)
  }

  // The hot path stays synchronous on cache hits: a stage returns a promise only when it has to wait, and only then
  // is it awaited.
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const { route, stages: routeStages, versionKey } = req.routeOptions.config as unknown as RouteConfig
    const facts: CallFacts = { route }
    req.gatewayCall = facts
    const started = now()
    // A version turned off by an operator is not offered: 404, as an endpoint a participant does not serve
    // (docs/regulation/data-apis.md#http-status-codes), before any other check.
    if (versionKey !== undefined && o.controls.versionDisabled(versionKey)) {
      facts.errorCode = 'API_VERSION_NOT_OFFERED'
      throw refuse('API_VERSION_NOT_OFFERED')
    }
    reply.header('x-v', route.version)
    const call = newCall(req, reply, route, facts, started)
    try {
      for (const stage of routeStages) {
        const pending = stage(call)
        if (pending) await pending
      }
      return send(reply, route, facts, call.response!, started)
    } catch (err) {
      facts.errorCode = (err as { ofbCode?: string }).ofbCode ?? 'INTERNAL_ERROR'
      facts.ttfbMs = now() - started
      throw err
    }
  }

  for (const route of o.routes) {
    const config: RouteConfig = { route, stages: stagesFor(route).map((name) => stages[name]), versionKey: apiVersionKey(route.path) }
    app.route({ method: route.method, url: routerPath(route.path), config: config as never, handler })
  }
}

/**
 * Every call but health checks and internal routes produces an api-call event once the response is on its way
 * (registered on the root instance, so unmatched paths are reported too, as `(unmatched)`).
 */
export function recordCalls(app: PonteServer, events: CallEvents): void {
  app.decorateRequest('gatewayCall', null)
  app.addHook('onResponse', (req, reply, done) => {
    if (SKIP_EVENTS.has(req.url) || req.url.startsWith('/internal/') || !METHODS.has(req.method)) return done()
    const facts = req.gatewayCall
    const elapsed = reply.elapsedTime
    const length = reply.getHeader('content-length')
    events.record({
      interactionId: req.interactionId,
      ...(facts?.organisationId ? { organisationId: facts.organisationId } : {}),
      ...(facts?.clientId ? { clientId: facts.clientId } : {}),
      ...(facts?.softwareStatementId ? { softwareStatementId: facts.softwareStatementId } : {}),
      ...(facts?.consentId ? { consentId: facts.consentId } : {}),
      endpoint: facts ? facts.route.path : '(unmatched)',
      method: req.method as 'GET',
      status: reply.statusCode,
      ttfbMs: Math.round((facts?.ttfbMs ?? elapsed) * 100) / 100,
      receivedAt: new Date(Date.now() - elapsed).toISOString(),
      requestBytes: Number(req.headers['content-length'] ?? 0) || 0,
      responseBytes: facts?.responseBytes ?? (Number(length ?? 0) || 0),
      ...(facts?.errorCode ? { errorCode: facts.errorCode } : {}),
      ...(req.traceId ? { traceId: req.traceId } : {}),
    })
    done()
  })
}
