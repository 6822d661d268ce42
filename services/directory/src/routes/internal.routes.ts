import { z } from 'zod'
import { DomainError, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { CheckCertificateRequest, CheckedCertificate, OrganisationJwks, OrganisationSummary, ParticipantCertificates, VerifiedJws, VerifiedSsa, VerifyJwsRequest, VerifySsaRequest } from '@ponte/contracts'
import type { StoredOrganisation } from '../domain/ports.ts'

/** What the internal API is built from. */
export interface InternalRoutesDeps {
  serviceAuth: ServiceTokenVerifier
  verifySsa: (ssa: string) => Promise<z.infer<typeof VerifiedSsa>>
  checkCertificate: (req: z.infer<typeof CheckCertificateRequest>) => z.infer<typeof CheckedCertificate>
  verifyJws: (jws: string, expectedOrganisationId?: string) => Promise<z.infer<typeof VerifiedJws>>
  organisation: (organisationId: string) => Promise<StoredOrganisation | undefined>
  /** The organisation's payload-signing keys from its keystore; undefined when it publishes none. */
  organisationJwks?: (organisationId: string, kid?: string) => Promise<z.infer<typeof OrganisationJwks> | undefined>
  /** The known software statements' certificates with their expiry (trace's certificate alerts). */
  participantCertificates: () => Promise<z.infer<typeof ParticipantCertificates>>
}

/**
 * The connector's internal API (packages/contracts `internal.ts`, audience `directory`), service-token protected.
 * Refusals are 422 with the reason in `errors[0].code`.
 */
export async function internalRoutes(app: PonteServer, deps: InternalRoutesDeps): Promise<void> {
  const onRequest = requireServiceToken(deps.serviceAuth)

  app.post('/internal/ssa/verify', { onRequest, schema: { body: VerifySsaRequest, response: { 200: VerifiedSsa } } }, async (req) => deps.verifySsa(req.body.ssa))

  app.post('/internal/certificates/check', { onRequest, schema: { body: CheckCertificateRequest, response: { 200: CheckedCertificate } } }, async (req) =>
    deps.checkCertificate(req.body))

  app.post('/internal/jws/verify', { onRequest, schema: { body: VerifyJwsRequest, response: { 200: VerifiedJws } } }, async (req) =>
    deps.verifyJws(req.body.jws, req.body.expectedOrganisationId))

  const organisationJwks = deps.organisationJwks
  if (organisationJwks) app.get('/internal/organisations/:orgId/jwks', {
    onRequest,
    schema: { params: z.object({ orgId: z.string().min(1).max(40) }), querystring: z.object({ kid: z.string().min(1).max(200).optional() }), response: { 200: OrganisationJwks } },
  }, async (req) => {
    const jwks = await organisationJwks(req.params.orgId, req.query.kid)
    if (!jwks) throw new DomainError('NOT_FOUND', `organisation ${req.params.orgId} publishes no keystore`)
    return jwks
  })
  app.get('/internal/certificates/expiry', { onRequest, schema: { response: { 200: ParticipantCertificates } } }, async () => deps.participantCertificates())

  app.get('/internal/organisations/:orgId', {
    onRequest,
    schema: { params: z.object({ orgId: z.string().min(1).max(40) }), response: { 200: OrganisationSummary } },
  }, async (req) => {
    const org = await deps.organisation(req.params.orgId)
    if (!org) throw new DomainError('NOT_FOUND', `organisation ${req.params.orgId} is not in the directory`)
    return {
      organisationId: org.organisationId,
      name: org.name,
      cnpj: org.cnpj,
      status: org.status,
      roles: org.roles,
      ...(org.logoUri ? { logoUri: org.logoUri } : {}),
    }
  })
}
