import type { PonteServer } from '@ponte/platform'
import { clientAddress } from './client-address.ts'
import type { RequestLimiter } from './request-limiter.ts'
import { PLATFORM_PATH } from '../domain/oauth-errors.ts'
import type { RequestClass } from '../domain/request-limit.ts'
import { ROUTES } from '../provider/configuration.ts'
import { renderErrorPage, SECURITY_HEADERS } from '../views/pages.ts'

/** Options of {@link limitRequests}. */
export interface RequestLimitOptions {
  limiter: RequestLimiter
  /** Addresses whose `X-Forwarded-For` names the client's address (the same as the certificate header's). */
  trustedProxies: readonly string[]
  bankName: string
}

const MTLS_PATHS: ReadonlySet<string> = new Set([ROUTES.token, ROUTES.introspection, ROUTES.revocation, ROUTES.pushed_authorization_request, ROUTES.userinfo, ROUTES.registration])

/** The class of a route or request path (no query), or undefined for the platform's own paths (never limited). */
export function requestClass(path: string): RequestClass | undefined {
  if (PLATFORM_PATH.test(path)) return undefined
  return MTLS_PATHS.has(path) || path.startsWith(`${ROUTES.registration}/`) ? 'mtls' : 'public'
}

/** Whether a path is one of the customer's browser pages (a refusal there is an HTML page, not JSON). */
function isBrowserPage(path: string): boolean {
  return path === ROUTES.authorization || path.startsWith(`${ROUTES.authorization}/`) || path.startsWith('/interaction/')
}

/**
 * Counts every request but the platform's against its client address's budget for the endpoint's class, before
 * anything else runs; over the budget: 429 with `Retry-After`, in RFC 6749 form (`temporarily_unavailable`), or the
 * journey's error page on the customer's pages (docs/decisions/auth-server-request-limits.md). The address is the
 * TCP peer's, or the `X-Forwarded-For` hop a trusted proxy names (`clientAddress`): nobody picks what they are counted under.
 */
export function limitRequests(app: PonteServer, opts: RequestLimitOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    // The matched route's template, so no encoding of a path moves it to another class; the raw path when none matched.
    const path = req.routeOptions.url ?? (req.raw.url ?? '/').split('?')[0]!
    const cls = requestClass(path)
    if (!cls) return
    const verdict = await opts.limiter.check(cls, clientAddress(req.raw, opts.trustedProxies))
    if (verdict.ok) return
    req.log.info({ class: cls, retryAfterS: verdict.retryAfterS }, 'request refused: over the address budget')
    const refusal = { error: 'temporarily_unavailable', error_description: `too many requests from this address; retry after ${verdict.retryAfterS} s` }
    reply.code(429).header('retry-after', String(verdict.retryAfterS)).header('cache-control', 'no-store')
    if (isBrowserPage(path)) {
      return reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(renderErrorPage(refusal, (req.query as Record<string, unknown> | undefined)?.ui_locales, opts.bankName))
    }
    return reply.send(refusal)
  })
}
