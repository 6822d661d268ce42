import { createHash, randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { DomainError, type Pool, type PonteServer } from '@ponte/platform'
import { fromTrustedProxy, presentedCertificate, type CertificateSourceOptions } from '../adapters/client-certificate.ts'
import type { DirectoryPort } from '../adapters/services.ts'
import { buildClientMetadata, certificateRefusalError, DcrError, ssaFacts, ssaRefusalError, type SsaFacts } from '../domain/dcr.ts'
import { handOff, withJsonBody } from '../provider/hand-off.ts'
import type { ProviderHolder } from '../provider/provider-holder.ts'
import { ROUTES } from '../provider/configuration.ts'

/** Options of {@link dcrRoutes}. */
export interface DcrRoutesOptions {
  holder: ProviderHolder
  pool: Pool
  directory: DirectoryPort
  fetch: typeof globalThis.fetch
  certificates: CertificateSourceOptions
  offeredScopes: readonly string[]
}

interface StoredClient { clientId: string; orgId: string | undefined; softwareId: string | undefined; withdrawn: boolean }

const CLIENT_ID_RE = /^[A-Za-z0-9._~-]{1,128}$/

const ssaHash = (ssa: string) => createHash('sha256').update(ssa).digest('base64url')

/**
 * DCR / DCM (RFC 7591 / 7592) as DCR-BR v2.1 profiles them. These routes run the Brazil-specific checks (mTLS, SSA
 * through the directory connector, certificate ↔ SSA binding, metadata taken from the SSA, duplicate SSA) and then
 * hand the normalised request to oidc-provider's own registration endpoint, which validates and stores the client
 * and manages the (non-rotating) registration access token.
 */
export async function dcrRoutes(app: PonteServer, opts: DcrRoutesOptions): Promise<void> {
  const { pool, directory } = opts
  // RFC 7591 §3.1: client metadata is JSON. Any other content type is refused (415, invalid_client_metadata).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))

  function send(reply: FastifyReply, err: DcrError): FastifyReply {
    reply.code(err.status).header('cache-control', 'no-store')
    if (err.error === 'invalid_token') reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${err.message}"`)
    return reply.send({ error: err.error, error_description: err.message })
  }

  function certificate(req: FastifyRequest) {
    const cert = presentedCertificate(req.raw, opts.certificates)
    if (!cert) throw new DcrError('invalid_client', 'a client certificate (mTLS) is required', 401)
    if (!cert.authorized) throw new DcrError('invalid_client', 'the client certificate is not issued by a trusted authority', 401)
    return cert
  }

  async function verifySsa(body: unknown): Promise<{ facts: SsaFacts; ssa: string }> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new DcrError('invalid_client_metadata', 'the request body must be a JSON object')
    const ssa = (body as Record<string, unknown>).software_statement
    if (typeof ssa !== 'string' || ssa.length === 0) throw new DcrError('invalid_software_statement', 'software_statement is required')
    let claims: Record<string, unknown>
    try {
      claims = await directory.verifySsa(ssa)
    } catch (err) {
      if (err instanceof DomainError && err.status === 422) throw ssaRefusalError(err.ofbCode, err.message)
      throw err
    }
    return { facts: ssaFacts(claims), ssa }
  }

  async function checkCertificate(pem: string, softwareId: string | undefined, orgId: string | undefined): Promise<void> {
    try {
      await directory.checkCertificate({ certificatePem: pem, ...(softwareId ? { softwareStatementId: softwareId } : {}), ...(orgId ? { organisationId: orgId } : {}) })
    } catch (err) {
      if (err instanceof DomainError && err.status === 422) throw certificateRefusalError(err.ofbCode, err.message)
      throw err
    }
  }

  async function jwksHasEncryptionKey(uri: string): Promise<boolean> {
    try {
      const res = await opts.fetch(uri, { headers: { accept: 'application/json' } })
      if (!res.ok) return false
      const jwks = (await res.json()) as { keys?: Array<Record<string, unknown>> }
      return Array.isArray(jwks.keys) && jwks.keys.some((k) => k.kty === 'RSA' && k.use === 'enc')
    } catch {
      throw new DcrError('invalid_client_metadata', 'the jwks_uri could not be read')
    }
  }

  async function storedClient(clientId: string): Promise<StoredClient | undefined> {
    const { rows } = await pool.query<{ org_id: string | null; software_id: string | null; withdrawn: boolean }>(
      `select m.org_id, m.payload->>'software_id' as software_id,
              exists (select 1 from withdrawn_organisations w where w.org_id = m.org_id)
           or exists (select 1 from revoked_software_statements r where r.software_id = m.payload->>'software_id') as withdrawn
         from oidc_model m where m.model = 'Client' and m.id = $1`, [clientId])
    const r = rows[0]
    return r ? { clientId, orgId: r.org_id ?? undefined, softwareId: r.software_id ?? undefined, withdrawn: r.withdrawn } : undefined
  }

  /** DCM calls authenticate with the registration access token of that client (checked before any directory call). */
  async function authorisedClient(req: FastifyRequest<{ Params: { clientId: string } }>): Promise<StoredClient> {
    const auth = req.headers.authorization
    const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined
    if (!token) throw new DcrError('invalid_token', 'registration access token required', 401)
    const { rows } = await pool.query<{ client_id: string }>(
      `select payload->>'clientId' as client_id from oidc_model
        where model = 'RegistrationAccessToken' and id = $1 and (expires_at is null or expires_at > now())`, [token])
    // A client id is what this server issues (a UUID); anything else names no client (and never reaches SQL).
    const client = CLIENT_ID_RE.test(req.params.clientId) ? await storedClient(req.params.clientId) : undefined
    if (!client || rows[0]?.client_id !== client.clientId) throw new DcrError('invalid_token', 'invalid registration access token', 401)
    if (client.withdrawn) throw new DcrError('invalid_token', 'the organisation or software statement of this client is no longer active', 401)
    return client
  }

  async function forward(req: FastifyRequest, reply: FastifyReply, body?: unknown, extra?: Record<string, unknown>): Promise<number> {
    reply.hijack()
    const raw = body === undefined ? req.raw : withJsonBody(req.raw, body, extra)
    await handOff(opts.holder.current, raw, reply.raw, fromTrustedProxy(req.raw, opts.certificates.trustedProxies), opts.certificates.header)
    return reply.raw.statusCode
  }

  /** A DCR/DCM handler whose refusals ({@link DcrError}) are answered in the RFC 7591 envelope. */
  function handled<P>(handler: (req: FastifyRequest<{ Params: P }>, reply: FastifyReply) => Promise<FastifyReply>) {
    return async (req: FastifyRequest<{ Params: P }>, reply: FastifyReply) => {
      try {
        return await handler(req, reply)
      } catch (err) {
        if (err instanceof DcrError) return send(reply, err)
        throw err
      }
    }
  }

  /**
   * The software statement of a registration request, verified by the directory, held by the presenting certificate
   * (and, for an update, of the client's own organisation and software), with the client metadata built from it.
   */
  async function checkedStatement(req: FastifyRequest, certificatePem: string, client?: StoredClient) {
    const { facts, ssa } = await verifySsa(req.body)
    if (client && (facts.orgId !== client.orgId || facts.softwareId !== client.softwareId)) {
      throw new DcrError('unapproved_software_statement', 'the software statement belongs to another organisation or software')
    }
    await checkCertificate(certificatePem, facts.softwareId, facts.orgId)
    const metadata = buildClientMetadata({
      request: req.body as Record<string, unknown>,
      ssa: facts,
      jwksHasEncryptionKey: await jwksHasEncryptionKey(facts.jwksUri),
      offeredScopes: opts.offeredScopes,
    })
    return { facts, metadata, hash: ssaHash(ssa) }
  }

  app.post(ROUTES.registration, handled(async (req, reply) => {
    const cert = certificate(req)
    const { facts, metadata, hash } = await checkedStatement(req, cert.pem)
    const clientId = randomUUID()
    const reserved = await pool.query(
      'insert into ssa_registrations (ssa_hash, client_id, org_id, software_id) values ($1, $2, $3, $4) on conflict do nothing',
      [hash, clientId, facts.orgId, facts.softwareId])
    if (reserved.rowCount !== 1) throw new DcrError('invalid_software_statement', 'this software statement was already used for a registration')
    const status = await forward(req, reply, metadata, { ponteClientId: clientId })
    if (status !== 201) await pool.query('delete from ssa_registrations where ssa_hash = $1 and client_id = $2', [hash, clientId])
    return reply
  }))

  app.get(`${ROUTES.registration}/:clientId`, handled<{ clientId: string }>(async (req, reply) => {
    const cert = certificate(req)
    const client = await authorisedClient(req)
    await checkCertificate(cert.pem, client.softwareId, client.orgId)
    await forward(req, reply)
    return reply
  }))

  app.put(`${ROUTES.registration}/:clientId`, handled<{ clientId: string }>(async (req, reply) => {
    const cert = certificate(req)
    const client = await authorisedClient(req)
    const { facts, metadata, hash } = await checkedStatement(req, cert.pem, client)
    const used = await pool.query<{ client_id: string }>('select client_id from ssa_registrations where ssa_hash = $1', [hash])
    if (used.rows[0] && used.rows[0].client_id !== client.clientId) {
      throw new DcrError('invalid_software_statement', 'this software statement was already used for another registration')
    }
    const status = await forward(req, reply, { ...metadata, client_id: client.clientId })
    if (status === 200 && !used.rows[0]) {
      await pool.query('insert into ssa_registrations (ssa_hash, client_id, org_id, software_id) values ($1, $2, $3, $4) on conflict do nothing',
        [hash, client.clientId, facts.orgId, facts.softwareId])
    }
    return reply
  }))

  app.delete(`${ROUTES.registration}/:clientId`, handled<{ clientId: string }>(async (req, reply) => {
    const cert = certificate(req)
    const client = await authorisedClient(req)
    await checkCertificate(cert.pem, client.softwareId, client.orgId)
    const status = await forward(req, reply)
    if (status === 204) await pool.query('delete from ssa_registrations where client_id = $1', [client.clientId])
    return reply
  }))
}
