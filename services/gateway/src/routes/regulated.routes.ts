import type { TLSSocket } from 'node:tls'
import type { CallerContext, ConsentLookup } from '@ponte/contracts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PonteServer } from '@ponte/platform'
import type { AccessTokenVerifier } from '../adapters/access-tokens.ts'
import type { CallEvents } from '../adapters/call-events.ts'
import type { CertificateReader, PresentedCertificate } from '../adapters/client-certificates.ts'
import type { ConsentCache } from '../adapters/consent-cache.ts'
import type { Limiter, LimitVerdict } from '../adapters/limiter.ts'
import type { OpenDataCache } from '../adapters/open-data-cache.ts'
import type { OrganisationStatus } from '../adapters/organisations.ts'
import type { UpstreamResponse, Upstreams } from '../adapters/upstream.ts'
import { checkConsent, checkScopes, type AccessTokenFacts } from '../domain/authorise.ts'
import { secondsToNextMinute, secondsToNextMonth, type PolicyStore } from '../domain/limits.ts'
import { refuse } from '../domain/refusals.ts'
import { routerPath, type RouteSpec } from '../domain/route-table.ts'

/** What the regulated routes are built from. */
export interface RegulatedRoutesOptions {
  routes: readonly RouteSpec[]
  certificates: CertificateReader
  tokens: AccessTokenVerifier
  consents: ConsentCache
  organisations: OrganisationStatus
  policies: PolicyStore
  limiter: Limiter
  upstreams: Upstreams
  events: CallEvents
  openData: OpenDataCache
  now?: () => number
}

/** Per-request facts gathered by the pipeline, for the api-call event. */
interface CallFacts {
  route: RouteSpec
  organisationId?: string
  clientId?: string
  softwareStatementId?: string
  consentId?: string
  errorCode?: string
  ttfbMs?: number
  responseBytes?: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the regulated pipeline: what the api-call event reports. */
    gatewayCall: CallFacts | null
  }
}

/** Request headers passed to the owning service (the TPP's Authorization and certificate stay at the edge). */
const FORWARDED = ['accept', 'content-type', 'x-fapi-auth-date', 'x-fapi-customer-ip-address', 'x-customer-user-agent', 'x-idempotency-key', 'accept-language'] as const

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])
/** Owner of the service tokens of open-data calls (no caller identity). */
const ANONYMOUS = {}
const SKIP_EVENTS = new Set(['/healthz', '/readyz'])

