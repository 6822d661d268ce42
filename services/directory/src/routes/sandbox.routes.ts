import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { TLSSocket } from 'node:tls'
import { z } from 'zod'
import { DomainError, type PonteServer } from '@ponte/platform'
import { Cnpj } from '@ponte/contracts'
import { parseClientCertificate, x5tS256, type DevCa } from '@ponte/pki'
import type { SandboxDirectory } from '../domain/sandbox.ts'

/** What the sandbox routes are built from. */
export interface SandboxRoutesDeps {
  sandbox: SandboxDirectory
  /** The CA whose certificates may call the mTLS endpoints. */
  ca: DevCa
  /** When set, `/sandbox/*` needs `Authorization: Bearer <token>`. */
  adminToken?: string | undefined
}

const Uuid = z.uuid()
/** Free text that ends up in the database, certificates and SSAs: no control characters (a NUL breaks all three). */
const Text = z.string().trim().min(1).max(256).refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters')
const OrgParams = z.object({ orgId: Uuid })
const SsParams = z.object({ orgId: Uuid, ssId: Uuid })
const Role = z.string().regex(/^[A-Z]{2,30}$/)
const HttpsUri = z.url({ protocol: /^https$/ }).max(256)
const WebhookUri = z.string().regex(/^(https:\/\/[^\s/?#]+(?:\/[^\s/?#]+)*)$/).max(256)

const CreateOrganisation = z.object({
  name: Text,
  cnpj: Cnpj.optional(),
  roles: z.array(Role).min(1).max(10),
})
const CreateSoftwareStatement = z.object({
  clientName: Text,
  redirectUris: z.array(HttpsUri).min(1).max(20),
  webhookUris: z.array(WebhookUri).max(20).default([]),
})
const PatchOrganisation = z
  .object({
    status: z.enum(['Active', 'Pending', 'Withdrawn']).optional(),
    roles: z.array(z.object({ role: Role, status: z.enum(['Active', 'Inactive']) })).max(10).optional(),
  })
  .refine((p) => p.status !== undefined || p.roles !== undefined, 'give status and/or roles')
const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) })

/**
 * The sandbox directory's HTTP surface, on its own TLS listener. Public paths follow the real directory
 * (participants, keystores, SSA assertion over mTLS); `/sandbox/*` onboarding exists only here.
 */
export async function sandboxRoutes(app: PonteServer, deps: SandboxRoutesDeps): Promise<void> {
  const { sandbox } = deps

  app.get('/participants', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=900')
    return sandbox.participants()
  })
  app.get('/openbanking.jwks', { schema: { response: { 200: Jwks } } }, async () => sandbox.issuerJwks())
  app.get('/:orgId/application.jwks', { schema: { params: OrgParams, response: { 200: Jwks } } }, async (req) => sandbox.organisationJwks(req.params.orgId))
  for (const which of ['application', 'transport'] as const) {
    app.get(`/:orgId/:ssId/${which}.jwks`, { schema: { params: SsParams, response: { 200: Jwks } } }, async (req) =>
      sandbox.softwareStatementJwks(req.params.orgId, req.params.ssId, which, true))
    app.get(`/:orgId/:ssId/inactive/${which}.jwks`, { schema: { params: SsParams, response: { 200: Jwks } } }, async (req) =>
      sandbox.softwareStatementJwks(req.params.orgId, req.params.ssId, which, false))
  }

  app.get('/organisations/:orgId/softwarestatements/:ssId/assertion', { schema: { params: SsParams } }, async (req, reply) => {
    const socket = req.raw.socket as TLSSocket
    const peer = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined
    if (!peer) throw new DomainError('UNAUTHORIZED', 'a transport (BRCAC) client certificate is required')
    const chained = peer.checkIssued(deps.ca.intermediate.certificate) && peer.verify(deps.ca.intermediate.certificate.publicKey)
    if (!chained || peer.validToDate.getTime() < Date.now()) throw new DomainError('UNAUTHORIZED', 'the client certificate is not issued by the directory CA or has expired')
    let organisationId: string
    try {
      organisationId = parseClientCertificate(peer).orgId
    } catch {
      throw new DomainError('UNAUTHORIZED', 'the client certificate is not a transport certificate')
    }
    const ssa = await sandbox.assertion(req.params.orgId, req.params.ssId, { organisationId, thumbprintS256: x5tS256(peer) })
    return reply.type('application/jwt').send(ssa)
  })

  const onRequest = async (req: FastifyRequest): Promise<void> => {
    if (deps.adminToken === undefined) return
    const given = Buffer.from(req.headers.authorization ?? '')
    const expected = Buffer.from(`Bearer ${deps.adminToken}`)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new DomainError('UNAUTHORIZED', 'sandbox admin token required')
  }
  app.post('/sandbox/organisations', { onRequest, schema: { body: CreateOrganisation, response: { 201: z.object({ organisationId: z.string() }) } } }, async (req, reply) =>
    reply.code(201).send(await sandbox.createOrganisation(req.body)))
  app.patch('/sandbox/organisations/:orgId', { onRequest, schema: { params: OrgParams, body: PatchOrganisation } }, async (req, reply) => {
    await sandbox.updateOrganisation(req.params.orgId, req.body)
    return reply.code(204).send()
  })
  app.post('/sandbox/organisations/:orgId/softwarestatements', { onRequest, schema: { params: OrgParams, body: CreateSoftwareStatement } }, async (req, reply) =>
    reply.code(201).send(await sandbox.createSoftwareStatement(req.params.orgId, req.body)))
  app.post('/sandbox/organisations/:orgId/softwarestatements/:ssId/revoke', { onRequest, schema: { params: SsParams } }, async (req, reply) => {
    await sandbox.revokeSoftwareStatement(req.params.orgId, req.params.ssId)
    return reply.code(204).send()
  })
}
