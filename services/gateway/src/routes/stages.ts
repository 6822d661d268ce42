import type { OperatorControls } from '../domain/operator-controls.ts'
import { constants, verify as rsaVerify, type KeyObject } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { DomainError } from '@ponte/platform'
import type { CallerContext, ConsentLookup } from '@ponte/contracts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokenVerifier } from '../adapters/access-tokens.ts'
import type { CertificateReader, PresentedCertificate } from '../adapters/client-certificates.ts'
import type { BankSigner } from '../adapters/bank-signer.ts'
import type { ConsentCache } from '../adapters/consent-cache.ts'
import type { Limiter, LimitVerdict } from '../adapters/limiter.ts'
import type { OpenDataCache } from '../adapters/open-data-cache.ts'
import type { OrganisationStatus, OrganisationVerdict } from '../adapters/organisations.ts'
import type { ParticipantKeys } from '../adapters/participant-keys.ts'
import type { ReplayGuard } from '../adapters/replay-guard.ts'
import type { UpstreamResponse, Upstreams } from '../adapters/upstream.ts'
import { checkConsent, checkScopes, type AccessTokenFacts } from '../domain/authorise.ts'
import { secondsToNextMinute, secondsToNextMonth, type LimitPlan, type PolicyStore } from '../domain/limits.ts'
import type { StageName } from '../domain/pipeline.ts'
import { refuse } from '../domain/refusals.ts'
import type { RouteSpec } from '../domain/route-table.ts'
import { answerClaims, audiencesOf, checkSignedClaims, parseSignedRequest, type ParsedJws } from '../domain/signed-messages.ts'

/** Per-request facts gathered by the pipeline, for the api-call event. */
export interface CallFacts {
  route: RouteSpec
  organisationId?: string
  clientId?: string
  softwareStatementId?: string
  consentId?: string
  errorCode?: string
  ttfbMs?: number
  responseBytes?: number
}

/**
 * One call going through the pipeline: what the stages read and what they establish for the stages after them.
 * Every field exists from the start (one object shape for every call).
 */
export interface Call {
  readonly req: FastifyRequest
  readonly reply: FastifyReply
  readonly route: RouteSpec
  readonly facts: CallFacts
  /** When the call arrived (epoch ms): the clock of every check and counter of the call. */
  readonly started: number
  /** `certificate`: the presented, trusted client certificate. */
  cert: PresentedCertificate | undefined
  /** `token`: the verified access token. */
  token: AccessTokenFacts | undefined
  /** `consent`: the consent the token is bound to, checked for this route. */
  consent: ConsentLookup | undefined
  /** `limits`: the plan and the accepted verdict. */
  plan: LimitPlan | undefined
  verdict: Extract<LimitVerdict, { ok: true }> | undefined
  /** `limits`: the monthly counter of this call, and the follow-up page's key (exempt unless not honoured). */
  monthlyField: string | undefined
  paginationKey: string | undefined
  /** `signedRequest`: the verified JWS's `jti`, and the body forwarded instead of the JWS (`{"data": …}` JSON). */
  jti: string | undefined
  body: Buffer | undefined
  /** `forward` / `openDataForward`: the answer to send. */
  response: UpstreamResponse | undefined
}

/**
 * A stage: checks or does one thing for the call, throws a refusal ({@link refuse}) to end it. It returns nothing when
 * it could decide synchronously (every cache hit), a promise only when it had to wait, so a call whose lookups all hit
 * their caches creates no promise before the limits.
 */
export type Stage = (call: Call) => void | Promise<void>

/** What the stages are built from. */
export interface StageDeps {
  certificates: CertificateReader
  tokens: AccessTokenVerifier
  consents: ConsentCache
  organisations: OrganisationStatus
  policies: PolicyStore
  limiter: Limiter
  upstreams: Upstreams
  openData: OpenDataCache
  /** API versions disabled and clients suspended by bank staff (admin console). */
  controls: OperatorControls
  /** Signed messages (routes with `signedRequest` / `signedResponse`). */
  signed: SignedMessageDeps
}

