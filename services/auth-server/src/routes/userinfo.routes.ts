import type { FastifyReply } from 'fastify'
import { createLocalJWKSet, jwtVerify } from 'jose'
import type { PonteServer } from '@ponte/platform'
import { x5tS256 } from '@ponte/pki'
import { presentedCertificate, type CertificateSourceOptions } from '../adapters/client-certificate.ts'
import type { ConsentPort } from '../adapters/services.ts'
import type { SubjectStore } from '../adapters/subjects.ts'
import { ROUTES } from '../provider/configuration.ts'
import type { ProviderHolder } from '../provider/provider-holder.ts'
import { requireClientCertificate } from './provider.routes.ts'

/** Options of {@link userinfoRoutes}. */
export interface UserinfoRoutesOptions {
  holder: ProviderHolder
  certificates: CertificateSourceOptions
  subjects: SubjectStore
  consents: ConsentPort
  issuer: string
  accessTokenAudience: string
}

/**
 * The userinfo endpoint for Ponte's access tokens. FAPI-BR TPPs call userinfo with the access token of the code
 * exchange; Ponte issues those as JWTs for the API audience (the gateway validates them offline), which oidc-provider's
 * own userinfo endpoint refuses by design (it serves only audience-less tokens). This endpoint verifies the JWT against
 * the server's published keys, its certificate binding (`cnf.x5t#S256`) and its consent, and returns the `openid`
 * claims of the customer: `sub`, `cpf` and, where the customer acts for businesses, `cnpj`.
 */
export async function userinfoRoutes(app: PonteServer, opts: UserinfoRoutesOptions): Promise<void> {
  function refuse(reply: FastifyReply, status: 401 | 403, error: 'invalid_token' | 'insufficient_scope', description: string) {
    return reply.code(status).header('cache-control', 'no-store')
      .header('www-authenticate', `Bearer realm="${opts.issuer}", error="${error}", error_description="${description}"`)
      .send({ error, error_description: description })
  }

  app.route({
    method: ['GET', 'POST'],
    url: ROUTES.userinfo,
    handler: async (req, reply) => {
      if (!requireClientCertificate(req, reply, opts.certificates, true)) return reply
      const auth = req.headers.authorization
      const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined
      if (!token) return refuse(reply, 401, 'invalid_token', 'no access token provided')
      let payload
      try {
        ({ payload } = await jwtVerify(token, createLocalJWKSet(opts.holder.publicJwks), {
          issuer: opts.issuer, audience: opts.accessTokenAudience, algorithms: ['PS256'], typ: 'at+jwt',
        }))
      } catch {
        return refuse(reply, 401, 'invalid_token', 'invalid token provided')
      }
      const cert = presentedCertificate(req.raw, opts.certificates)!
      if ((payload.cnf as Record<string, unknown> | undefined)?.['x5t#S256'] !== x5tS256(cert.certificate)) {
        return refuse(reply, 401, 'invalid_token', 'the access token is bound to another certificate')
      }
      if (typeof payload.consent_id !== 'string' || typeof payload.sub !== 'string') {
        return refuse(reply, 403, 'insufficient_scope', 'the access token was not issued for a customer')
      }
      const consent = await opts.consents.get(payload.consent_id)
      if (!consent || consent.status !== 'AUTHORISED' || consent.clientId !== payload.client_id) {
        return refuse(reply, 401, 'invalid_token', 'the consent of this access token is not authorised')
      }
      const subject = await opts.subjects.find(payload.sub)
      if (!subject) return refuse(reply, 401, 'invalid_token', 'unknown subject')
      return reply.header('cache-control', 'no-store').send({ sub: subject.sub, cpf: subject.cpf, ...(subject.cnpjs.length ? { cnpj: subject.cnpjs } : {}) })
    },
  })
}
