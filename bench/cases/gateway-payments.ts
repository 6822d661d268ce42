/**
 * Payments through the gateway against the real services (issue 14), beside the data path, in one run:
 *   1. `GET /open-banking/accounts/v2/accounts/{accountId}` (consent-bound token, consent looked up in consent, account
 *      read from the reference core by connectors): the data path the payment rows are read against;
 *   2. `POST /open-banking/payments/v4/consents`: the TPP's PS256 JWS verified (key from the directory stand-in),
 *      `aud`/`iss`/`iat` checked, `jti` claimed in Redis, `{"data": …}` forwarded to the consent service, which checks
 *      the body, claims the `x-idempotency-key` and writes the consent and its outbox event in one transaction; the 201
 *      signed with the bank's key;
 *   3. `POST /open-banking/payments/v4/pix/payments`: one payment for each consent row 2 created (authorised in between
 *      through consent's internal API, as the auth-server does): JWS and idempotency as above, then connectors reads the
 *      consent, checks the item against it, looks the Pix key up in the DICT, stores the payment under its idempotency
 *      key, debits the reference core's Pix rail, consumes the consent; the 201 signed.
 * Processes: the gateway (composed as main.ts composes it, bench/gateway-servers.ts), consent and connectors (their
 * main.ts, own PostgreSQL schemas, the demo bank seeded), a node:http stand-in of the auth-server's JWKS and the directory;
 * the load generator (autocannon) here. Every request carries a fresh token and JWS, signed before its row starts (a Pix payment's JWS when it is sent: that row may outlast the 60 s `iat` window; the signing is the load generator's cost).
 *
 * JWS CPU per request is measured in the run itself, in the gateway: every RSA-PSS sign and verify call (the request's
 * signature check and the answer's signing; nothing else in the gateway uses PSS through node:crypto) is timed with
 * the calling thread's CPU clock (`process.threadCpuUsage` before and after the synchronous call, bench/gateway-servers.ts
 * GATEWAY_BENCH_JWS_CPU), so the figure is CPU time, not wall time, whatever else the machine runs. The same two
 * operations timed in a tight loop in this process are given as a cross-check. Access tokens are verified by jose on
 * WebCrypto's thread pool, and are not part of that figure.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { constants, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify } from 'node:crypto'
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { request } from 'undici'
import { createServiceTokenIssuer, generateServiceKeyPair, SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { DEV_PAYLOAD_SIGNING_PASSPHRASE, issueClientCertificate, loadOrCreateDevPayloadSigningKey, loadOrCreateDevPki } from '@ponte/pki'
import { freePorts, repoRoot, serviceTestEnv, testSchema } from '@ponte/testkit'
import { demoId, DEMO_CUSTOMERS, DEMO_PIX_KEYS } from '../../services/connectors/src/seed/demo-bank.ts'
import { DEFAULT_ISPB } from '../../services/connectors/src/domain/pix.ts'
import { startChild, type BenchResult, type BenchRow } from '../lib.ts'

const SECONDS = 5
const CONNECTIONS = 20
const PIX_MAX = 1_500
const BANK_ORG = '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b'
const ACCOUNTS = '/open-banking/accounts/v2/accounts'
const CONSENTS = '/open-banking/payments/v4/consents'
const PIX = '/open-banking/payments/v4/pix/payments'
const AUD_BASE = 'https://localhost:8443'
const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const log = (m: string) => process.stderr.write(`gateway-payments: ${m}\n`)

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** A service's main.ts in its own process (warn-level logs, as a tuned deployment), ready once `/readyz` answers 200. */
async function startService(name: 'consent' | 'connectors', env: Record<string, string>, port: number, logFile: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const out = openSync(logFile, 'a')
  const child: ChildProcess = spawn(process.execPath, ['src/main.ts'], { cwd: `${repoRoot}services/${name}`, env: { ...process.env, ...env }, stdio: ['ignore', out, out] })
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    try {
      const res = await request(`http://127.0.0.1:${port}/readyz`)
      await res.body.dump()
      if (res.statusCode === 200) return { pid: child.pid!, stop }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { await stop(); throw new Error(`${name} not ready within 60 s`) }
    await new Promise((r) => setTimeout(r, 250))
  }
}

