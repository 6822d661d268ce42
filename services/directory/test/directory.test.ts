import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto'
import { createServer as createHttpsServer, type Server } from 'node:https'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose'
import { Agent, request } from 'undici'
import { createPool, fapiTlsOptions, migrate, SERVICE_TOKEN_HEADER, type Pool, type PonteServer } from '@ponte/platform'
import { createParticipantCertificates } from '../src/domain/participant-certificates.ts'
import { createDevCa, DEV_PAYLOAD_SIGNING_PASSPHRASE, generateRsaKeyPair, issueClientCertificate, loadOrCreateDevPayloadSigningKey, loadOrCreateDevPki, payloadSigningJwk, readPayloadSigningKey, TrustStore, type DevPki } from '@ponte/pki'
import { rawRequest, specValidator, testLogger, testSchema, testServiceAuth, type RawResponse, type TestSchema } from '@ponte/testkit'
import { run as runTpp } from '../../../scripts/ponte/tpp.ts'
import { createDirectoryHttp, createUndiciFetch, type FetchLike } from '../src/adapters/http.ts'
import { createKeystore } from '../src/adapters/keystore.ts'
import { createPgDirectoryStore } from '../src/adapters/pg-directory-store.ts'
import { createPgSandboxStore } from '../src/adapters/pg-sandbox-store.ts'
import { createSecretBox } from '../src/adapters/secret-box.ts'
import { loadOrCreateSsaSigner } from '../src/adapters/ssa-signer.ts'
import { buildApp, buildSandboxApp } from '../src/app.ts'
import { createHostAllowList } from '../src/domain/allow-list.ts'
import { createCertificateChecker } from '../src/domain/certificate-checker.ts'
import { createJwsVerifier } from '../src/domain/jws-verifier.ts'
import { createOrganisationKeys } from '../src/domain/organisation-keys.ts'
import { createSandboxDirectory, type OnboardedSoftwareStatement, type SsaSigner } from '../src/domain/sandbox.ts'
import { createSsaVerifier } from '../src/domain/ssa-verifier.ts'
import { createParticipantsSync, type ParticipantsSync } from '../src/domain/sync.ts'

const migrations = new URL('../migrations', import.meta.url).pathname
const sandboxMigrations = new URL('../migrations-sandbox', import.meta.url).pathname
const bank = {
  organisationId: '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b',
  name: 'Banco Ponte Teste S.A.',
  cnpj: '12345678000195',
  authorisationServerId: '6a0c8d2e-1f3b-4c5d-8e9f-a0b1c2d3e4f5',
  authServerIssuer: 'https://localhost:8444',
  gatewayUrl: 'https://localhost:8443',
}

let dir: string
let bankSigningFile: string
let pki: DevPki
let connectorSchema: TestSchema
let sandboxSchema: TestSchema
let connectorPool: Pool
let sandboxPool: Pool
let sandboxApp: PonteServer
let sandboxUrl: string
let connector: PonteServer
let sync: ParticipantsSync
let signer: SsaSigner
let outbound: { fetch: FetchLike; close(): Promise<void> }
/** Every URL the connector fetched, in order. */
const fetched: string[] = []
/** Added to the keystore's clock, to step past its refresh rate limit without waiting. */
let keystoreClockOffsetMs = 0
let counting: Server
let countingHits = 0
let countingPort: number
const auth = testServiceAuth()
/** The connector's parts, for a second sync configured like one facing the real directory (one-minute floor). */
let parts: Omit<Parameters<typeof createParticipantsSync>[0], 'participantsUrl' | 'defaultIntervalS' | 'minForcedIntervalMs'> & { isAllowed: ReturnType<typeof createHostAllowList> }

async function serviceHeaders(): Promise<Record<string, string>> {
  return { [SERVICE_TOKEN_HEADER]: await auth.issuer('auth-server').sign('directory') }
}

async function onboard(name: string, roles = ['DADOS', 'PAGTO']): Promise<{ organisationId: string; ss: OnboardedSoftwareStatement }> {
  const org = await sandboxApp.inject({ method: 'POST', url: '/sandbox/organisations', payload: { name, roles } })
  expect(org.statusCode).toBe(201)
  const { organisationId } = org.json<{ organisationId: string }>()
  const ss = await sandboxApp.inject({
    method: 'POST',
    url: `/sandbox/organisations/${organisationId}/softwarestatements`,
    payload: { clientName: `${name} app`, redirectUris: ['https://tpp.example.com.br/callback'], webhookUris: ['https://tpp.example.com.br/webhook'] },
  })
  expect(ss.statusCode).toBe(201)
  return { organisationId, ss: ss.json<OnboardedSoftwareStatement>() }
}

