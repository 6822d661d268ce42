// End to end over mTLS against the REAL directory (sandbox + connector), consent and connectors apps, built through
// their own app factories on the real PostgreSQL and Kafka: onboard a TPP → DCR → client_credentials → create a
// consent → PAR → journey pages over HTTP → code + encrypted id_token → token → userinfo → refresh (same refresh token
// keeps working) → the TPP revokes the consent → ponte.consent.v1 → refresh fails.
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import * as oidc from 'openid-client'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallerContext } from '@ponte/contracts'
import {
  SERVICE_TOKEN_HEADER, createKafka, createOutboxRelay, createPool, createPublisher, fapiTlsOptions, migrate,
  type OutboxRelay, type Pool, type PonteServer, type Subscription,
} from '@ponte/platform'
import { loadOrCreateDevPki, TrustStore, type DevPki } from '@ponte/pki'
import { createTppFromParts, listen, testInfra, testLogger, testSchema, testServiceAuth, waitFor, type TestSchema, type TestTpp } from '@ponte/testkit'
// The real neighbours, through their app factories.
import { buildApp as buildDirectoryApp, buildSandboxApp } from '../../directory/src/app.ts'
import { createDirectoryHttp, createUndiciFetch } from '../../directory/src/adapters/http.ts'
import { createKeystore } from '../../directory/src/adapters/keystore.ts'
import { createPgDirectoryStore } from '../../directory/src/adapters/pg-directory-store.ts'
import { createPgSandboxStore } from '../../directory/src/adapters/pg-sandbox-store.ts'
import { createSecretBox } from '../../directory/src/adapters/secret-box.ts'
import { loadOrCreateSsaSigner } from '../../directory/src/adapters/ssa-signer.ts'
import { createHostAllowList } from '../../directory/src/domain/allow-list.ts'
import { createCertificateChecker } from '../../directory/src/domain/certificate-checker.ts'
import { createJwsVerifier } from '../../directory/src/domain/jws-verifier.ts'
import { createSandboxDirectory, type OnboardedSoftwareStatement } from '../../directory/src/domain/sandbox.ts'
import { createSsaVerifier } from '../../directory/src/domain/ssa-verifier.ts'
import { createParticipantsSync } from '../../directory/src/domain/sync.ts'
import { buildApp as buildConsentApp } from '../../consent/src/app.ts'
import { createConsentService, createIds, systemClock } from '../../consent/src/adapters/consent-service.ts'
import { DEFAULT_OFFERED_GROUPS } from '../../consent/src/domain/permissions.ts'
import { buildApp as buildConnectorsApp } from '../../connectors/src/app.ts'
import { createPgCore } from '../../connectors/src/adapters/pg-core.ts'
import { createPaginationKeys } from '../../connectors/src/domain/pagination.ts'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, seedDemoBank } from '../../connectors/src/seed/demo-bank.ts'
import { startConsumers } from '../src/adapters/consumers.ts'
import { Browser, checkboxValues, formValue, startAuthServer, type AuthServerHarness } from './support/harness.ts'

const REDIRECT = 'https://tpp.example.com.br/callback'
const bank = {
  organisationId: randomUUID(),
  name: 'Banco Ponte Teste S.A.',
  cnpj: '12345678000195',
  authorisationServerId: randomUUID(),
  authServerIssuer: 'https://localhost:8444',
  gatewayUrl: 'https://localhost:8443',
}

