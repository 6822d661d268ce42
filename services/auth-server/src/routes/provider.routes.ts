import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PonteServer } from '@ponte/platform'
import { fromTrustedProxy, presentedCertificate, type CertificateSourceOptions } from '../adapters/client-certificate.ts'
import { ROUTES } from '../provider/configuration.ts'
import { handOff } from '../provider/hand-off.ts'
import type { ProviderHolder } from '../provider/provider-holder.ts'

/** Options of {@link providerRoutes}. */
export interface ProviderRoutesOptions {
  holder: ProviderHolder
  certificates: CertificateSourceOptions
}

/** FAPI-BR: endpoints that require the client certificate (the registration endpoints check it in `dcrRoutes`). */
const MTLS_REQUIRED: ReadonlySet<string> = new Set([ROUTES.token, ROUTES.pushed_authorization_request, ROUTES.introspection, ROUTES.revocation])

const RESUME = `${ROUTES.authorization}/:uid`
/** The largest body oidc-provider parses (its `selective_body` limit). */
const PROVIDER_BODY_LIMIT = 56 * 1024
/** oidc-provider interaction uids (nanoid: URL-safe alphabet). */
const INTERACTION_UID_RE = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Refuses a request without a trusted client certificate, in the OAuth error format of the endpoint (RFC 6749 §5.2
 * `invalid_client`; RFC 6750 `invalid_token` for userinfo). Returns whether the request may go on.
 */
export function requireClientCertificate(req: FastifyRequest, reply: FastifyReply, certificates: CertificateSourceOptions, bearer = false): boolean {
  const cert = presentedCertificate(req.raw, certificates)
  if (cert?.authorized) return true
  const description = cert ? 'the client certificate is not issued by a trusted authority' : 'a client certificate (mTLS) is required'
  reply.code(401).header('cache-control', 'no-store')
  if (bearer) reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${description}"`)
  void reply.send({ error: bearer ? 'invalid_token' : 'invalid_client', error_description: description })
  return false
}

/**
 * Mounts oidc-provider on the fastify server: every provider endpoint is an explicit fastify route whose request is
 * handed, unparsed, to `provider.callback()`. Nothing else reaches the provider.
 */
export async function providerRoutes(app: PonteServer, opts: ProviderRoutesOptions): Promise<void> {
  // oidc-provider parses its own bodies: leave the stream untouched.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))

  const paths = [
    '/.well-known/openid-configuration',
    ROUTES.jwks,
    ROUTES.authorization,
    RESUME,
    ROUTES.pushed_authorization_request,
    ROUTES.token,
    ROUTES.introspection,
    ROUTES.revocation,
  ]
  for (const url of paths) {
    app.route({
      method: ['GET', 'POST', 'OPTIONS'],
      url,
      handler: async (req, reply) => {
        if (MTLS_REQUIRED.has(url) && !requireClientCertificate(req, reply, opts.certificates)) return reply
        // oidc-provider reads at most 56 KiB of a body and calls anything larger unparseable (400): say 413, as the
        // server factory does for every other body (it reads the rest first, then closes).
        if (Number(req.headers['content-length']) > PROVIDER_BODY_LIMIT) {
          throw Object.assign(new Error('the request body is too large'), { statusCode: 413 })
        }
        if (url === RESUME) {
          // An interaction uid is what the provider issued; anything else (`../..`, encoded paths) resumes nothing.
          const uid = (req.params as { uid?: string }).uid ?? ''
          if (!INTERACTION_UID_RE.test(uid)) {
            return reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: 'unknown interaction' })
          }
          // Resuming reads the interaction, never the query: a stray client_id there only confuses the error path.
          req.raw.url = `${ROUTES.authorization}/${uid}`
        }
        reply.hijack()
        await handOff(opts.holder.current, req.raw, reply.raw, fromTrustedProxy(req.raw, opts.certificates.trustedProxies), opts.certificates.header)
        return reply
      },
    })
  }
}
