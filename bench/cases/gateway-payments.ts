/**
 * Payment consent creation through the gateway (issue 14): `POST /open-banking/payments/v4/consents` with a signed
 * request body (PS256 JWS verified with the TPP's key, `aud`/`iss`/`iat` checked, `jti` claimed in Redis) forwarded as
 * JSON to a stand-in consent service (node:http, fixed 201 body), and the answer re-issued as a JWS signed with the
 * bank's key. The gateway is composed as main.ts composes it (bench/gateway-servers.ts); every request carries a fresh
 * JWS (pre-signed before the run, so the load generator does not sign in the loop). Reported: requests/s, p50/p99, the
 * gateway's CPU per request (from /proc), and the CPU the two JWS operations cost per request (verify + sign, measured
 * in a tight loop with the same key sizes).
 */
import { constants, generateKeyPairSync, randomUUID, sign, verify, createPrivateKey } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { generateServiceKeyPair } from '@ponte/platform'
import { DEV_PAYLOAD_SIGNING_PASSPHRASE, issueClientCertificate, loadOrCreateDevPayloadSigningKey, loadOrCreateDevPki } from '@ponte/pki'
import { startChild, type BenchResult, type BenchRow } from '../lib.ts'

const PATH = '/open-banking/payments/v4/consents'
const SECONDS = 5
const CONNECTIONS = 20
const BODIES = 8_000
const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