async function verifySsa(ssa: string) {
  const res = await connector.inject({ method: 'POST', url: '/internal/ssa/verify', headers: await serviceHeaders(), payload: { ssa } })
  return { status: res.statusCode, body: res.json<{ claims?: Record<string, unknown>; errors?: { code: string; detail: string }[] }>() }
}

async function refusal(ssa: string): Promise<string | undefined> {
  const { status, body } = await verifySsa(ssa)
  expect(status).toBe(422)
  return body.errors?.[0]?.code
}

/** Re-signs claims with the sandbox's own SSA key (a genuine directory signature). */
function signAsDirectory(claims: Record<string, unknown>, key = signer.privateKey, kid = signer.kid): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'PS256', kid, typ: 'JWT' }).sign(key)
}

const nowS = () => Math.floor(Date.now() / 1000)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ponte-directory-'))
  pki = await loadOrCreateDevPki(join(dir, 'pki'))
  connectorSchema = testSchema('directory')
  sandboxSchema = testSchema('directory_sandbox')
  await migrate({ url: connectorSchema.databaseUrl, schema: connectorSchema.name, dir: migrations })
  await migrate({ url: sandboxSchema.databaseUrl, schema: sandboxSchema.name, dir: sandboxMigrations })
  connectorPool = createPool({ url: connectorSchema.databaseUrl, schema: connectorSchema.name, max: 4 })
  sandboxPool = createPool({ url: sandboxSchema.databaseUrl, schema: sandboxSchema.name, max: 4 })

  // The bank's payload-signing key: the dev one, created in the dev PKI folder as the gateway and the sandbox do.
  const devKey = await loadOrCreateDevPayloadSigningKey(pki.dir, pki.ca, { orgId: bank.organisationId, cnpj: bank.cnpj, commonName: bank.name, passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
  bankSigningFile = devKey.file
  const bankSigningKeys = async () => [payloadSigningJwk(await readFile(bankSigningFile, 'utf8')) as unknown as JWK]

  // 1. The sandbox directory on its own TLS listener.
  const { logger } = testLogger('directory')
  const sandboxStore = createPgSandboxStore(sandboxPool)
  signer = await loadOrCreateSsaSigner({ store: sandboxStore, box: createSecretBox(Buffer.alloc(32, 7)), ca: pki.ca, bankCnpj: bank.cnpj })
  sandboxApp = buildSandboxApp({
    server: { logger, https: fapiTlsOptions({ cert: pki.server.chainPem, key: pki.server.privateKeyPem, clientCa: pki.caBundlePem }) },
    sandbox: createSandboxDirectory({ store: sandboxStore, ca: pki.ca, signer, publicUrl: 'https://127.0.0.1:0', ssaIssuer: 'Ponte test SSA issuer', bank }),
    ca: pki.ca,
  })
  await sandboxApp.listen({ host: '127.0.0.1', port: 0 })
  const port = (sandboxApp.server.address() as AddressInfo).port
  sandboxUrl = `https://127.0.0.1:${port}`
  // The public URL is only known once listening: rebuild the directory with it (the store and signer are shared).
  await sandboxApp.close()
  sandboxApp = buildSandboxApp({
    server: { logger, https: fapiTlsOptions({ cert: pki.server.chainPem, key: pki.server.privateKeyPem, clientCa: pki.caBundlePem }) },
    sandbox: createSandboxDirectory({ store: sandboxStore, ca: pki.ca, signer, publicUrl: sandboxUrl, ssaIssuer: 'Ponte test SSA issuer', bank, bankSigningKeys }),
    ca: pki.ca,
  })
  await sandboxApp.listen({ host: '127.0.0.1', port })

  // 2. A server on another port that must never be contacted (counts every request).
  counting = createHttpsServer({ cert: pki.server.chainPem, key: pki.server.privateKeyPem }, (_req, res) => {
    countingHits++
    res.setHeader('content-type', 'application/json')
    res.end('{"keys":[]}')
  })
  counting.listen(0, '127.0.0.1')
  await once(counting, 'listening')
  countingPort = (counting.address() as AddressInfo).port

  // 3. The connector, trusting the dev CA, allowed to fetch only from the sandbox.
  outbound = createUndiciFetch({ extraCaPem: pki.rootCertificatePem })
  const countingFetch: FetchLike = (url, init) => {
    fetched.push(url)
    return outbound.fetch(url, init)
  }
  const isAllowed = createHostAllowList([`127.0.0.1:${port}`])
  const http = createDirectoryHttp({ fetch: countingFetch, isAllowed, timeoutMs: 5_000 })
  const keystore = createKeystore({ http, ttlMs: 600_000, minRefreshIntervalMs: 60_000, logger, now: () => Date.now() + keystoreClockOffsetMs })
  const store = createPgDirectoryStore(connectorPool)
  sync = createParticipantsSync({ http, keystore, store, participantsUrl: `${sandboxUrl}/participants`, defaultIntervalS: 900, minForcedIntervalMs: 0, logger })
  parts = { http, keystore, store, logger, isAllowed }
  connector = buildApp({
    server: { logger },
    serviceAuth: auth.verifier('directory'),
    verifySsa: createSsaVerifier({ keystore, store, organisation: sync.organisation, isAllowed, ssaJwksUrl: `${sandboxUrl}/openbanking.jwks`, maxAgeS: 300, skewS: 30 }),
    checkCertificate: createCertificateChecker({ trustStore: TrustStore.fromPem(pki.rootCertificatePem) }),
    verifyJws: createJwsVerifier({ keystore, keystoreUrl: sandboxUrl }),
    organisation: sync.organisation,
    organisationJwks: createOrganisationKeys({ keystore, keystoreUrl: sandboxUrl }),
    participantCertificates: createParticipantCertificates({ store, keystore }),
  })
  await connector.ready()
})