describe('end to end: real directory, consent and connectors', () => {
  const { logger } = testLogger('auth-e2e')
  const auth = testServiceAuth()
  const schemas: Record<string, TestSchema> = {
    directory: testSchema('e2e_directory'), sandbox: testSchema('e2e_sandbox'), consent: testSchema('e2e_consent'),
    core: testSchema('e2e_core'), auth: testSchema('e2e_auth'),
  }
  const pools: Pool[] = []
  const apps: PonteServer[] = []
  const closers: Array<() => Promise<unknown>> = []
  let dir: string
  let pki: DevPki
  let sandboxUrl: string
  let sandboxApp: PonteServer
  let consentApp: PonteServer
  let h: AuthServerHarness
  let relay: OutboxRelay
  let subs: Subscription[] = []
  let tpp: TestTpp
  let ss: OnboardedSoftwareStatement
  let organisationId: string

  const pool = async (s: TestSchema, migrations: string) => {
    await migrate({ url: s.databaseUrl, schema: s.name, dir: migrations })
    const p = createPool({ url: s.databaseUrl, schema: s.name, max: 5 })
    pools.push(p)
    return p
  }
  const gatewayHeaders = async (ctx: CallerContext) => ({ [SERVICE_TOKEN_HEADER]: await auth.issuer('gateway').sign('consent', ctx), 'x-fapi-interaction-id': randomUUID() })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ponte-auth-e2e-'))
    pki = await loadOrCreateDevPki(join(dir, 'pki'))
    const migrations = (svc: string, sub = 'migrations') => new URL(`../../${svc}/${sub}`, import.meta.url).pathname

    // 1. Directory: the sandbox central directory (TLS) and the directory connector (internal API).
    const sandboxPool = await pool(schemas.sandbox!, migrations('directory', 'migrations-sandbox'))
    const sandboxStore = createPgSandboxStore(sandboxPool)
    const signer = await loadOrCreateSsaSigner({ store: sandboxStore, box: createSecretBox(Buffer.alloc(32, 7)), ca: pki.ca, bankCnpj: bank.cnpj })
    const tls = () => fapiTlsOptions({ cert: pki.server.chainPem, key: pki.server.privateKeyPem, clientCa: pki.caBundlePem })
    const probe = buildSandboxApp({ server: { logger, https: tls() }, sandbox: createSandboxDirectory({ store: sandboxStore, ca: pki.ca, signer, publicUrl: 'https://127.0.0.1:0', ssaIssuer: 'Ponte e2e SSA issuer', bank }), ca: pki.ca })
    await probe.listen({ host: '127.0.0.1', port: 0 })
    const port = (probe.server.address() as AddressInfo).port
    await probe.close()
    sandboxUrl = `https://127.0.0.1:${port}`
    sandboxApp = buildSandboxApp({ server: { logger, https: tls() }, sandbox: createSandboxDirectory({ store: sandboxStore, ca: pki.ca, signer, publicUrl: sandboxUrl, ssaIssuer: 'Ponte e2e SSA issuer', bank }), ca: pki.ca })
    await sandboxApp.listen({ host: '127.0.0.1', port })
    apps.push(sandboxApp)
    const outbound = createUndiciFetch({ extraCaPem: pki.rootCertificatePem })
    closers.push(() => outbound.close())
    const isAllowed = createHostAllowList([`127.0.0.1:${port}`])
    const http = createDirectoryHttp({ fetch: outbound.fetch, isAllowed, timeoutMs: 5_000 })
    const keystore = createKeystore({ http, ttlMs: 600_000, minRefreshIntervalMs: 0, logger, now: () => Date.now() })
    const directoryPool = await pool(schemas.directory!, migrations('directory'))
    const sync = createParticipantsSync({ http, keystore, store: createPgDirectoryStore(directoryPool), participantsUrl: `${sandboxUrl}/participants`, defaultIntervalS: 900, minForcedIntervalMs: 0, logger })
    const directoryApp = buildDirectoryApp({
      server: { logger },
      serviceAuth: auth.verifier('directory'),
      verifySsa: createSsaVerifier({ keystore, store: createPgDirectoryStore(directoryPool), organisation: sync.organisation, isAllowed, ssaJwksUrl: `${sandboxUrl}/openbanking.jwks`, maxAgeS: 300, skewS: 30 }),
      checkCertificate: createCertificateChecker({ trustStore: TrustStore.fromPem(pki.rootCertificatePem) }),
      verifyJws: createJwsVerifier({ keystore, keystoreUrl: sandboxUrl }),
      organisation: sync.organisation,
      participantCertificates: async () => ({ certificates: [], unreadable: [] }),
    })
    apps.push(directoryApp)
    const directoryUrl = await listen(directoryApp)

    // 2. Consent service, with its outbox relayed to the real Kafka.
    const consentPool = await pool(schemas.consent!, migrations('consent'))
    const consents = createConsentService({ pool: consentPool, clock: systemClock, ids: createIds('ponte'), offeredGroups: new Set(DEFAULT_OFFERED_GROUPS) })
    consentApp = buildConsentApp({ serviceAuth: auth.verifier('consent'), consents, publicBaseUrl: 'https://api.ponte.test', regulatedCallers: ['gateway'], server: { logger } })
    apps.push(consentApp)
    const consentUrl = await listen(consentApp)
    const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'auth-e2e', logger })
    const publisher = createPublisher(kafka)
    relay = createOutboxRelay({ pool: consentPool, publisher, logger, intervalMs: 100 })
    closers.push(() => publisher.disconnect())

    // 3. Connectors with the seeded demo bank.
    const corePool = await pool(schemas.core!, migrations('connectors'))
    await seedDemoBank(corePool)
    const connectorsApp = buildConnectorsApp({
      server: { logger }, serviceAuth: auth.verifier('connectors'), core: createPgCore(corePool),
      paginationKeys: createPaginationKeys('e2e-pagination-secret-0123456789abcdef'), publicBaseUrl: 'https://api.ponte.test',
      brand: { brandName: 'Banco Ponte', companyCnpj: bank.cnpj },
    })
    apps.push(connectorsApp)
    const connectorsUrl = await listen(connectorsApp)

    // 4. The auth-server, allowed to fetch client keys from the sandbox keystore only, consuming the real topics.
    h = await startAuthServer({
      ca: pki.ca, schema: schemas.auth!, logger, issuer: auth.issuer('auth-server'), verifier: auth.verifier('auth-server'),
      jwksOrigins: [sandboxUrl], directoryUrl, consentUrl, connectorsUrl,
    })
    subs = await startConsumers({ kafka, pool: h.pool, logger, groupPrefix: `auth-e2e-${schemas.auth!.name}` })
    await Promise.all(subs.map((s) => s.ready))

    // 5. Onboard a TPP in the sandbox directory.
    const org = await sandboxApp.inject({ method: 'POST', url: '/sandbox/organisations', payload: { name: 'Fintech Exemplo', roles: ['DADOS'] } })
    organisationId = org.json<{ organisationId: string }>().organisationId
    const created = await sandboxApp.inject({
      method: 'POST', url: `/sandbox/organisations/${organisationId}/softwarestatements`,
      payload: { clientName: 'App Exemplo', redirectUris: [REDIRECT], webhookUris: ['https://tpp.example.com.br/webhook'] },
    })
    ss = created.json<OnboardedSoftwareStatement>()
    await sync.syncNow()
    tpp = createTppFromParts({
      orgId: organisationId, softwareId: ss.softwareStatementId, cnpj: '12345678000195', trustPem: pki.caBundlePem,
      transport: ss.transport,
      signing: { privateJwk: ss.signing.privateJwk as unknown as Record<string, unknown>, kid: String(ss.signing.privateJwk.kid) },
      encryption: { privateJwk: ss.encryption.privateJwk as unknown as Record<string, unknown>, kid: String(ss.encryption.privateJwk.kid) },
    })
  }, 120_000)

  afterAll(async () => {
    for (const s of subs) await s.stop().catch(() => undefined)
    await relay?.stop()
    await h?.close()
    await tpp?.close()
    for (const a of apps) await a.close().catch(() => undefined)
    for (const c of closers) await c().catch(() => undefined)
    for (const p of pools) await p.end().catch(() => undefined)
    for (const s of Object.values(schemas)) await s.drop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('onboards, registers, authorises through the journey, refreshes, and loses the refresh token when the consent is revoked', async () => {
    // A fresh SSA from the directory, fetched over mTLS with the transport certificate.
    const agent = new Agent({ connect: { ca: pki.rootCertificatePem, cert: ss.transport.chainPem, key: ss.transport.privateKeyPem } })
    const assertion = await request(`${sandboxUrl}/organisations/${organisationId}/softwarestatements/${ss.softwareStatementId}/assertion`, { dispatcher: agent })
    const ssa = await assertion.body.text()
    await agent.close()
    expect(assertion.statusCode).toBe(200)

    // DCR over mTLS.
    const reg = await tpp.fetch(`${h.issuer}/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ software_statement: ssa, redirect_uris: [REDIRECT], webhook_uris: ['https://tpp.example.com.br/webhook'] }),
    })
    const client = await reg.json() as Record<string, string>
    expect(reg.status, JSON.stringify(client)).toBe(201)
    expect(client.jwks_uri).toBe(ss.jwksUri)
    const config = await tpp.oidc(h.issuer, client.client_id!)

    // client_credentials → a consent created through the consent service's regulated API (as the gateway forwards it).
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'consents' })
    expect(decodeJwt(cc.access_token)).toMatchObject({ client_id: client.client_id, scope: 'consents' })
    const ctx: CallerContext = { clientId: client.client_id!, organisationId, softwareStatementId: ss.softwareStatementId, scopes: ['consents'] }
    const created = await consentApp.inject({
      method: 'POST', url: '/open-banking/consents/v3/consents', headers: await gatewayHeaders(ctx),
      payload: { data: { loggedUser: { document: { identification: DEMO_CUSTOMERS.ana.cpf, rel: 'CPF' } }, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'] } },
    })
    expect(created.statusCode, created.body).toBe(201)
    const consentId = created.json<{ data: { consentId: string } }>().data.consentId

    // PAR with a signed request object and PKCE S256, then the journey pages over HTTP.
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: REDIRECT, scope: `openid accounts consent:${consentId}`, code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', state, nonce, response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
    }, { key: await tpp.signingKey(), kid: String(ss.signing.privateJwk.kid) })
    const authUrl = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)
    const browser = new Browser(h.browserFetch)
    const loginPage = await browser.follow(authUrl.toString(), REDIRECT)
    expect(loginPage.body).toContain('<label for="cpf">CPF</label>')
    const login = await browser.request(`${loginPage.url}/login`, { form: { csrf: formValue(loginPage.body, 'csrf'), cpf: DEMO_CUSTOMERS.ana.cpf, senha: DEMO_PASSWORD } })
    expect(login.status).toBe(303)
    const review = await browser.follow(login.location!, REDIRECT)
    expect(review.body).toContain('Autorizar')
    const accounts = checkboxValues(review.body)
    expect(accounts.length).toBeGreaterThan(0)
    const confirm = await browser.request(`${review.url}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', resource: accounts.slice(0, 1) } })
    const done = await browser.follow(confirm.location!, REDIRECT)
    const fragment = new URLSearchParams(new URL(done.url).hash.slice(1))
    expect(decodeProtectedHeader(fragment.get('id_token')!)).toMatchObject({ alg: 'RSA-OAEP', enc: 'A256GCM' })

    // Token, userinfo, refresh.
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
    expect(tokens.claims()!.acr).toBe('urn:brasil:openbanking:loa2')
    expect(decodeJwt(tokens.access_token).consent_id).toBe(consentId)
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)
    expect(userinfo.cpf).toBe(DEMO_CUSTOMERS.ana.cpf)
    const lookup = await consentApp.inject({ method: 'GET', url: `/internal/consents/${consentId}`, headers: { [SERVICE_TOKEN_HEADER]: await auth.issuer('auth-server').sign('consent') } })
    expect(lookup.json()).toMatchObject({ status: 'AUTHORISED', resources: [{ type: 'ACCOUNT' }] })
    await oidc.refreshTokenGrant(config, tokens.refresh_token!)
    const again = await oidc.refreshTokenGrant(config, tokens.refresh_token!)
    expect(decodeJwt(again.access_token).consent_id).toBe(consentId)

    // The TPP revokes the consent: consent.rejected reaches the auth-server through Kafka and the refresh token dies.
    const revoked = await consentApp.inject({ method: 'DELETE', url: `/open-banking/consents/v3/consents/${consentId}`, headers: await gatewayHeaders(ctx) })
    expect(revoked.statusCode, revoked.body).toBe(204)
    await waitFor(async () => (await h.pool.query('select 1 from consent_grants where consent_id = $1', [consentId])).rowCount === 0, { timeoutMs: 30_000, what: 'consent.rejected consumed' })
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
  })
})