export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg()
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const dir = mkdtempSync(join(tmpdir(), 'ponte-pay-bench-'))
  // consent's and connectors' logs (warn and above), kept when a row has refusals.
  const logDir = mkdtempSync(join(tmpdir(), 'ponte-pay-bench-logs-'))
  const orgId = randomUUID()
  const clientId = 'bench-client'
  const client = await issueClientCertificate(pki.ca, { orgId, softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const caPem = readFileSync(pki.files.caBundle)
  writeFileSync(`${dir}/ca.pem`, caPem)
  writeFileSync(`${dir}/server.chain.pem`, readFileSync(pki.files.serverChain))
  writeFileSync(`${dir}/server.key.pem`, readFileSync(pki.files.serverPrivateKey))

  // The auth-server's token key (a stand-in JWKS) and the TPP's payload-signing key (the directory stand-in's keys).
  const auth = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [{ ...auth.publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'PS256', use: 'sig' }] }))
  const tpp = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/tpp-jwks.json`, JSON.stringify({ keys: [{ ...tpp.publicKey.export({ format: 'jwk' }), kid: 'tpp-sig', alg: 'PS256', use: 'sig' }] }))
  const jwt = (header: unknown, claims: unknown, key = auth.privateKey) => {
    const input = `${b64(header)}.${b64(claims)}`
    return `${input}.${sign('sha256', Buffer.from(input), { key, ...PSS }).toString('base64url')}`
  }
  const token = (scope: string, consentId?: string) => {
    const now = Math.floor(Date.now() / 1000)
    return jwt({ alg: 'PS256', kid: 'bench', typ: 'at+jwt' }, { iss: 'https://auth.bench', aud: 'https://gateway.bench', sub: clientId, iat: now, exp: now + 900, client_id: clientId, scope, cnf: { 'x5t#S256': client.x5tS256 }, ...(consentId ? { consent_id: consentId } : {}) })
  }
  const signed = (path: string, data: unknown) => jwt({ alg: 'PS256', typ: 'JWT', kid: 'tpp-sig' }, { aud: `${AUD_BASE}${path}`, iss: orgId, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), data }, tpp.privateKey)

  // consent and connectors as `make up` runs them, on schemas of their own; one service-token key pair for all.
  const service = generateServiceKeyPair()
  const tokenEnv = { SERVICE_TOKEN_PRIVATE_KEY: service.privateKeyPem, SERVICE_TOKEN_PUBLIC_KEYS: service.publicKeyPem }
  const shared = { ...(await serviceTestEnv(tokenEnv, { redisDb: 15 })), LOG_LEVEL: 'warn' }
  const [consentPort, connectorsPort] = await freePorts(2) as [number, number]
  const schemas = { consent: testSchema('bench_pay_consent'), connectors: testSchema('bench_pay_core') }
  const consentUrl = `http://127.0.0.1:${consentPort}`
  const connectorsUrl = `http://127.0.0.1:${connectorsPort}`
  const stops: Array<() => Promise<void>> = []
  try {
    const consentSvc = await startService('consent', { ...shared, PORT: String(consentPort), HOST: '127.0.0.1', DB_SCHEMA: schemas.consent.name, PUBLIC_BASE_URL: 'https://gateway.ponte.test' }, consentPort, `${logDir}/consent.log`)
    stops.push(consentSvc.stop)
    const connectorsSvc = await startService('connectors', {
      ...shared, PORT: String(connectorsPort), HOST: '127.0.0.1', DB_SCHEMA: schemas.connectors.name, SEED_DEMO_BANK: 'true', PUBLIC_BASE_URL: 'https://gateway.ponte.test',
      CONSENT_URL: consentUrl, PIX_DAILY_LIMIT: '1000000000.00', WEBHOOKS_ENABLED: 'false',
    }, connectorsPort, `${logDir}/connectors.log`)
    stops.push(connectorsSvc.stop)

    writeFileSync(`${dir}/setup.json`, JSON.stringify({
      orgId, servicePrivateKeyPem: service.privateKeyPem, servicePublicKeyPem: service.publicKeyPem, consent: {},
      organisation: { organisationId: orgId, name: 'Bench TPP', cnpj: '11222333000181', status: 'Active', roles: [{ role: 'PAGTO', status: 'Active' }, { role: 'DADOS', status: 'Active' }] },
      consentUrl, connectorsUrl, limitEndpoints: [`POST ${CONSENTS}`, `POST ${PIX}`],
    }))
    const servers = fileURLToPath(new URL('../gateway-servers.ts', import.meta.url))
    const upstream = await startChild(servers, { args: ['upstream', dir] })
    stops.push(upstream.stop)
    const setup = JSON.parse(readFileSync(`${dir}/setup.json`, 'utf8')) as Record<string, unknown>
    writeFileSync(`${dir}/setup.json`, JSON.stringify({ ...setup, upstreamPort: upstream.info.port }))
    const gateway = await startChild(servers, { args: ['gateway', dir], env: { GATEWAY_BENCH_LOG_FILE: `${logDir}/gateway.log`, GATEWAY_BENCH_JWS_CPU: `${dir}/jws-cpu.json` } })
    stops.push(gateway.stop)
    const base = `https://127.0.0.1:${gateway.info.port as number}`
    const tlsOptions = { cert: client.chainPem, key: client.privateKeyPem, ca: caPem, rejectUnauthorized: true, servername: 'localhost' }

    // A data consent of Ana over her checking account, created and authorised through consent's APIs as the gateway
    // and the auth-server call them.
    const gatewayIssuer = createServiceTokenIssuer('gateway', service.privateKeyPem)
    const authIssuer = createServiceTokenIssuer('auth-server', service.privateKeyPem)
    const call = async (method: 'POST' | 'GET', url: string, headers: Record<string, string>, body?: unknown) => {
      const res = await request(url, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) })
      const text = await res.body.text()
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`)
      return JSON.parse(text) as { data: { consentId: string } }
    }
    const anaAccount = demoId('ana:checking')
    const created = await call('POST', `${consentUrl}/open-banking/consents/v3/consents`, {
      [SERVICE_TOKEN_HEADER]: await gatewayIssuer.sign('consent', { clientId, organisationId: orgId, scopes: ['consents'] }), 'x-fapi-interaction-id': randomUUID(),
    }, { data: { loggedUser: { document: { identification: DEMO_CUSTOMERS.ana.cpf, rel: 'CPF' } }, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'] } })
    const dataConsent = created.data.consentId
    await call('POST', `${consentUrl}/internal/consents/${dataConsent}/authorise`, { [SERVICE_TOKEN_HEADER]: await authIssuer.sign('consent') },
      { resources: [{ type: 'ACCOUNT', resourceId: anaAccount }], authenticatedUser: { cpf: DEMO_CUSTOMERS.ana.cpf } })
    const dataToken = token(`openid accounts consent:${dataConsent}`, dataConsent)

    const m = DEMO_PIX_KEYS.merchant
    const creditorAccount = { ispb: m.ispb, issuer: m.issuer, number: m.number, accountType: m.accountType }
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(new Date())
    const consentData = {
      loggedUser: { document: { identification: DEMO_CUSTOMERS.ana.cpf, rel: 'CPF' } },
      creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: m.document, name: m.name },
      payment: { type: 'PIX', date: today, currency: 'BRL', amount: '0.01', details: { localInstrument: 'DICT', proxy: m.key, creditorAccount } },
    }
    const clientToken = token('payments')
    const headers = (auth: string) => ({ authorization: `Bearer ${auth}`, 'content-type': 'application/jwt', accept: 'application/jwt', 'x-fapi-interaction-id': randomUUID() })

    // Closed-loop autocannon run; `bodies[i]` (with its own token and idempotency key) feeds request i.
    type Req = { body?: string | (() => string); token: string }
    const once = async (name: string, method: 'GET' | 'POST', path: string, reqs: Req[], o: { seconds?: number; onBody?: (body: string) => void }) => {
      let next = 0
      const refusals = new Map<number, string>()
      const cpu0 = cpuSeconds(gateway.pid)
      const result = await autocannon({
        url: `${base}${path}`, connections: o.seconds ? CONNECTIONS : Math.min(CONNECTIONS, reqs.length), tlsOptions,
        ...(o.seconds ? { duration: o.seconds } : { amount: reqs.length }),
        requests: [{
          method, path,
          setupRequest: (req: Record<string, unknown>) => {
            const r = reqs[next++ % reqs.length]!
            // A body given as a function is signed when sent, so its iat holds however long the row runs.
            const body = typeof r.body === 'function' ? r.body() : r.body
            return { ...req, headers: { ...headers(r.token), 'x-idempotency-key': randomUUID() }, ...(body ? { body } : {}) }
          },
          onResponse: (status: number, body: string) => {
            if (status < 300) o.onBody?.(body)
            else refusals.set(status, (refusals.get(status) ?? '') || body.slice(0, 600))
          },
        }],
      } as unknown as autocannon.Options)
      const lat = result.latency as unknown as Record<string, number>
      const requests = result.requests.total
      const gatewayCpuUs = Math.round(((cpuSeconds(gateway.pid) - cpu0) * 1e6) / Math.max(1, requests))
      const row: BenchRow = { case: name, requestsPerSecond: Math.round(result.requests.average), p50: lat.p50 ?? 0, p99: lat.p99 ?? 0, errors: result.errors + result.timeouts, non2xx: result.non2xx, note: `gateway CPU ${gatewayCpuUs} µs/request` }
      if (refusals.size) log(`${name}: non-2xx ${[...refusals].map(([s, b]) => `${s} ${b}`).join(' | ')}`)
      return { row, requests, non2xx: result.non2xx }
    }
    const consentIds: string[] = []
    const collect = (body: string) => { consentIds.push((JSON.parse(Buffer.from(body.split('.')[1]!, 'base64url').toString('utf8')) as { data: { consentId: string } }).data.consentId) }
    const consentReqs = (n: number) => Array.from({ length: n }, () => ({ token: clientToken, body: signed(CONSENTS, consentData) }))
    // Authorises the consents collected so far (as the auth-server does after the journey) and signs one payment each.
    const authoriseAndSign = async (): Promise<Req[]> => {
      const ids = consentIds.splice(0)
      const out: Req[] = []
      for (let i = 0; i < ids.length; i += 20) {
        await Promise.all(ids.slice(i, i + 20).map(async (id) => call('POST', `${consentUrl}/internal/payment-consents/${id}/authorise`, { [SERVICE_TOKEN_HEADER]: await authIssuer.sign('consent') },
          { authenticatedUser: { cpf: DEMO_CUSTOMERS.ana.cpf }, acr: 'urn:brasil:openbanking:loa3', debtorAccount: { resourceId: anaAccount, account: { ispb: DEFAULT_ISPB, issuer: '0001', number: '00012345', accountType: 'CACC' } } })))
      }
      for (const id of ids) {
        const stamp = new Date().toISOString().replace(/[-T:]/g, '').slice(0, 12)
        const item = { endToEndId: `E${DEFAULT_ISPB}${stamp}${randomBytes(8).toString('hex').slice(0, 11)}`, localInstrument: 'DICT', payment: { amount: '0.01', currency: 'BRL' }, creditorAccount, proxy: m.key, cnpjInitiator: '11222333000181' }
        out.push({ token: token(`openid payments consent:${id}`, id), body: () => signed(PIX, [item]) })
      }
      return out
    }

    log('warm-up')
    const accountReqs = [{ token: dataToken }]
    await once('warm-up accounts', 'GET', `${ACCOUNTS}/${anaAccount}`, accountReqs, { seconds: 2 })
    await once('warm-up consents', 'POST', CONSENTS, consentReqs(2_000), { seconds: 2, onBody: collect })
    const warmPix = (await authoriseAndSign()).slice(0, 300)
    if (warmPix.length) await once('warm-up pix', 'POST', PIX, warmPix, {})
    else log('the warm-up created no payment consent; Pix payments start cold')

    log('accounts')
    const accounts = await once(`GET /accounts/{accountId}, ${CONNECTIONS} connections`, 'GET', `${ACCOUNTS}/${anaAccount}`, accountReqs, { seconds: SECONDS })
    log('payment consents')
    consentIds.length = 0
    const consents = await once(`signed POST /payments/v4/consents, ${CONNECTIONS} connections`, 'POST', CONSENTS, consentReqs(6_000), { seconds: SECONDS, onBody: collect })
    consentIds.splice(PIX_MAX)
    const created201 = consentIds.length
    log(`authorising ${created201} consents`)
    const pixReqs = await authoriseAndSign()
    if (!pixReqs.length) throw new Error('the consent row created no payment consent')
    log('pix payments')
    const pix = await once(`signed POST /payments/v4/pix/payments (one per consent, ${pixReqs.length} payments), ${CONNECTIONS} connections`, 'POST', PIX, pixReqs, {})

    // Stop the gateway: it writes the CPU its JWS calls took (warm-up rows included, as the counts are).
    await gateway.stop()
    stops.splice(stops.indexOf(gateway.stop), 1)
    const jws = JSON.parse(readFileSync(`${dir}/jws-cpu.json`, 'utf8')) as Record<'sign' | 'verify', { calls: number; us: number }>

    // The same two operations timed in a tight loop (RSA-2048 PSS, the run's keys).
    const bank = await loadOrCreateDevPayloadSigningKey(pki.dir, pki.ca, { orgId: BANK_ORG, cnpj: '12345678000195', commonName: 'Banco Ponte Demo S.A.', passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
    const bankKey = createPrivateKey({ key: /-----BEGIN ENCRYPTED PRIVATE KEY-----[\s\S]+?-----END ENCRYPTED PRIVATE KEY-----/.exec(readFileSync(bank.file, 'utf8'))![0], passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
    const sample = signed(PIX, [{ endToEndId: 'E0', payment: { amount: '0.01', currency: 'BRL' } }]).split('.')
    const input = Buffer.from(`${sample[0]}.${sample[1]}`)
    const sig = Buffer.from(sample[2]!, 'base64url')
    const N = 300
    const v0 = process.cpuUsage()
    for (let i = 0; i < N; i++) verify('sha256', input, { key: tpp.publicKey, ...PSS }, sig)
    const v = process.cpuUsage(v0)
    const s0 = process.cpuUsage()
    for (let i = 0; i < N; i++) sign('sha256', input, { key: bankKey, ...PSS })
    const s = process.cpuUsage(s0)
    const verifyLoopUs = Math.round((v.user + v.system) / N)
    const signLoopUs = Math.round((s.user + s.system) / N)
    const verifyUs = Math.round(jws.verify.us / Math.max(1, jws.verify.calls))
    const signUs = Math.round(jws.sign.us / Math.max(1, jws.sign.calls))

    return {
      title: 'Payments through the gateway: payment consent creation and Pix initiation beside GET /accounts/{accountId}',
      description: 'One run, one gateway process (composed as main.ts composes it) in front of the real consent and connectors services (their main.ts, ' +
        'their own PostgreSQL schemas, the demo bank seeded; connectors\' webhooks off), all over mTLS from the load generator with a fresh token per consent. ' +
        '`GET /accounts/{accountId}`: consent-bound token, consent looked up in consent, account read from the reference core. `POST /payments/v4/consents`: ' +
        'the TPP\'s PS256 JWS verified, aud/iss/iat checked, jti claimed in Redis, consent\'s body checks, idempotency key and insert with its outbox event in one ' +
        'transaction, the 201 signed with the bank\'s PS256 key. `POST /payments/v4/pix/payments`: one payment for each consent the previous row created ' +
        '(authorised in between through consent\'s internal API): JWS and idempotency as above, the consent read from consent, the item checked against it, ' +
        'the Pix key looked up in the DICT, payment and idempotency record in one transaction, the reference core\'s Pix debit (balance and daily limit, per ' +
        `customer lock: every payment debits the same customer), the consent consumed; the 201 (ACPD) signed. ${CONNECTIONS} keep-alive connections, closed ` +
        `loop, ${SECONDS} s for the first two rows, the third until every consent is paid.`,
      rows: [accounts.row, consents.row, pix.row],
      notes: [
        `JWS CPU per signed request, measured in the gateway during this run (thread CPU time of each RSA-PSS call: ${jws.verify.calls} request signatures verified, ${jws.sign.calls} answers signed, warm-up included): ${verifyUs + signUs} µs (verify ${verifyUs}, sign ${signUs}).`,
        `The same operations in a tight loop in the harness (RSA-2048 PSS): verify ${verifyLoopUs} µs, sign ${signLoopUs} µs. Access-token verification (jose, WebCrypto thread pool) is outside both figures.`,
        `Pix payments paid: ${pix.requests - pix.non2xx} of ${pixReqs.length} consents created in the consent row (${created201} answered 201).`,
        `Machine load average (1 min) at the start and the end of the case: ${loadBefore[0]!.toFixed(1)}, ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs (other people's tests and benchmarks share the machine).`,
      ],
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    // What consent and connectors logged at error level (the cause of a 500 in a row), shown before the logs go.
    for (const name of ['gateway', 'consent', 'connectors']) {
      const errors = (existsSync(`${logDir}/${name}.log`) ? readFileSync(`${logDir}/${name}.log`, 'utf8') : '').split('\n').filter((l) => /"level":"(error|fatal)"/.test(l))
      if (errors.length) log(`${name}: ${errors.length} error lines, first: ${errors.slice(0, 2).join(' | ').slice(0, 2_000)}`)
    }
    rmSync(logDir, { recursive: true, force: true })
    await schemas.consent.drop().catch(() => undefined)
    await schemas.connectors.drop().catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  }
}