afterAll(async () => {
  await connector?.close()
  await sandboxApp?.close()
  counting?.close()
  await outbound?.close()
  await connectorPool?.end()
  await sandboxPool?.end()
  await connectorSchema?.drop()
  await sandboxSchema?.drop()
  await rm(dir, { recursive: true, force: true })
})

describe('onboarding through the sandbox and verification through the connector', () => {
  let tpp: { organisationId: string; ss: OnboardedSoftwareStatement }

  beforeAll(async () => {
    tpp = await onboard('Fintech Ação Teste')
  })

  it('verifies a fresh SSA fetched over mTLS with the transport certificate, its certificate and a signed payload', async () => {
    // The TPP asks the directory for a fresh SSA, authenticating with its transport certificate.
    const agent = new Agent({ connect: { ca: pki.rootCertificatePem, cert: tpp.ss.transport.chainPem, key: tpp.ss.transport.privateKeyPem } })
    const res = await request(`${sandboxUrl}/organisations/${tpp.organisationId}/softwarestatements/${tpp.ss.softwareStatementId}/assertion`, { dispatcher: agent })
    const ssa = await res.body.text()
    await agent.close()
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('application/jwt')
    expect(decodeProtectedHeader(ssa)).toMatchObject({ alg: 'PS256', kid: signer.kid })

    const { status, body } = await verifySsa(ssa)
    expect(status).toBe(200)
    expect(body.claims).toMatchObject({
      software_id: tpp.ss.softwareStatementId,
      org_id: tpp.organisationId,
      org_status: 'Active',
      software_roles: ['DADOS', 'PAGTO'],
      software_redirect_uris: ['https://tpp.example.com.br/callback'],
      software_api_webhook_uris: ['https://tpp.example.com.br/webhook'],
      software_jwks_uri: tpp.ss.jwksUri,
      software_jwks_transport_uri: tpp.ss.transportJwksUri,
    })
    for (const claim of ['software_client_id', 'software_client_name', 'software_statement_roles', 'org_name', 'org_number', 'organisation_competent_authority_claims', 'iss', 'iat']) {
      expect(body.claims).toHaveProperty(claim)
    }

    const cert = await connector.inject({
      method: 'POST',
      url: '/internal/certificates/check',
      headers: await serviceHeaders(),
      payload: { certificatePem: tpp.ss.transport.chainPem, softwareStatementId: tpp.ss.softwareStatementId, organisationId: tpp.organisationId },
    })
    expect(cert.statusCode).toBe(200)
    expect(cert.json()).toMatchObject({ organisationId: tpp.organisationId, softwareStatementId: tpp.ss.softwareStatementId })

    const jws = await new SignJWT({ iss: tpp.organisationId, data: { amount: '10.00' } })
      .setProtectedHeader({ alg: 'PS256', kid: tpp.ss.signing.privateJwk.kid })
      .sign(await importPrivate(tpp.ss.signing.privateJwk))
    const verified = await connector.inject({ method: 'POST', url: '/internal/jws/verify', headers: await serviceHeaders(), payload: { jws } })
    expect(verified.statusCode).toBe(200)
    expect(verified.json()).toMatchObject({ organisationId: tpp.organisationId, payload: { data: { amount: '10.00' } } })

    const summary = await connector.inject({ method: 'GET', url: `/internal/organisations/${tpp.organisationId}`, headers: await serviceHeaders() })
    expect(summary.json()).toMatchObject({ organisationId: tpp.organisationId, status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }, { role: 'PAGTO', status: 'Active' }] })

    // The verified software statement's keystores: its transport and signing certificates, with their expiry.
    expect((await connector.inject({ method: 'GET', url: '/internal/certificates/expiry' })).statusCode).toBe(401)
    const expiry = await connector.inject({ method: 'GET', url: '/internal/certificates/expiry', headers: await serviceHeaders() })
    expect(expiry.statusCode).toBe(200)
    const mine = (expiry.json() as { certificates: Array<{ softwareStatementId: string; jwksUri: string; kid: string; notAfter: string }> }).certificates
      .filter((c) => c.softwareStatementId === tpp.ss.softwareStatementId)
    const transportNotAfter = new Date(new X509Certificate(tpp.ss.transport.chainPem).validTo).toISOString()
    expect(mine).toContainEqual(expect.objectContaining({ organisationId: tpp.organisationId, jwksUri: tpp.ss.transportJwksUri, notAfter: transportNotAfter }))
    expect(mine).toContainEqual(expect.objectContaining({ jwksUri: tpp.ss.jwksUri, kid: tpp.ss.signing.privateJwk.kid }))
  })

  it('hands out a webhook server certificate for the webhook URIs\' hosts, issued by the dev CA, and none without webhook URIs', async () => {
    const server = tpp.ss.webhookServer
    expect(server?.hostnames).toEqual(['tpp.example.com.br'])
    const certificate = new X509Certificate(server!.certificatePem)
    expect(certificate.checkHost('tpp.example.com.br')).toBe('tpp.example.com.br')
    expect(certificate.checkHost('other.example.com.br')).toBeUndefined()
    expect(certificate.verify(pki.ca.intermediate.certificate.publicKey)).toBe(true)
    expect(certificate.checkPrivateKey(createPrivateKey(server!.privateKeyPem))).toBe(true)
    expect(server!.chainPem).toContain(pki.ca.intermediate.certificatePem.trim())
    expect(certificate.keyUsage).toContain('1.3.6.1.5.5.7.3.1') // serverAuth

    const org = await sandboxApp.inject({ method: 'POST', url: '/sandbox/organisations', payload: { name: 'Sem Webhook', roles: ['PAGTO'] } })
    const ipHost = await sandboxApp.inject({
      method: 'POST',
      url: `/sandbox/organisations/${org.json<{ organisationId: string }>().organisationId}/softwarestatements`,
      payload: { clientName: 'ip app', redirectUris: ['https://tpp.example.com.br/cb'], webhookUris: ['https://127.0.0.1:9443/hooks', 'https://hooks.example.com.br/a', 'https://hooks.example.com.br/b'] },
    })
    const ipServer = ipHost.json<OnboardedSoftwareStatement>().webhookServer!
    expect(ipServer.hostnames).toEqual(['hooks.example.com.br', '127.0.0.1'])
    expect(new X509Certificate(ipServer.certificatePem).checkIP('127.0.0.1')).toBe('127.0.0.1')
    const none = await sandboxApp.inject({
      method: 'POST',
      url: `/sandbox/organisations/${org.json<{ organisationId: string }>().organisationId}/softwarestatements`,
      payload: { clientName: 'no hooks', redirectUris: ['https://tpp.example.com.br/cb'] },
    })
    expect(none.json<OnboardedSoftwareStatement>().webhookServer).toBeUndefined()
  })

  it('pnpm ponte tpp onboard writes the webhook server certificate and key into the bundle', async () => {
    const out = join(dir, 'bundle-cli')
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined)
    try {
      await runTpp(['onboard', '--name', 'CLI Fintech', '--roles', 'PAGTO', '--redirect-uri', 'https://cli.example.com.br/cb', '--webhook-uri', 'https://hooks.cli.example.com.br/wh',
        '--out', out, '--directory', sandboxUrl, '--ca', pki.files.rootCertificate])
    } finally {
      log.mockRestore()
    }
    const certificate = new X509Certificate(await readFile(join(out, 'webhook-server.crt.pem'), 'utf8'))
    expect(certificate.checkHost('hooks.cli.example.com.br')).toBe('hooks.cli.example.com.br')
    expect(certificate.checkPrivateKey(createPrivateKey(await readFile(join(out, 'webhook-server.key.pem'), 'utf8')))).toBe(true)
    expect((await stat(join(out, 'webhook-server.key.pem'))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(out, 'webhook-server.chain.pem'), 'utf8')).toContain(pki.ca.intermediate.certificatePem.trim())
  })

  it('refuses an SSA signed by another key under the directory kid', async () => {
    const other = await generateRsaKeyPair()
    const claims = decodeJwt(tpp.ss.ssa)
    expect(await refusal(await signAsDirectory({ ...claims, iat: nowS() }, other.privateKey))).toBe('BAD_SIGNATURE')
  })

  it('refuses a tampered payload', async () => {
    const [h, p, s] = tpp.ss.ssa.split('.')
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
    const tampered = Buffer.from(JSON.stringify({ ...claims, software_redirect_uris: ['https://evil.example.com/cb'] })).toString('base64url')
    expect(await refusal(`${h}.${tampered}.${s}`)).toBe('BAD_SIGNATURE')
  })

  it('refuses an SSA whose iat is older than 5 minutes', async () => {
    expect(await refusal(await signAsDirectory({ ...decodeJwt(tpp.ss.ssa), iat: nowS() - 301 - 30 }))).toBe('STALE_IAT')
  })

  it('refuses an SSA whose iat is in the future', async () => {
    expect(await refusal(await signAsDirectory({ ...decodeJwt(tpp.ss.ssa), iat: nowS() + 120 }))).toBe('FUTURE_IAT')
  })

  it('refuses a certificate whose UID is not the software_id', async () => {
    const stranger = await issueClientCertificate(pki.ca, { orgId: tpp.organisationId, softwareStatementId: '00000000-0000-4000-8000-000000000000', cnpj: '11222333000181', commonName: 'tpp.example.com.br' })
    const res = await connector.inject({
      method: 'POST',
      url: '/internal/certificates/check',
      headers: await serviceHeaders(),
      payload: { certificatePem: stranger.chainPem, softwareStatementId: tpp.ss.softwareStatementId, organisationId: tpp.organisationId },
    })
    expect([res.statusCode, res.json().errors[0].code]).toEqual([422, 'SOFTWARE_ID_MISMATCH'])
  })

  it('refuses a certificate from an untrusted CA', async () => {
    const rogueCa = await createDevCa({ name: 'Rogue' })
    const rogue = await issueClientCertificate(rogueCa, { orgId: tpp.organisationId, softwareStatementId: tpp.ss.softwareStatementId, cnpj: '11222333000181', commonName: 'tpp.example.com.br' })
    const res = await connector.inject({
      method: 'POST',
      url: '/internal/certificates/check',
      headers: await serviceHeaders(),
      payload: { certificatePem: rogue.chainPem, softwareStatementId: tpp.ss.softwareStatementId, organisationId: tpp.organisationId },
    })
    expect([res.statusCode, res.json().errors[0].code]).toEqual([422, 'UNTRUSTED_CA'])
  })

  it('refreshes the SSA issuer keys once for a burst of unknown kids, not once per request', async () => {
    expect((await verifySsa(tpp.ss.ssa)).status).toBe(200) // the issuer JWKS is cached
    keystoreClockOffsetMs += 61_000 // past the refresh rate limit, still within the cache TTL
    const before = fetched.filter((u) => u.endsWith('/openbanking.jwks')).length
    const other = await generateRsaKeyPair()
    const forged = await signAsDirectory({ ...decodeJwt(tpp.ss.ssa), iat: nowS() }, other.privateKey, 'unknown-kid-1')
    const codes = await Promise.all(Array.from({ length: 5 }, () => refusal(forged)))
    for (let i = 0; i < 5; i++) codes.push(await refusal(forged))
    expect(codes).toEqual(Array(10).fill('UNKNOWN_SIGNER'))
    expect(fetched.filter((u) => u.endsWith('/openbanking.jwks')).length - before).toBe(1)
  })

  it('refuses a jwks_uri on a host that is not configured without any request leaving the process', async () => {
    const elsewhere = `https://127.0.0.1:${countingPort}/${tpp.organisationId}/${tpp.ss.softwareStatementId}/application.jwks`
    const ssa = await signAsDirectory({ ...decodeJwt(tpp.ss.ssa), iat: nowS(), software_jwks_uri: elsewhere })
    const before = fetched.length
    expect(await refusal(ssa)).toBe('MALFORMED')
    const jws = await new SignJWT({ iss: `127.0.0.1:${countingPort}` })
      .setProtectedHeader({ alg: 'PS256', kid: tpp.ss.signing.privateJwk.kid })
      .sign(await importPrivate(tpp.ss.signing.privateJwk))
    const res = await connector.inject({ method: 'POST', url: '/internal/jws/verify', headers: await serviceHeaders(), payload: { jws } })
    expect([res.statusCode, res.json().errors[0].code]).toEqual([422, 'MALFORMED'])
    expect(countingHits).toBe(0)
    expect(fetched.slice(before).some((u) => u.includes(`:${countingPort}`))).toBe(false)
  })

  it('refuses a revoked software statement and announces the revocation', async () => {
    const second = await sandboxApp.inject({
      method: 'POST',
      url: `/sandbox/organisations/${tpp.organisationId}/softwarestatements`,
      payload: { clientName: 'second app', redirectUris: ['https://tpp.example.com.br/cb2'] },
    })
    const ss = second.json<OnboardedSoftwareStatement>()
    expect((await verifySsa(ss.ssa)).status).toBe(200)
    const revoked = await sandboxApp.inject({ method: 'POST', url: `/sandbox/organisations/${tpp.organisationId}/softwarestatements/${ss.softwareStatementId}/revoke` })
    expect(revoked.statusCode).toBe(204)
    await sync.syncNow()
    expect(await refusal(ss.ssa)).toBe('SOFTWARE_STATEMENT_REVOKED')
    const events = await directoryEvents()
    expect(events).toContainEqual(expect.objectContaining({ type: 'directory.software-statement.revoked', data: { organisationId: tpp.organisationId, softwareStatementId: ss.softwareStatementId } }))
  })
})