/** What the signed-message stages use. */
export interface SignedMessageDeps {
  /** The TPPs' payload-signing keys (from the directory, cached). */
  participantKeys: ParticipantKeys
  /** `jti` single use, shared by the replicas. */
  replay: ReplayGuard
  /** The bank's current payload-signing key. */
  signer: BankSigner
  /** The gateway's public base URLs: a request's `aud` is the endpoint under one of them. */
  publicBaseUrls: readonly string[]
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
const JWT_TYPE = /^application\/jwt\s*(;|$)/i

/** Request headers passed to the owning service (the TPP's Authorization and certificate stay at the edge). */
const FORWARDED = ['accept', 'content-type', 'x-fapi-auth-date', 'x-fapi-customer-ip-address', 'x-customer-user-agent', 'x-idempotency-key', 'accept-language'] as const

/** Owner of the service tokens of open-data calls (no caller identity). */
const ANONYMOUS = {}

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

function limitRefusal(verdict: Exclude<LimitVerdict, { ok: true }>, nowMs: number) {
  if (verdict.kind === 'unavailable') return refuse('LIMITS_UNAVAILABLE')
  if (verdict.kind === 'tps') return refuse('SITE_OVERLOADED', undefined, { 'retry-after': '1' })
  if (verdict.kind === 'monthly') return refuse('OPERATIONAL_LIMIT_EXCEEDED', undefined, { 'retry-after': String(secondsToNextMonth(nowMs)) })
  const reset = String(secondsToNextMinute(nowMs))
  return refuse('TOO_MANY_REQUESTS', undefined, { 'retry-after': reset, 'x-rate-limit': String(verdict.tpmLimit), 'x-rate-limit-remaining': '0', 'x-rate-limit-time': reset })
}

/** A new call, every field present. */
export function newCall(req: FastifyRequest, reply: FastifyReply, route: RouteSpec, facts: CallFacts, started: number): Call {
  return { req, reply, route, facts, started, cert: undefined, token: undefined, consent: undefined, plan: undefined, verdict: undefined, monthlyField: undefined, paginationKey: undefined, jti: undefined, body: undefined, response: undefined }
}

/**
 * The stage implementations, one per {@link StageName}. Each is small and reads what earlier stages established on the
 * {@link Call}; `domain/pipeline.ts` decides which run for a route, and in what order.
 */
export function createStages(o: StageDeps): Record<StageName, Stage> {
  // `token`, `consent`, `organisation`: a cache hit decides at once; only a miss returns a promise.
  const acceptToken = (c: Call, token: AccessTokenFacts) => {
    c.token = token
    c.facts.clientId = token.clientId
    if (token.consentId) c.facts.consentId = token.consentId
  }
  const acceptConsent = (c: Call, consent: ConsentLookup | undefined) => {
    checkConsent(c.route, c.token!, consent, c.req.params as Record<string, string>, c.started)
    c.consent = consent
  }
  const acceptOrganisation = (verdict: OrganisationVerdict) => {
    if (verdict === 'suspended') throw refuse('ORGANISATION_SUSPENDED')
    if (verdict === 'revoked') throw refuse('SOFTWARE_STATEMENT_REVOKED')
  }

  const acceptLimits = (c: Call, verdict: LimitVerdict) => {
    if (!verdict.ok) throw limitRefusal(verdict, c.started)
    c.verdict = verdict
    if (verdict.tpmLimit > 0) {
      c.reply.header('x-rate-limit', String(verdict.tpmLimit))
      c.reply.header('x-rate-limit-remaining', String(Math.max(0, verdict.tpmLimit - verdict.tpm)))
      c.reply.header('x-rate-limit-time', String(secondsToNextMinute(c.started)))
    }
  }

  // `signedRequest`: the signature with the caller's key, then the claims; the JWS payload's data goes upstream as JSON.
  const acceptSigned = (c: Call, jws: ParsedJws, key: KeyObject | undefined) => {
    if (!key || !rsaVerify('sha256', Buffer.from(jws.signingInput), { key, ...PSS }, jws.signature)) throw refuse('BAD_SIGNATURE')
    const path = c.req.url.split('?', 1)[0]!
    c.jti = checkSignedClaims(jws.payload, { audiences: audiencesOf(o.signed.publicBaseUrls, path), organisationId: c.cert!.organisationId!, nowMs: c.started })
    c.body = Buffer.from(JSON.stringify({ data: jws.payload.data }))
  }

  /** Forwards to the owning service with a service token carrying the verified caller context. */
  const forwardCall = (c: Call): Promise<UpstreamResponse> => {
    const { req, route, token, consent } = c
    const organisationId = c.cert?.organisationId
    const headers: Record<string, string> = { 'x-fapi-interaction-id': req.interactionId }
    for (const h of FORWARDED) {
      const v = req.headers[h]
      if (typeof v === 'string') headers[h] = v
    }
    // A verified signed body travels as JSON; the owning services speak JSON only.
    if (c.body) headers['content-type'] = 'application/json'
    if (route.signedResponse) headers.accept = 'application/json'
    const context: () => CallerContext = token && organisationId
      ? () => ({
        clientId: token.clientId,
        organisationId,
        ...(c.cert!.softwareStatementId ? { softwareStatementId: c.cert!.softwareStatementId } : {}),
        scopes: token.scopes,
        ...(consent && consent.customer
          ? { consent: { consentId: consent.consentId, customer: consent.customer, permissions: consent.permissions, resources: consent.resources } }
          : {}),
        ...(route.paymentConsent && token.consentId ? { paymentConsentId: token.consentId } : {}),
      })
      : () => ({ clientId: 'anonymous', organisationId: 'anonymous', scopes: [], interactionId: req.interactionId })
    return o.upstreams.forward({
      service: route.service,
      method: route.method,
      url: req.url,
      headers,
      ...(c.body ? { body: c.body } : Buffer.isBuffer(req.body) ? { body: req.body } : {}),
      context,
      // Service tokens are cached per verified token (its facts object) and, within it, per organisation and consent state.
      contextOwner: token ?? ANONYMOUS,
      contextKey: token ? `${organisationId}|${stateId(consent)}` : '',
    })
  }

  return {
    /** 1. Client certificate, chained to a trusted CA (or from the header of a trusted proxy). */
    certificate(c) {
      const presented = o.certificates.read(c.req.raw.socket as TLSSocket, c.req.headers, c.req.raw.socket.remoteAddress)
      if (!presented.ok) throw refuse(presented.reason === 'missing' ? 'CLIENT_CERTIFICATE_REQUIRED' : 'CLIENT_CERTIFICATE_UNTRUSTED')
      c.cert = presented.cert
      if (presented.cert.organisationId) c.facts.organisationId = presented.cert.organisationId
      if (presented.cert.softwareStatementId) c.facts.softwareStatementId = presented.cert.softwareStatementId
    },

    /** 2. Access token: signature (auth-server JWKS), iss, aud, exp, typ. */
    token(c) {
      const raw = bearer(c.req.headers.authorization)
      if (!raw) throw refuse('TOKEN_MISSING')
      const hit = o.tokens.peek(raw)
      if (hit) return acceptToken(c, hit)
      return o.tokens.verify(raw).then((token) => acceptToken(c, token))
    },

    /** 3. Sender constraint: cnf.x5t#S256 = the presented certificate. */
    binding(c) {
      if (c.token!.x5tS256 !== c.cert!.thumbprint) throw refuse('TOKEN_NOT_BOUND')
    },

    /** 4. FAPI-BR §5.1-18: a protected-resource call without a valid x-fapi-interaction-id is refused (after authentication). */
    interactionId(c) {
      if (!c.req.interactionIdValid) throw refuse('INVALID_INTERACTION_ID')
    },

    /** 5. The route's scopes, and a consent on consent-bound routes. */
    scope(c) {
      checkScopes(c.route, c.token!)
    },

    /** 6. The consent the token is bound to allows this call. */
    consent(c) {
      const consentId = c.token!.consentId
      if (!consentId) return
      const cached = o.consents.peek(consentId)
      if (cached !== null) return acceptConsent(c, cached)
      return o.consents.get(consentId).then((consent) => acceptConsent(c, consent))
    },

    /** 7. Organisation active in the directory, software statement not revoked. */
    organisation(c) {
      const { organisationId, softwareStatementId } = c.cert!
      if (!organisationId) throw refuse('ORGANISATION_SUSPENDED', 'the client certificate names no organisation')
      // A client suspended by the bank's security staff is refused with its valid tokens too.
      if (o.controls.clientSuspended(c.token!.clientId)) throw refuse('CLIENT_SUSPENDED')
      const verdict = o.organisations.peek(organisationId, softwareStatementId)
      if (verdict) return acceptOrganisation(verdict)
      return o.organisations.check(organisationId, softwareStatementId).then(acceptOrganisation)
    },

    /**
     * 8. Signed request (docs/regulation/payments.md#validation-order): a compact JWS in `application/jwt`, PS256, `typ`
     * JWT, verified with the caller organisation's key (`kid`, from the directory, cached): 400 `BAD_SIGNATURE`; then
     * `aud` = this endpoint's public URL, `iss` = the organisation, `iat` ±60 s, a `jti`: 403.
     */
    signedRequest(c) {
      if (!JWT_TYPE.test(c.req.headers['content-type'] ?? '')) throw refuse('SIGNED_BODY_REQUIRED')
      const body = c.req.body
      if (!Buffer.isBuffer(body)) throw refuse('BAD_SIGNATURE', 'the body is not a compact JWS')
      const jws = parseSignedRequest(body.toString('utf8'))
      const organisationId = c.cert!.organisationId!
      const key = o.signed.participantKeys.peek(organisationId, jws.kid)
      if (key) return acceptSigned(c, jws, key)
      return o.signed.participantKeys.find(organisationId, jws.kid).then((k) => acceptSigned(c, jws, k))
    },

    /** 9. The JWS `jti` is used once per client in 24 h, across replicas (403 on reuse). */
    jtiReplay(c) {
      return o.signed.replay.claim(c.token!.clientId, c.jti!).then(
        (fresh) => {
          if (!fresh) throw refuse('JWS_JTI_REUSED')
        },
        (err: unknown) => {
          throw err instanceof DomainError ? err : refuse('REPLAY_CHECK_UNAVAILABLE')
        },
      )
    },

    /** 10. Traffic limits: one script, one round trip. A follow-up page is presumed exempt from the monthly limit. */
    limits(c) {
      const { req, route, consent } = c
      const origin = c.cert?.organisationId ?? `ip:${req.ip}`
      if (consent && route.monthly !== null) {
        const params = req.params as Record<string, string>
        const resource = route.resourceParam ? params[route.resourceParam]! : `consent:${consent.consentId}`
        const customer = consent.customer?.cnpj ?? consent.customer?.cpf ?? '-'
        c.monthlyField = `${route.key}|${resource}|${customer}|${origin}`
        const q = req.query as Record<string, unknown>
        if (route.paginated && typeof q['pagination-key'] === 'string' && q['pagination-key']) c.paginationKey = q['pagination-key']
      }
      const plan = o.policies.plan(route, route.access === 'protected' ? origin : undefined)
      c.plan = plan
      return o.limiter
        .check({ plan, origin, endpoint: route.key, organisationId: origin, monthlyField: c.paginationKey ? undefined : c.monthlyField, nowMs: c.started })
        .then((verdict) => acceptLimits(c, verdict))
    },

    /** 11. Forward to the owning service. */
    forward(c) {
      return forwardCall(c).then((res) => {
        c.response = res
      })
    },

    /** 12. Open data: the cached answer when fresh, else forward and keep the answer. */
    openDataForward(c) {
      const cached = o.openData.get(c.req.url)
      if (cached) {
        c.response = cached
        return
      }
      return forwardCall(c).then((res) => {
        o.openData.set(c.req.url, res)
        c.response = res
      })
    },

    /**
     * 13. Signed answer (docs/regulation/payments.md#signed-request-and-response-bodies): a 2xx or 422 JSON answer is
     * re-issued as a JWS by the bank's key, addressed to the client's organisation; other answers stay JSON.
     */
    signedResponse(c) {
      const res = c.response!
      if (!((res.status >= 200 && res.status < 300) || res.status === 422) || res.body.length === 0) return
      let body: unknown
      try {
        body = JSON.parse(res.body.toString('utf8'))
      } catch {
        throw new DomainError('BAD_GATEWAY', 'the owning service answered a body that is not JSON')
      }
      const jwt = o.signed.signer.sign(answerClaims(body, c.cert!.organisationId!), c.started)
      c.response = { status: res.status, headers: { ...res.headers, 'content-type': 'application/jwt' }, body: Buffer.from(jwt) }
    },

    /**
     * 14. Monthly limits count 2xx only: give back a reservation otherwise; count a follow-up page whose key was not
     * honoured (the server minted a fresh one, so the call counts, docs/regulation/traffic-and-slas.md).
     */
    monthlyUsage(c) {
      const { monthlyField, response: res, verdict } = c
      if (!monthlyField || !res || !verdict) return
      const ok = res.status >= 200 && res.status < 300
      if (verdict.monthlyReserved && !ok) o.limiter.adjustMonthly(monthlyField, c.started, -1)
      else if (c.paginationKey && ok && c.plan!.monthly > 0) {
        // connectors says how it judged the key; otherwise a key it honoured is the one its links carry.
        const honoured = res.paginationKeyStatus ? res.paginationKeyStatus === 'valid' : paginationKeyHonoured(res.body, c.paginationKey)
        if (!honoured) o.limiter.adjustMonthly(monthlyField, c.started, 1)
      }
    },
  }
}
