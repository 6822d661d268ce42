/**
 * auth-server benchmark (issue 6): `client_credentials` with `private_key_jwt` (PS256) over mTLS, as TPPs call it —
 * each load connection is one TPP connection (a new TLS handshake with its client certificate, no resumption per
 * FAPI-BR), keep-alive within it. Every request carries a fresh client assertion (oidc-provider refuses a replayed
 * `jti`), pre-signed before the run so the load generator does not compete for CPU while measuring. Also reports
 * the cost of one PS256 sign and one verify on this machine: the token endpoint verifies one assertion and signs one
 * access token per request, so those two numbers bound it.
 *
 * Standalone: `node bench/auth-client-credentials.ts` prints one JSON line. The server runs in a child process
 * (`node bench/auth-client-credentials.ts server`) against the real PostgreSQL (schema dropped at the end).
 * Env: BENCH_REQUESTS (default 4000), BENCH_CONNECTIONS (default 20), AUTH_BENCH_CPU_PROFILE_DIR (write a --cpu-prof
 * of the auth-server process there; read it with `node bench/cpuprofile.ts <file>`), AUTH_BENCH_COUNT_STATEMENTS=1
 * (count the SQL statements the server's pool runs, printed per statement text on stderr when it stops).
 */
import { spawn } from 'node:child_process'
import { constants, createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { createLogger, createPool, createRedis, fapiTlsOptions, generateServiceKeyPair, createServiceTokenIssuer, createServiceTokenVerifier, parsePublicKeys, migrate } from '@ponte/platform'
import { createDevCa, generateEncryptionKey, issueClientCertificate, issueServerCertificate, type IssuedSigningCertificate } from '@ponte/pki'
import { testInfra, testSchema } from '@ponte/testkit'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20)
const CODE_REQUESTS = Number(process.env.BENCH_CODE_REQUESTS ?? 1500)
const REFRESH_REQUESTS = Number(process.env.BENCH_REFRESH_REQUESTS ?? 2000)
const REDIRECT_URI = 'https://tpp.example.com/cb'