describe('organisation status and roles', () => {
  it('refuses an SSA of a withdrawn organisation and publishes the change', async () => {
    const tpp = await onboard('Withdrawn Pagamentos')
    await sync.syncNow()
    expect((await verifySsa(tpp.ss.ssa)).status).toBe(200)
    const patch = await sandboxApp.inject({ method: 'PATCH', url: `/sandbox/organisations/${tpp.organisationId}`, payload: { status: 'Withdrawn' } })
    expect(patch.statusCode).toBe(204)
    await sync.syncNow()
    expect(await refusal(tpp.ss.ssa)).toBe('ORGANISATION_NOT_ACTIVE')
    expect(await directoryEvents()).toContainEqual(expect.objectContaining({
      type: 'directory.organisation.changed',
      data: expect.objectContaining({ organisationId: tpp.organisationId, status: 'Withdrawn', changes: ['status'] }),
    }))
  })

  it('refuses an SSA whose role is no longer Active for the organisation', async () => {
    const tpp = await onboard('Role Dados Pagto')
    await sync.syncNow()
    const patch = await sandboxApp.inject({ method: 'PATCH', url: `/sandbox/organisations/${tpp.organisationId}`, payload: { roles: [{ role: 'PAGTO', status: 'Inactive' }] } })
    expect(patch.statusCode).toBe(204)
    await sync.syncNow()
    expect(await refusal(tpp.ss.ssa)).toBe('ROLE_NOT_ACTIVE')
  })
})

