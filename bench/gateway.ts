/**
 * The gateway benchmark (issue 7), side by side on this machine:
 *   (a) bare fastify "hello" over mTLS with keep-alive (the ceiling; bench/servers/tls-hello.ts bare)
 *   (b) HAProxy (Debian) doing mTLS, PS256 JWT verification with certificate binding, and proxying to the upstream
 *   (c) Ponte's gateway, the full protected path GET /open-banking/accounts/v2/accounts/{accountId}, warm caches
 * plus the latency the gateway adds over calling the upstream directly at fixed open-loop rates (300 and 1 000 req/s,
 * latency measured from each request's scheduled time, so queueing shows), the capacity one gateway process holds with
 * p95 under the 1 500 ms SLA, and the cost of a new mTLS connection (no resumption: FAPI-BR).
 * The upstream is a fastify stand-in answering a spec-valid body (not the connectors app), the same for (b) and (c).
 *
 * Standalone: `node bench/gateway.ts` prints a JSON summary. `run()` returns the rows for bench/run.ts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { constants, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { generateServiceKeyPair } from '@ponte/platform'
import { issueClientCertificate, loadOrCreateDevPki } from '@ponte/pki'
import { repoRoot } from '@ponte/testkit'
import { Pool } from 'undici'
import { load, startChild, type BenchResult, type BenchRow } from './lib.ts'

const DURATION_S = 8
const CONNECTIONS = 20

interface Child { info: Record<string, unknown>; stop(): Promise<void> }

function startRole(role: string, dir: string): Promise<Child> {
  const file = fileURLToPath(new URL('./gateway-servers.ts', import.meta.url))
  const prof = role === 'gateway' && process.env.GATEWAY_BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GATEWAY_BENCH_CPU_PROFILE_DIR}`] : []
  const child: ChildProcess = spawn(process.execPath, [...prof, file, role, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`${role} did not start`)), 60_000)
    child.stdout!.on('data', (c) => {
      buf += String(c)
      const line = buf.split('\n').find((l) => l.startsWith('{'))
      if (line) {
        clearTimeout(timer)
        resolve({ info: JSON.parse(line) as Record<string, unknown>, stop: () => new Promise<void>((r) => { if (child.exitCode !== null) return r(); child.once('exit', () => r()); child.kill('SIGTERM') }) })
      }
    })
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)))
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function waitPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise<boolean>((r) => { const s = connect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); r(true) }); s.once('error', () => r(false)) })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`port ${port} not open`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** One request, to show what a path answers before loading it (a refused probe means the rows measure refusals). */
async function probe(origin: string, path: string, headers: Record<string, string>, tls?: Record<string, unknown>): Promise<string> {
  const pool = new Pool(origin, { connections: 1, ...(tls ? { connect: tls } : {}) })
  try {
    const res = await pool.request({ method: 'GET', path, headers })
    const text = await res.body.text()
    return `${res.statusCode}${res.statusCode >= 300 ? ` ${text.slice(0, 200)}` : ''}`
  } finally {
    await pool.close()
  }
}

const pctl = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0)
const r2 = (n: number) => Math.round(n * 100) / 100

/**
 * Open-loop load: requests are scheduled at a fixed rate whatever the answers, and each latency is measured from its
 * scheduled time (no coordinated omission). A keep-alive pool of `connections` carries them.
 */
async function openLoop(name: string, o: { origin: string; path: string; rate: number; seconds: number; headers: Record<string, string>; tls?: Record<string, unknown>; connections?: number }): Promise<BenchRow> {
  const pool = new Pool(o.origin, { connections: o.connections ?? 16, pipelining: 1, keepAliveTimeout: 30_000, ...(o.tls ? { connect: o.tls } : {}) })
  const latencies: number[] = []
  let errors = 0
  let non2xx = 0
  const total = Math.round(o.rate * o.seconds)
  const start = performance.now()
  const inflight: Promise<void>[] = []
  let sent = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate) + 1)
      for (; sent < due; sent++) {
        const scheduled = start + (sent / o.rate) * 1000
        inflight.push(pool.request({ method: 'GET', path: o.path, headers: o.headers }).then(async (res) => {
          await res.body.dump()
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx++
          latencies.push(performance.now() - scheduled)
        }, () => { errors++ }))
      }
      if (sent >= total) return resolve()
      setTimeout(tick, 1)
    }
    tick()
  })
  await Promise.all(inflight)
  const elapsed = (performance.now() - start) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  return { case: name, requestsPerSecond: Math.round(latencies.length / elapsed), p50: r2(pctl(latencies, 50)), p95: r2(pctl(latencies, 95)), p99: r2(pctl(latencies, 99)), errors, non2xx }
}