export async function run(): Promise<BenchResult> {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const dir = mkdtempSync(join(tmpdir(), 'ponte-pay-bench-'))
  const orgId = randomUUID()
  const client = await issueClientCertificate(pki.ca, { orgId, softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const caPem = readFileSync(pki.files.caBundle)
  writeFileSync(`${dir}/ca.pem`, caPem)
  writeFileSync(`${dir}/server.chain.pem`, readFileSync(pki.files.serverChain))
  writeFileSync(`${dir}/server.key.pem`, readFileSync(pki.files.serverPrivateKey))

  // Access token (client_credentials, scope payments) bound to the certificate; the TPP's payload-signing key.
  const auth = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [{ ...auth.publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'PS256', use: 'sig' }] }))
  const tpp = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/tpp-jwks.json`, JSON.stringify({ keys: [{ ...tpp.publicKey.export({ format: 'jwk' }), kid: 'tpp-sig', alg: 'PS256', use: 'sig' }] }))
  const now = Math.floor(Date.now() / 1000)
  const jwt = (header: unknown, claims: unknown, key = auth.privateKey) => {
    const input = `${b64(header)}.${b64(claims)}`
    return `${input}.${sign('sha256', Buffer.from(input), { key, ...PSS }).toString('base64url')}`
  }
  const token = jwt({ alg: 'PS256', kid: 'bench', typ: 'at+jwt' }, { iss: 'https://auth.bench', aud: 'https://gateway.bench', sub: 'bench-client', iat: now, exp: now + 900, client_id: 'bench-client', scope: 'payments', cnf: { 'x5t#S256': client.x5tS256 } })
  const service = generateServiceKeyPair()
  const data = {
    loggedUser: { document: { identification: '76109277673', rel: 'CPF' } },
    creditor: { personType: 'PESSOA_NATURAL', cpfCnpj: '58764789000137', name: 'Marco Antonio de Brito' },
    payment: { type: 'PIX', date: '2026-12-08', currency: 'BRL', amount: '100.12', details: { localInstrument: 'MANU', creditorAccount: { ispb: '12345678', issuer: '1774', number: '1234567890', accountType: 'CACC' } } },
  }
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  writeFileSync(`${dir}/setup.json`, JSON.stringify({
    orgId,
    servicePrivateKeyPem: service.privateKeyPem,
    servicePublicKeyPem: service.publicKeyPem,
    consent: {},
    organisation: { organisationId: orgId, name: 'Bench TPP', cnpj: '11222333000181', status: 'Active', roles: [{ role: 'PAGTO', status: 'Active' }] },
    paymentConsent: { data: { consentId: 'urn:banco:PXO1', creationDateTime: at, expirationDateTime: at, statusUpdateDateTime: at, status: 'AWAITING_AUTHORISATION', ...data }, links: { self: `https://api.banco.com.br${PATH}` }, meta: { requestDateTime: at } },
  }))

  const servers = fileURLToPath(new URL('../gateway-servers.ts', import.meta.url))
  const upstream = await startChild(servers, { args: ['upstream', dir] })
  const setup = JSON.parse(readFileSync(`${dir}/setup.json`, 'utf8')) as Record<string, unknown>
  writeFileSync(`${dir}/setup.json`, JSON.stringify({ ...setup, upstreamPort: upstream.info.port }))
  // GATEWAY_BENCH_CPU_PROFILE_DIR: write a --cpu-prof of the gateway process (read it with bench/cpuprofile.ts).
  const prof = process.env.GATEWAY_BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GATEWAY_BENCH_CPU_PROFILE_DIR}`] : []
  const gateway = await startChild(servers, { args: ['gateway', dir], nodeFlags: prof })
  try {
    const url = `https://127.0.0.1:${gateway.info.port as number}${PATH}`
    const tlsOptions = { cert: client.chainPem, key: client.privateKeyPem, ca: caPem, rejectUnauthorized: true, servername: 'localhost' }
    const bodies: string[] = []
    const fresh = () => jwt({ alg: 'PS256', typ: 'JWT', kid: 'tpp-sig' }, { aud: `https://localhost:8443${PATH}`, iss: orgId, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), data }, tpp.privateKey)
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/jwt', accept: 'application/jwt', 'x-fapi-interaction-id': randomUUID(), 'x-idempotency-key': 'bench' }
    const once = async (name: string, seconds: number, count: number): Promise<BenchRow & { requests: number }> => {
      bodies.length = 0
      for (let i = 0; i < count; i++) bodies.push(fresh())
      let next = 0
      const result = await autocannon({
        url, connections: CONNECTIONS, duration: seconds, tlsOptions,
        requests: [{ method: 'POST', path: PATH, headers, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
      } as unknown as autocannon.Options)
      const lat = result.latency as unknown as Record<string, number>
      return { case: name, requestsPerSecond: Math.round(result.requests.average), p50: lat.p50 ?? 0, p99: lat.p99 ?? 0, errors: result.errors + result.timeouts, non2xx: result.non2xx, requests: result.requests.total }
    }
    await once('warm-up', 2, 2_000)
    const cpu0 = cpuSeconds(gateway.pid)
    const row = await once(`signed POST /consents, ${CONNECTIONS} keep-alive connections`, SECONDS, BODIES)
    const gatewayCpuUs = Math.round(((cpuSeconds(gateway.pid) - cpu0) * 1e6) / Math.max(1, row.requests))

    // The JWS work per request alone: verify the TPP's PS256 signature, sign the bank's answer (RSA-2048, the key sizes
    // of the run), in a tight loop.
    const bank = await loadOrCreateDevPayloadSigningKey(pki.dir, pki.ca, { orgId: '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b', cnpj: '12345678000195', commonName: 'Banco Ponte Demo S.A.', passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
    const bankKey = createPrivateKey({ key: /-----BEGIN ENCRYPTED PRIVATE KEY-----[\s\S]+?-----END ENCRYPTED PRIVATE KEY-----/.exec(readFileSync(bank.file, 'utf8'))![0], passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
    const sample = bodies[0]!.split('.')
    const input = Buffer.from(`${sample[0]}.${sample[1]}`)
    const sig = Buffer.from(sample[2]!, 'base64url')
    const N = 300
    const v0 = process.cpuUsage()
    for (let i = 0; i < N; i++) verify('sha256', input, { key: tpp.publicKey, ...PSS }, sig)
    const v = process.cpuUsage(v0)
    const s0 = process.cpuUsage()
    for (let i = 0; i < N; i++) sign('sha256', input, { key: bankKey, ...PSS })
    const s = process.cpuUsage(s0)
    const verifyUs = Math.round((v.user + v.system) / N)
    const signUs = Math.round((s.user + s.system) / N)
    const { requests: _r, ...measured } = row
    return {
      title: 'Payment consent creation through the gateway (JWS verify + jti + sign)',
      description: 'POST /open-banking/payments/v4/consents over mTLS with a client_credentials token: the gateway verifies the TPP\'s PS256 JWS ' +
        '(keys cached from the directory stand-in), checks aud/iss/iat, claims the jti in Redis (SET NX PX), forwards {"data": …} as JSON to a ' +
        'node:http stand-in of consent (fixed 201 body) and signs the answer with the bank\'s PS256 key. Every request a fresh pre-signed JWS. ' +
        `${CONNECTIONS} keep-alive connections, ${SECONDS} s closed loop, gateway and stand-in in their own processes.`,
      rows: [{ ...measured, note: `gateway CPU ${gatewayCpuUs} µs/request; JWS alone ${verifyUs + signUs} µs/request (verify ${verifyUs}, sign ${signUs})` }],
      notes: [`JWS verify (RSA-2048 PSS): ${verifyUs} µs; JWS sign (RSA-2048 PSS): ${signUs} µs; gateway process CPU per request: ${gatewayCpuUs} µs.`],
    }
  } finally {
    await gateway.stop()
    await upstream.stop()
  }
}