describe('participants list', () => {
  it('validates against the official participants schema and lists the bank with its APIs', async () => {
    await onboard('Participants Schema TPP')
    const res = await request(`${sandboxUrl}/participants`, { dispatcher: new Agent({ connect: { ca: pki.rootCertificatePem } }) })
    const body = (await res.body.json()) as Record<string, unknown>[]
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=900')
    specValidator('participants-v1.0.0.yaml').assert('get', '/participants', 200, body)
    const bankEntry = body.find((o) => o.OrganisationId === bank.organisationId) as { AuthorisationServers: { OpenIDDiscoveryDocument: string; ApiResources: { ApiFamilyType: string }[] }[] }
    expect(bankEntry.AuthorisationServers[0]!.OpenIDDiscoveryDocument).toBe('https://localhost:8444/.well-known/openid-configuration')
    expect(bankEntry.AuthorisationServers[0]!.ApiResources.map((r) => r.ApiFamilyType)).toEqual(expect.arrayContaining(['consents', 'resources', 'accounts', 'credit-cards-accounts', 'loans', 'channels', 'opendata-accounts', 'admin', 'discovery']))
    expect(body.length).toBeGreaterThan(1)
  })
})

describe('payload-signing keys', () => {
  it('the sandbox publishes the bank\'s payload-signing key at /{bankOrgId}/application.jwks and names it in the participants list', async () => {
    const dispatcher = new Agent({ connect: { ca: pki.rootCertificatePem } })
    const res = await request(`${sandboxUrl}/${bank.organisationId}/application.jwks`, { dispatcher })
    expect(res.statusCode).toBe(200)
    const { keys } = (await res.body.json()) as { keys: Array<Record<string, unknown>> }
    const pem = await readFile(bankSigningFile, 'utf8')
    // The key the gateway signs with (read from the same file, decrypted with the passphrase) is the one published.
    const signing = await readPayloadSigningKey({ certFile: bankSigningFile, keyFile: bankSigningFile, passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
    expect(keys).toEqual([expect.objectContaining({ kty: 'RSA', kid: signing.kid, use: 'sig', alg: 'PS256', x5c: expect.any(Array) })])
    expect(pem).toContain('ENCRYPTED PRIVATE KEY')
    expect(pem).not.toContain('BEGIN PRIVATE KEY')
    // A BRSEAL-shaped certificate of the bank: its organisation id in UID, no clientAuth.
    const leaf = new X509Certificate(Buffer.from((keys[0]!.x5c as string[])[0]!, 'base64'))
    expect(leaf.subject).toContain(`UID=${bank.organisationId}`)
    expect(leaf.keyUsage ?? []).not.toContain('1.3.6.1.5.5.7.3.2')
    const participants = (await (await request(`${sandboxUrl}/participants`, { dispatcher })).body.json()) as Array<{ OrganisationId: string; AuthorisationServers: Array<{ PayloadSigningCertLocationUri: string; ApiResources: Array<{ ApiFamilyType: string; ApiVersion: number }> }> }>
    const entry = participants.find((o) => o.OrganisationId === bank.organisationId)!
    expect(entry.AuthorisationServers[0]!.PayloadSigningCertLocationUri).toBe(`${sandboxUrl}/${bank.organisationId}/application.jwks`)
    expect(entry.AuthorisationServers[0]!.ApiResources.filter((r) => r.ApiFamilyType.startsWith('payments')).map((r) => `${r.ApiFamilyType} ${r.ApiVersion}`))
      .toEqual(['payments-consents 4', 'payments-pix 4', 'payments-consents 5', 'payments-pix 5'])
    await dispatcher.close()
  })

  it('the connector gives an organisation\'s signing keys to the gateway, and 404 for one without a keystore', async () => {
    const t = await onboard('Keys TPP')
    const res = await connector.inject({ method: 'GET', url: `/internal/organisations/${t.organisationId}/jwks?kid=${encodeURIComponent(t.ss.signing.privateJwk.kid)}`, headers: await serviceHeaders() })
    expect(res.statusCode).toBe(200)
    const keys = res.json<{ keys: Array<{ kid: string; use?: string }> }>().keys
    expect(keys.map((k) => k.kid)).toContain(t.ss.signing.privateJwk.kid)
    expect(keys.every((k) => k.use === undefined || k.use === 'sig')).toBe(true)
    const none = await connector.inject({ method: 'GET', url: `/internal/organisations/${randomUUID()}/jwks`, headers: await serviceHeaders() })
    expect(none.statusCode).toBe(404)
    const noToken = await connector.inject({ method: 'GET', url: `/internal/organisations/${t.organisationId}/jwks` })
    expect(noToken.statusCode).toBe(401)
  })
})

describe('unknown organisations with a directory that does not tell the connector of changes', () => {
  it('forces one sync per minute at most, and the refusal says when the next one may run', async () => {
    const floored = createParticipantsSync({ ...parts, participantsUrl: `${sandboxUrl}/participants`, defaultIntervalS: 900, minForcedIntervalMs: 60_000 })
    const verify = createSsaVerifier({
      keystore: parts.keystore, store: parts.store, organisation: floored.organisation, nextForcedSyncAt: floored.nextForcedSyncAt,
      isAllowed: parts.isAllowed, ssaJwksUrl: `${sandboxUrl}/openbanking.jwks`, maxAgeS: 300, skewS: 30,
    })
    const a = await onboard('Floor A')
    await expect(verify(a.ss.ssa)).resolves.toMatchObject({ claims: { org_id: a.organisationId } })
    const b = await onboard('Floor B')
    const before = Date.now()
    const refused = await verify(b.ss.ssa).then(() => undefined, (err: unknown) => err as { ofbCode: string; message: string })
    expect(refused?.ofbCode).toBe('UNKNOWN_ORGANISATION')
    const at = /next directory sync may run at (\S+)$/.exec(refused!.message)?.[1]
    expect(at, refused!.message).toBeDefined()
    expect(Date.parse(at!)).toBeGreaterThan(before)
    expect(Date.parse(at!)).toBeLessThanOrEqual(before + 60_000)
  })
})

describe('sandbox directory refusals', () => {
  const base = { name: 'Org', roles: ['DADOS'] }
  it('refuses a NUL (or any control character) in a name with 400 in the envelope, not 500', async () => {
    for (const payload of [{ ...base, name: 'a\u0000b' }, { ...base, name: 'line\nbreak' }]) {
      const res = await sandboxApp.inject({ method: 'POST', url: '/sandbox/organisations', payload })
      expect(res.statusCode).toBe(400)
      expect(res.json().errors[0].code).toBe('INVALID_PARAMETER')
    }
  })

  const tls = () => ({ ca: pki.rootCertificatePem })
  const host = () => new URL(sandboxUrl).host
  const send = (lines: string[], body: string | Buffer = '') => rawRequest(sandboxUrl, [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body], { tls: tls() })
  const post = (path: string, contentType: string, body: string | Buffer) => send([`POST ${path} HTTP/1.1`, `Host: ${host()}`, `Content-Type: ${contentType}`, `Content-Length: ${Buffer.byteLength(body)}`], body)
  const table: Array<[string, () => Promise<RawResponse>, number, string]> = [
    ['bad URL encoding', () => send([`GET /%E0%A4%A/application.jwks HTTP/1.1`, `Host: ${host()}`]), 400, 'INVALID_REQUEST'],
    ['oversized path parameter', () => send([`GET /${'a'.repeat(600)}/application.jwks HTTP/1.1`, `Host: ${host()}`]), 414, 'URI_TOO_LONG'],
    ['oversized headers', () => send(['GET /participants HTTP/1.1', `Host: ${host()}`, `X-Big: ${'a'.repeat(20_000)}`]), 431, 'HEADERS_TOO_LARGE'],
    ['malformed framing', () => send(['POST /sandbox/organisations HTTP/1.1', `Host: ${host()}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n'), 400, 'INVALID_REQUEST'],
    ['unknown method', () => send(['DELETE /participants HTTP/1.1', `Host: ${host()}`]), 405, 'METHOD_NOT_ALLOWED'],
    ['wrong content type', () => post('/sandbox/organisations', 'application/xml', '<a/>'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['oversized body', () => post('/sandbox/organisations', 'application/json', Buffer.alloc(2 * 1_048_576, 0x20)), 413, 'PAYLOAD_TOO_LARGE'],
    ['malformed JSON', () => post('/sandbox/organisations', 'application/json', '{"name":'), 400, 'INVALID_REQUEST'],
    ['two Authorization headers', () => send(['GET /participants HTTP/1.1', `Host: ${host()}`, 'Authorization: Bearer a', 'Authorization: Bearer b']), 400, 'INVALID_REQUEST'],
  ]
  it.each(table)('%s → OFB envelope', async (_name, request, status, code) => {
    const res = await request()
    expect(res.status, res.body).toBe(status)
    const body = res.json as { errors: Array<{ code: string; title: string; detail: string }>; meta: { requestDateTime: string } }
    expect(body.errors).toHaveLength(1)
    expect(body.errors[0]).toEqual({ code, title: expect.any(String), detail: expect.any(String) })
    expect(body.meta.requestDateTime).toMatch(/Z$/)
    if (status === 405) expect(res.headers.allow).toBe('GET, HEAD')
  })
})

async function directoryEvents(): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const { rows } = await connectorPool.query<{ payload: { type: string; data: Record<string, unknown> } }>("select payload from outbox where topic = 'ponte.directory.v1' order by seq")
  return rows.map((r) => r.payload)
}

function importPrivate(jwk: object) {
  return importJWK(jwk as JWK, 'PS256')
}