function bearer(header: string | undefined): string | undefined {
  if (!header || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  const token = header.slice(7).trim()
  return token || undefined
}

// A stable small id per consent-state object, so cached service tokens never carry a stale context.
const stateIds = new WeakMap<object, number>()
let nextStateId = 1
function stateId(o: object | undefined): number {
  if (!o) return 0
  let id = stateIds.get(o)
  if (!id) {
    id = nextStateId++
    stateIds.set(o, id)
  }
  return id
}

/** Whether the response's links carry the pagination key the request sent (i.e. the server honoured it). */
export function paginationKeyHonoured(body: Buffer, key: string): boolean {
  try {
    const links = (JSON.parse(body.toString('utf8')) as { links?: Record<string, unknown> }).links ?? {}
    return Object.values(links).some((u) => typeof u === 'string' && new URL(u, 'https://x').searchParams.get('pagination-key') === key)
  } catch {
    return false
  }
}

/**
 * The regulated edge: one fastify route per entry of the generated table, each running the pipeline in the order the
 * rules fix: certificate → token → binding → interaction id → scope → consent → organisation → limits → forward.
 * Every refusal is a {@link DomainError} answered in the OFB envelope by the platform's error handler.
 */
export async function regulatedRoutes(app: PonteServer, o: RegulatedRoutesOptions): Promise<void> {
  const now = o.now ?? Date.now
  // Bodies pass through untouched: the owning service parses and validates them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1_048_576 }, (_req, body, done) => done(null, body))

  // The hot path runs synchronously on cache hits: each cache is peeked first and awaited only on a miss.
  async function authenticate(req: FastifyRequest, route: RouteSpec, facts: CallFacts, nowMs: number) {
    // 1. Client certificate, chained to a trusted CA (or from the header of a trusted proxy).
    const presented = o.certificates.read(req.raw.socket as TLSSocket, req.headers, req.raw.socket.remoteAddress)
    if (!presented.ok) throw refuse(presented.reason === 'missing' ? 'CLIENT_CERTIFICATE_REQUIRED' : 'CLIENT_CERTIFICATE_UNTRUSTED')
    const cert: PresentedCertificate = presented.cert
    if (cert.organisationId) facts.organisationId = cert.organisationId
    if (cert.softwareStatementId) facts.softwareStatementId = cert.softwareStatementId
    // 2. Access token: signature (auth-server JWKS), iss, aud, exp, typ.
    const raw = bearer(req.headers.authorization)
    if (!raw) throw refuse('TOKEN_MISSING')
    const token: AccessTokenFacts = o.tokens.peek(raw) ?? await o.tokens.verify(raw)
    facts.clientId = token.clientId
    if (token.consentId) facts.consentId = token.consentId
    // 3. Sender constraint: cnf.x5t#S256 = the presented certificate.
    if (token.x5tS256 !== cert.thumbprint) throw refuse('TOKEN_NOT_BOUND')
    // FAPI-BR §5.1-18: a protected-resource call without a valid x-fapi-interaction-id is refused.
    if (!req.interactionIdValid) throw refuse('INVALID_INTERACTION_ID')
    // 4. Scope.
    checkScopes(route, token)
    // 5. Consent.
    let consent: ConsentLookup | undefined
    if (token.consentId && (route.tokenKind === 'consent' || route.pathConsentParam)) {
      const cached = o.consents.peek(token.consentId)
      consent = cached === null ? await o.consents.get(token.consentId) : cached
      checkConsent(route, token, consent, req.params as Record<string, string>, nowMs)
    }
    // 6. Organisation active in the directory, software statement not revoked.
    if (!cert.organisationId) throw refuse('ORGANISATION_SUSPENDED', 'the client certificate names no organisation')
    const verdict = o.organisations.peek(cert.organisationId, cert.softwareStatementId) ?? await o.organisations.check(cert.organisationId, cert.softwareStatementId)
    if (verdict === 'suspended') throw refuse('ORGANISATION_SUSPENDED')
    if (verdict === 'revoked') throw refuse('SOFTWARE_STATEMENT_REVOKED')
    return { raw, token, consent, organisationId: cert.organisationId, softwareStatementId: cert.softwareStatementId }
  }

  function limitRefusal(verdict: Exclude<LimitVerdict, { ok: true }>, nowMs: number) {
    if (verdict.kind === 'unavailable') return refuse('LIMITS_UNAVAILABLE')
    if (verdict.kind === 'tps') return refuse('SITE_OVERLOADED', undefined, { 'retry-after': '1' })
    if (verdict.kind === 'monthly') return refuse('OPERATIONAL_LIMIT_EXCEEDED', undefined, { 'retry-after': String(secondsToNextMonth(nowMs)) })
    const reset = String(secondsToNextMinute(nowMs))
    return refuse('TOO_MANY_REQUESTS', undefined, { 'retry-after': reset, 'x-rate-limit': String(verdict.tpmLimit), 'x-rate-limit-remaining': '0', 'x-rate-limit-time': reset })
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

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const route = (req.routeOptions.config as unknown as { route: RouteSpec }).route
    const facts: CallFacts = { route }
    req.gatewayCall = facts
    const started = now()
    reply.header('x-v', route.version)
    try {
      let context: () => CallerContext = () => ({ clientId: 'anonymous', organisationId: 'anonymous', scopes: [], interactionId: req.interactionId })
      let contextOwner: object = ANONYMOUS
      let contextKey = ''
      let origin: string
      let monthlyField: string | undefined
      let paginationKey: string | undefined
      if (route.access === 'protected') {
        const a = await authenticate(req, route, facts, started)
        origin = a.organisationId
        context = () => ({
          clientId: a.token.clientId,
          organisationId: a.organisationId,
          ...(a.softwareStatementId ? { softwareStatementId: a.softwareStatementId } : {}),
          scopes: a.token.scopes,
          ...(a.consent && a.consent.customer
            ? { consent: { consentId: a.consent.consentId, customer: a.consent.customer, permissions: a.consent.permissions, resources: a.consent.resources } }
            : {}),
        })
        // Service tokens are cached per verified token (its facts object) and, within it, per organisation and consent state.
        contextOwner = a.token
        contextKey = `${a.organisationId}|${stateId(a.consent)}`
        if (route.monthly !== null && a.consent) {
          const params = req.params as Record<string, string>
          const resource = route.resourceParam ? params[route.resourceParam]! : `consent:${a.consent.consentId}`
          const customer = a.consent.customer?.cnpj ?? a.consent.customer?.cpf ?? '-'
          monthlyField = `${route.key}|${resource}|${customer}|${a.organisationId}`
          const q = req.query as Record<string, unknown>
          if (route.paginated && typeof q['pagination-key'] === 'string' && q['pagination-key']) paginationKey = q['pagination-key']
        }
      } else {
        origin = `ip:${req.ip}`
      }

      // 7. Traffic limits: one script, one round trip. A follow-up page is presumed exempt from the monthly limit.
      const plan = o.policies.plan(route, route.access === 'protected' ? origin : undefined)
      const verdict = await o.limiter.check({ plan, origin, endpoint: route.key, organisationId: origin, monthlyField: paginationKey ? undefined : monthlyField, nowMs: started })
      if (!verdict.ok) throw limitRefusal(verdict, started)
      if (verdict.tpmLimit > 0) {
        reply.header('x-rate-limit', String(verdict.tpmLimit))
        reply.header('x-rate-limit-remaining', String(Math.max(0, verdict.tpmLimit - verdict.tpm)))
        reply.header('x-rate-limit-time', String(secondsToNextMinute(started)))
      }

      // 8. Forward (open data from the cache when fresh).
      if (route.access === 'open-data') {
        const cached = o.openData.get(req.url)
        if (cached) return send(reply, route, facts, cached, started)
      }
      const headers: Record<string, string> = { 'x-fapi-interaction-id': req.interactionId }
      for (const h of FORWARDED) {
        const v = req.headers[h]
        if (typeof v === 'string') headers[h] = v
      }
      const res = await o.upstreams.forward({
        service: route.service,
        method: route.method,
        url: req.url,
        headers,
        ...(Buffer.isBuffer(req.body) ? { body: req.body } : {}),
        context,
        contextOwner,
        contextKey,
      })
      if (route.access === 'open-data') o.openData.set(req.url, res)
      // Monthly limits count 2xx only: give back a reservation otherwise; count a follow-up page whose key was not
      // honoured (the server minted a fresh one, so the call counts, ofb-rules §1).
      const ok = res.status >= 200 && res.status < 300
      if (monthlyField) {
        if (verdict.monthlyReserved && !ok) o.limiter.adjustMonthly(monthlyField, started, -1)
        else if (paginationKey && ok && plan.monthly > 0) {
          // connectors says how it judged the key; otherwise a key it honoured is the one its links carry.
          const honoured = res.paginationKeyStatus ? res.paginationKeyStatus === 'valid' : paginationKeyHonoured(res.body, paginationKey)
          if (!honoured) o.limiter.adjustMonthly(monthlyField, started, 1)
        }
      }
      return send(reply, route, facts, res, started)
    } catch (err) {
      facts.errorCode = (err as { ofbCode?: string }).ofbCode ?? 'INTERNAL_ERROR'
      facts.ttfbMs = now() - started
      throw err
    }
  }

  for (const route of o.routes) {
    app.route({ method: route.method, url: routerPath(route.path), config: { route } as never, handler })
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