async function server(): Promise<void> {
  const src = '../services/auth-server/src/'
  const { buildApp } = await import(`${src}app.ts`)
  const { presentedCertificate } = await import(`${src}adapters/client-certificate.ts`)
  const { createKeyStore } = await import(`${src}adapters/key-store.ts`)
  const { createAttemptThrottle } = await import(`${src}adapters/attempt-throttle.ts`)
  const { loginRules } = await import(`${src}domain/throttle.ts`)
  const { createPgAdapter } = await import(`${src}adapters/pg-oidc-adapter.ts`)
  const { createClientCache } = await import(`${src}adapters/client-cache.ts`)
  const { createRedisReplayStore } = await import(`${src}adapters/replay-store.ts`)
  const { createRestrictedFetch } = await import(`${src}adapters/restricted-fetch.ts`)
  const { createConnectorsPort, createConsentPort, createDirectoryPort } = await import(`${src}adapters/services.ts`)
  const { createSubjectStore } = await import(`${src}adapters/subjects.ts`)
  const { createProvider } = await import(`${src}provider/configuration.ts`)
  const { createProviderHolder } = await import(`${src}provider/provider-holder.ts`)

  const logger = createLogger({ service: 'bench-auth', level: 'warn' })
  const schema = testSchema('bench_auth')
  await migrate({ url: schema.databaseUrl, schema: schema.name, dir: fileURLToPath(new URL('../services/auth-server/migrations', import.meta.url)) })
  const pool = createPool({ url: schema.databaseUrl, schema: schema.name, max: 10 })
  const statements = new Map<string, number>()
  if (process.env.AUTH_BENCH_COUNT_STATEMENTS === '1') {
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
    ;(pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = (typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text)).replace(/\s+/g, ' ').slice(0, 90)
      statements.set(text, (statements.get(text) ?? 0) + 1)
      return query(...args)
    }
  }
  const redis = createRedis(testInfra().redisUrl, logger)
  const ca = await createDevCa()
  const serverCert = await issueServerCertificate(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] })
  const tppCert = await issueClientCertificate(ca, { orgId: randomUUID(), softwareStatementId: randomUUID(), cnpj: '12345678000195', commonName: 'tpp.example.com' }) as IssuedSigningCertificate
  const enc = await generateEncryptionKey()
  const keyStore = createKeyStore(pool, randomBytes(32))
  await keyStore.ensureKeys()
  const clients = createClientCache(pool, createPgAdapter(pool), { schema: schema.name, logger })
  await clients.listen()
  const adapter = clients.adapter
  const replay = createRedisReplayStore(redis)
  const clientId = randomUUID()
  const orgId = (await import('@ponte/pki')).parseClientCertificate(tppCert.certificate).orgId
  const softwareId = (await import('@ponte/pki')).parseClientCertificate(tppCert.certificate).softwareStatementId
  await adapter('Client').upsert(clientId, {
    client_id: clientId, client_id_issued_at: Math.floor(Date.now() / 1000), grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code id_token'], redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256', id_token_signed_response_alg: 'PS256', authorization_signed_response_alg: 'PS256',
    id_token_encrypted_response_alg: 'RSA-OAEP', id_token_encrypted_response_enc: 'A256GCM', tls_client_certificate_bound_access_tokens: true,
    scope: 'openid consents resources', org_id: orgId, software_id: softwareId, jwks: { keys: [tppCert.publicJwk, enc.publicJwk] },
  } as never, undefined as never)
  const port = 0
  const pair = generateServiceKeyPair()
  const issuer = createServiceTokenIssuer('auth-server', pair.privateKeyPem)
  const internal = { issuer, timeoutMs: 1_000, baseUrl: 'http://127.0.0.1:9' }
  const certificates = { trustedProxies: [] as string[] }
  const subjects = createSubjectStore(pool)
  // The consent service, as a stand-in over HTTP (the token endpoint reads the consent of every code and refresh).
  const { consentStandIn, aConsent } = await import('../services/auth-server/test/support/stand-ins.ts')
  const consentState = { consents: new Map() }
  const consentApp = consentStandIn(logger, createServiceTokenVerifier('consent', parsePublicKeys(pair.publicKeyPem)), consentState)
  await consentApp.listen({ host: '127.0.0.1', port: 0 })
  const consents = createConsentPort({ ...internal, baseUrl: `http://127.0.0.1:${(consentApp.server.address() as { port: number }).port}` })
  const fetch = createRestrictedFetch({ allowedOrigins: ['https://keystore.directory.openbankingbrasil.org.br'] })
  let issuerUrl = 'https://127.0.0.1:0'
  const settings = { issuer: issuerUrl, accessTokenAudience: 'https://127.0.0.1:8443', accessTokenTtlS: 300, refreshTokenTtlS: 86_400 * 3660, discoveryScopes: ['openid', 'consents', 'resources'], cookieSecret: randomBytes(32).toString('base64url') }
  // The issuer must carry the port: listen first on a fixed free port.
  const net = await import('node:net')
  const probe = net.createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const chosen = (probe.address() as { port: number }).port
  await new Promise<void>((r) => probe.close(() => r()))
  issuerUrl = `https://127.0.0.1:${chosen || port}`
  settings.issuer = issuerUrl
  const holder = await createProviderHolder(keyStore, (jwks: unknown) => createProvider({
    settings, jwks, adapter, fetch, subjects, consents, replay, logger, certificate: (ctx: { req: never }) => presentedCertificate(ctx.req, certificates),
  }), logger)
  const app = buildApp({
    server: { logger, https: fapiTlsOptions({ cert: serverCert.chainPem, key: serverCert.privateKeyPem, clientCa: ca.chainPem }) },
    serviceAuth: createServiceTokenVerifier('auth-server', parsePublicKeys(pair.publicKeyPem)),
    pool, holder, directory: createDirectoryPort(internal), consents, connectors: createConnectorsPort(internal), subjects, fetch, certificates,
    throttle: createAttemptThrottle(redis, { prefix: 'bench:attempts' }),
    // No per-address request limit: the load comes from one address at thousands of tokens a minute, far beyond what
    // one TPP address sends (REQUEST_LIMIT_MTLS_PER_MIN), and the figures measure the token endpoint, not a 429.
    requestLimiter: undefined,
    loginRules: loginRules({ maxFailures: 5, holdS: 900, windowS: 900, addressMaxFailures: 100 }), offeredScopes: ['openid', 'consents'], csrfSecret: settings.cookieSecret, bankName: 'Bench',
    oidc: { issuer: issuerUrl, accessTokenAudience: settings.accessTokenAudience },
  })
  await app.listen({ host: '127.0.0.1', port: chosen })
  // Authorization codes and refresh tokens as the journey leaves them (one grant per authorization, a consent scope),
  // minted through the provider's own models: the load measures the exchange, not the customer's pages.
  const subject = await subjects.upsert('76109277673', [])
  const consent = { ...aConsent({ clientId, cpf: subject.cpf }), status: 'AUTHORISED' as const }
  consentState.consents.set(consent.consentId, consent)
  const provider = holder.current
  const client = await provider.Client.find(clientId)
  const codeVerifier = randomBytes(32).toString('base64url')
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url')
  const scope = `openid consents consent:${consent.consentId}`
  const authTime = Math.floor(Date.now() / 1000)
  const newGrant = async () => {
    const grant = new provider.Grant({ accountId: subject.sub, clientId })
    grant.addOIDCScope('openid')
    grant.addResourceScope(settings.accessTokenAudience, `consents consent:${consent.consentId}`)
    return grant.save()
  }
  const codes: string[] = []
  for (let i = 0; i < CODE_REQUESTS; i++) {
    codes.push(await new provider.AuthorizationCode({
      accountId: subject.sub, acr: 'urn:brasil:openbanking:loa2', authTime, client, codeChallenge, codeChallengeMethod: 'S256',
      grantId: await newGrant(), nonce: randomUUID(), redirectUri: REDIRECT_URI, resource: settings.accessTokenAudience, scope,
    }).save())
  }
  const refreshTokens: string[] = []
  for (let i = 0; i < CONNECTIONS; i++) {
    refreshTokens.push(await new provider.RefreshToken({
      accountId: subject.sub, acr: 'urn:brasil:openbanking:loa2', authTime, client, grantId: await newGrant(), gty: 'authorization_code',
      nonce: randomUUID(), resource: settings.accessTokenAudience, scope, rotations: 0, iiat: authTime,
    }).save())
  }
  process.stdout.write(`${JSON.stringify({ issuer: issuerUrl, clientId, cert: tppCert.chainPem, key: tppCert.privateKeyPem, privateJwk: tppCert.privateJwk, kid: tppCert.kid, codes, codeVerifier, refreshTokens })}\n`)
  process.once('SIGTERM', () => {
    void (async () => {
      if (statements.size) process.stderr.write(`${JSON.stringify({ statements: Object.fromEntries(statements) })}\n`)
      await app.close()
      await consentApp.close()
      await consents.close()
      await clients.stop()
      await redis.quit().catch(() => redis.disconnect())
      await pool.end()
      await schema.drop()
      process.exit(0)
    })().catch((err: unknown) => { console.error(err); process.exit(1) })
  })
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** A compact PS256 JWS (RFC 7518 §3.5: RSASSA-PSS, SHA-256, salt = hash length). */
function ps256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64({ ...header, alg: 'PS256' })}.${b64(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), { key, ...PSS }).toString('base64url')}`
}

/** Microbenchmark: one PS256 sign and one verify (RSA 2048), mean µs over `n` operations. */
async function ps256Cost(n = 300): Promise<{ signUs: number; verifyUs: number }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const payload = { iss: 'x', aud: 'y', jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 60 }
  let jws = ''
  let t = performance.now()
  for (let i = 0; i < n; i++) jws = ps256({ typ: 'JWT' }, payload, privateKey)
  const signUs = ((performance.now() - t) * 1000) / n
  const [h, p, sig] = jws.split('.')
  t = performance.now()
  for (let i = 0; i < n; i++) {
    if (!verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, ...PSS }, Buffer.from(sig!, 'base64url'))) throw new Error('verify failed')
  }
  const verifyUs = ((performance.now() - t) * 1000) / n
  return { signUs: Math.round(signUs), verifyUs: Math.round(verifyUs) }
}

async function main(): Promise<void> {
  const profileDir = process.env.AUTH_BENCH_CPU_PROFILE_DIR
  const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), 'server'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const info = await new Promise<{ issuer: string; clientId: string; cert: string; key: string; privateJwk: Record<string, unknown>; kid: string; codes: string[]; codeVerifier: string; refreshTokens: string[] }>((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error('auth-server did not start')), 60_000)
    child.stdout.on('data', (c) => {
      buf += String(c)
      // Only complete lines: the ready line (codes, tokens) spans several chunks.
      const line = buf.split('\n').slice(0, -1).find((l) => l.startsWith('{'))
      if (!line) return
      clearTimeout(timer)
      try { resolve(JSON.parse(line)) } catch (err) { reject(err as Error) }
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  }).catch((err: unknown) => {
    // A server that did not come up properly is not left behind.
    child.kill('SIGTERM')
    throw err
  })
  try {
    const url = new URL(info.issuer)
    if (url.hostname !== '127.0.0.1') throw new Error('loopback only')
    const key = createPrivateKey(info.key)
    const tokenUrl = `${info.issuer}/token`
    const now = Math.floor(Date.now() / 1000)
    const assertion = () => ps256({ kid: info.kid, typ: 'JWT' }, { iss: info.clientId, sub: info.clientId, aud: tokenUrl, jti: randomUUID(), iat: now, exp: now + 600 }, key)
    const form = (params: Record<string, string>) => new URLSearchParams({
      ...params, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(),
    }).toString()
    /** One closed-loop run of `bodies` (each used once) over CONNECTIONS mTLS connections. */
    const phase = async (bodies: string[]) => {
      let next = 0
      const result = await autocannon({
        url: tokenUrl,
        connections: Math.min(CONNECTIONS, bodies.length),
        amount: bodies.length,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        tlsOptions: { cert: info.cert, key: info.key },
        requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
      } as unknown as autocannon.Options)
      const lat = result.latency as unknown as Record<string, number>
      return { requests: bodies.length, tokensPerSecond: Math.round(result.requests.average), p50: lat.p50!, p99: lat.p99!, non2xx: result.non2xx, errors: result.errors + result.timeouts }
    }
    // Codes first: they live 60 s from the server's start.
    const code = await phase(info.codes.map((c) => form({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT_URI, code_verifier: info.codeVerifier })))
    const cc = await phase(Array.from({ length: REQUESTS }, () => form({ grant_type: 'client_credentials', scope: 'consents' })))
    const refresh = await phase(Array.from({ length: REFRESH_REQUESTS }, (_, i) => form({ grant_type: 'refresh_token', refresh_token: info.refreshTokens[i % info.refreshTokens.length]! })))
    const crypto = await ps256Cost()
    console.log(JSON.stringify({
      bench: 'auth-client-credentials',
      connections: CONNECTIONS,
      ...cc,
      authorizationCode: code,
      refreshToken: refresh,
      ps256SignUs: crypto.signUs,
      ps256VerifyUs: crypto.verifyUs,
    }))
    if ([cc, code, refresh].some((r) => r.non2xx > 0 || r.errors > 0)) process.exitCode = 1
  } finally {
    await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
  }
}

if (process.argv[2] === 'server') await server()
else await main()