/** Mean time of a fresh mTLS handshake (RSA 2048, no resumption) plus one request on it, sequentially. */
async function newConnectionCost(port: number, tls: { cert: string; key: string; ca: Buffer }, path: string, headers: Record<string, string>, n = 100) {
  const handshakes: number[] = []
  const firstRequest: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', cert: tls.cert, key: tls.key, ca: tls.ca })
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', () => resolve()); socket.once('error', reject) })
    const t1 = performance.now()
    handshakes.push(t1 - t0)
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${head}\r\n`)
    await new Promise<void>((resolve) => { socket.on('data', () => undefined); socket.once('end', () => resolve()); socket.once('close', () => resolve()) })
    firstRequest.push(performance.now() - t0)
    socket.destroy()
  }
  handshakes.sort((a, b) => a - b)
  firstRequest.sort((a, b) => a - b)
  return { handshakeP50Ms: r2(pctl(handshakes, 50)), handshakeP99Ms: r2(pctl(handshakes, 99)), connectionPlusRequestP50Ms: r2(pctl(firstRequest, 50)), sequentialConnectionsPerSecond: Math.round(1000 / (firstRequest.reduce((a, b) => a + b, 0) / n)) }
}

export async function run(): Promise<BenchResult> {
  const pkiDir = `${repoRoot}.pki`
  const pki = await loadOrCreateDevPki(pkiDir)
  const dir = mkdtempSync(join(tmpdir(), 'ponte-gw-bench-'))
  const orgId = randomUUID()
  const client = await issueClientCertificate(pki.ca, { orgId, softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const caPem = readFileSync(pki.files.caBundle)
  writeFileSync(`${dir}/ca.pem`, caPem)
  writeFileSync(`${dir}/server.chain.pem`, readFileSync(pki.files.serverChain))
  writeFileSync(`${dir}/server.key.pem`, readFileSync(pki.files.serverPrivateKey))
  writeFileSync(`${dir}/haproxy.pem`, Buffer.concat([readFileSync(pki.files.serverChain), readFileSync(pki.files.serverPrivateKey)]))

  // Access token: PS256, bound to the client certificate, for a consent covering acc-1.
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'PS256', use: 'sig' }] }))
  writeFileSync(`${dir}/jwt-public.pem`, keys.publicKey.export({ format: 'pem', type: 'spki' }))
  const consentId = `urn:ponte:${randomUUID()}`
  const clientId = 'bench-client'
  const now = Math.floor(Date.now() / 1000)
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const signingInput = `${b64({ alg: 'PS256', kid: 'bench', typ: 'at+jwt' })}.${b64({ iss: 'https://auth.bench', aud: 'https://gateway.bench', sub: 'bench-user', iat: now, exp: now + 900, client_id: clientId, scope: `openid accounts consent:${consentId}`, consent_id: consentId, cnf: { 'x5t#S256': client.x5tS256 } })}`
  const token = `${signingInput}.${sign('sha256', Buffer.from(signingInput), { key: keys.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url')}`
  // HAProxy 2.6 cannot verify PS256: the same claims, RS256, same key (same RSA public-key operation).
  const rsInput = `${b64({ alg: 'RS256', kid: 'bench', typ: 'at+jwt' })}.${signingInput.split('.')[1]}`
  const rsToken = `${rsInput}.${sign('sha256', Buffer.from(rsInput), keys.privateKey).toString('base64url')}`
  const service = generateServiceKeyPair()
  const setup = {
    orgId,
    servicePrivateKeyPem: service.privateKeyPem,
    servicePublicKeyPem: service.publicKeyPem,
    consent: { consentId, status: 'AUTHORISED', clientId, permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'], resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], customer: { cpf: '76109277673' } },
    organisation: { organisationId: orgId, name: 'Bench TPP', cnpj: '11222333000181', status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] },
  } as Record<string, unknown>
  writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))

  const tlsOptions = { cert: client.chainPem, key: client.privateKeyPem, ca: caPem, rejectUnauthorized: true, servername: 'localhost' }
  const path = '/open-banking/accounts/v2/accounts/acc-1'
  const headers = { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() }
  const rows: BenchRow[] = []
  const notes: string[] = []
  const summary: Record<string, unknown> = { upstream: 'fastify stand-in answering a spec-valid accounts body (not the connectors app)' }

  const upstream = await startRole('upstream', dir)
  setup.upstreamPort = upstream.info.port
  writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))
  const children: Child[] = [upstream]
  let haproxy: ChildProcess | undefined
  try {
    const quick = process.env.GATEWAY_BENCH_ONLY === 'c'
    // (a) the ceiling
    const hello = await startChild('tls-hello.ts', ['bare', pkiDir])
    children.push(hello)
    const helloUrl = `https://127.0.0.1:${hello.info.port}/hello`
    await load('warm-up', { url: helloUrl, tlsOptions, durationSeconds: 2, connections: 10 })
    const a = await load('(a) bare fastify hello, mTLS, keep-alive', { url: helloUrl, tlsOptions, connections: CONNECTIONS, durationSeconds: quick ? 2 : DURATION_S })
    rows.push(a)
    await hello.stop()

    // (b) HAProxy
    let b: BenchRow | undefined
    if (!quick) try {
      const version = execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0]!
      const port = await freePort()
      const cfg = readFileSync(fileURLToPath(new URL('./haproxy/haproxy.cfg.template', import.meta.url)), 'utf8')
        .replaceAll('{{DIR}}', dir).replaceAll('{{PORT}}', String(port)).replaceAll('{{UPSTREAM_PORT}}', String(upstream.info.port)).replaceAll('{{THREADS}}', process.env.HAPROXY_THREADS ?? '1')
      writeFileSync(`${dir}/haproxy.cfg`, cfg)
      execFileSync('haproxy', ['-c', '-q', '-f', `${dir}/haproxy.cfg`])
      haproxy = spawn('haproxy', ['-db', '-f', `${dir}/haproxy.cfg`], { stdio: ['ignore', 'ignore', 'inherit'] })
      await waitPort(port)
      const url = `https://127.0.0.1:${port}${path}`
      const rsHeaders = { ...headers, authorization: `Bearer ${rsToken}` }
      summary.haproxyProbe = await probe(`https://127.0.0.1:${port}`, path, rsHeaders, tlsOptions)
      await load('warm-up', { url, tlsOptions, headers: rsHeaders, durationSeconds: 2, connections: 10 })
      b = await load(`(b) HAProxy mTLS + RS256 JWT + cnf binding + proxy (${version.replace('HAProxy version ', '').split(' ')[0]}, nbthread ${process.env.HAPROXY_THREADS ?? '1'})`, { url, tlsOptions, headers: rsHeaders, connections: CONNECTIONS, durationSeconds: DURATION_S })
      rows.push(b)
    } catch (err) {
      notes.push(`(b) HAProxy not measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
    } finally {
      haproxy?.kill('SIGTERM')
    }

    // (c) Ponte
    const gateway = await startRole('gateway', dir)
    children.push(gateway)
    const origin = `https://127.0.0.1:${gateway.info.port}`
    summary.gatewayProbe = await probe(origin, path, headers, tlsOptions)
    await load('warm-up', { url: origin + path, tlsOptions, headers, durationSeconds: 2, connections: 10 })
    const c = await load('(c) Ponte gateway, full protected path, warm caches', { url: origin + path, tlsOptions, headers, connections: CONNECTIONS, durationSeconds: DURATION_S })
    rows.push(c)
    notes.push(`c/a = ${((c.requestsPerSecond / a.requestsPerSecond) * 100).toFixed(1)} % (target ≥ 25 %)`)
    if (b) notes.push(`c/b = ${((c.requestsPerSecond / b.requestsPerSecond) * 100).toFixed(1)} % (target ≥ 100 %)`)
    summary.ratios = { cOverA: r2(c.requestsPerSecond / a.requestsPerSecond), ...(b ? { cOverB: r2(c.requestsPerSecond / b.requestsPerSecond) } : {}) }

    if (quick) return { title: 'quick', description: '', rows, notes }
    // Added latency at fixed open-loop rates: gateway vs the upstream directly (plain HTTP, keep-alive).
    const upstreamOrigin = `http://127.0.0.1:${upstream.info.port}`
    const added: Record<string, unknown> = {}
    for (const rate of [300, 1000]) {
      const direct = await openLoop(`upstream directly, open loop ${rate} req/s`, { origin: upstreamOrigin, path, rate, seconds: 6, headers })
      const via = await openLoop(`through the gateway, open loop ${rate} req/s`, { origin, path, rate, seconds: 6, headers, tls: tlsOptions })
      rows.push(direct, via)
      added[rate] = { p50Ms: r2(via.p50 - direct.p50), p99Ms: r2(via.p99 - direct.p99) }
      notes.push(`added by the gateway at ${rate} req/s: p50 +${r2(via.p50 - direct.p50)} ms, p99 +${r2(via.p99 - direct.p99)} ms${rate === 300 ? ' (target ≤ 1 ms p50, ≤ 2 ms p99)' : ''}`)
    }
    summary.addedLatency = added

    // Capacity with p95 < 1 500 ms: open-loop steps until the SLA breaks (or the step no longer keeps its rate).
    let capacity = 0
    for (const rate of [1000, 1500, 2000, 2500, 3000, 4000]) {
      const step = await openLoop(`capacity step ${rate} req/s`, { origin, path, rate, seconds: 5, headers, tls: tlsOptions, connections: 32 })
      const ok = step.p95! < 1500 && step.errors === 0 && step.non2xx === 0 && step.requestsPerSecond >= rate * 0.9
      rows.push({ ...step, note: `p95 ${step.p95} ms${ok ? '' : ', SLA or rate not held'}` })
      if (!ok) break
      capacity = rate
    }
    summary.capacityReqPerSecAtP95Under1500ms = capacity
    notes.push(`capacity of one gateway process with p95 < 1 500 ms: ${capacity ? `≥ ${capacity}` : '< 1000'} req/s (open-loop steps; the rules ask 300 req/s per institution)`)

    // A new mTLS connection (RSA 2048, full handshake every time: resumption disabled).
    const tlsCost = await newConnectionCost(Number(gateway.info.port), { cert: client.chainPem, key: client.privateKeyPem, ca: caPem }, path, headers)
    summary.newMtlsConnection = tlsCost
    notes.push(`new mTLS connection (RSA 2048, no resumption): handshake p50 ${tlsCost.handshakeP50Ms} ms, p99 ${tlsCost.handshakeP99Ms} ms; handshake + first request p50 ${tlsCost.connectionPlusRequestP50Ms} ms (≈ ${tlsCost.sequentialConnectionsPerSecond} sequential connections/s): keep-alive is the lever`)
  } finally {
    for (const ch of children.reverse()) await ch.stop().catch(() => undefined)
  }
  summary.rows = rows
  return {
    title: 'Gateway: the regulated edge against its ceiling and a peer',
    description: `Closed loop: ${CONNECTIONS} keep-alive mTLS connections for ${DURATION_S} s (autocannon). Open loop: requests scheduled at a fixed rate, latency from the scheduled time. ` +
      'Upstream: a fastify stand-in answering a spec-valid GET /accounts/{accountId} body, the same for HAProxy and Ponte. Ponte runs the whole pipeline (certificate, cached token verification, binding, scope, cached consent and organisation, one Redis script with TPS/TPM/monthly/usage counters, service token, undici keep-alive hop, api-call event to Kafka).',
    rows,
    notes: [...notes, `summary: ${JSON.stringify({ probes: { haproxy: summary.haproxyProbe, gateway: summary.gatewayProbe }, ratios: summary.ratios, addedLatency: summary.addedLatency, capacity: summary.capacityReqPerSecAtP95Under1500ms, newMtlsConnection: summary.newMtlsConnection })}`],
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}
