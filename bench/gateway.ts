/**
 * The gateway benchmark (issue 7), side by side on this machine:
 *   (a) bare fastify "hello" over mTLS with keep-alive (the ceiling; bench/servers/tls-hello.ts bare)
 *   (b) HAProxy (Debian) as a peer gateway: mTLS with a required client certificate, the access token's RS256 signature
 *       verified on every request with the same RSA key, `alg`, `exp`, `iss` and the `cnf.x5t#S256` binding checked,
 *       then proxied with keep-alive to the upstream (bench/haproxy/haproxy.cfg.template; probed below, refusals too)
 *   (n) the Node floor (bench/servers/node-floor.ts): raw node:https with the same listener options, one Redis script
 *       and one undici hop, no checks: the least any Node edge pays, which (c) is read against
 *   (c) Ponte's gateway, the full protected path GET /open-banking/accounts/v2/accounts/{accountId}, warm caches
 * plus the latency the gateway adds over calling the upstream directly at fixed open-loop rates (300 and 1 000 req/s,
 * latency measured from each request's scheduled time, so queueing shows), the capacity one gateway process holds with
 * p95 under the 1 500 ms SLA, and the cost of a new mTLS connection (no resumption: FAPI-BR).
 *
 * Every server runs in its own process; the closed-loop load generator (autocannon) runs here, each open-loop run in a
 * process of its own (bench/open-loop.ts). The
 * machine is shared, so (a), (b), (n) and (c) are measured in interleaved rounds and compared within each round; the
 * figures are the medians over the rounds. Each server's CPU time per request (from /proc) is reported too: it does
 * not depend on what else runs on the machine and explains the ratios.
 * The upstream is a minimal node:http stand-in answering a fixed spec-valid body (not the connectors app), the same for
 * (b), (c) and the direct calls.
 *
 * Knobs (environment): GATEWAY_BENCH_ROUNDS (3), GATEWAY_BENCH_SECONDS (closed-loop run length, 5, at most 10),
 * GATEWAY_BENCH_CONNECTIONS (20), GATEWAY_BENCH_ONLY=c (only the closed loop of (a), (n) and (c): the quick loop while tuning; =latency: only the
 * open-loop added latency),
 * GATEWAY_BENCH_CPU_PROFILE_DIR (write a --cpu-prof of the gateway process), GATEWAY_BENCH_NODE_FLAGS (extra node flags
 * for the gateway process, e.g. --perf-basic-prof), HAPROXY_THREADS (1),
 * GATEWAY_BENCH_SET_<NAME>=value (sets the gateway's <NAME> variable, for experiments).
 *
 * Standalone: `node bench/gateway.ts` prints progress on stderr and one JSON summary line on stdout. `run()` returns the
 * rows for bench/run.ts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { constants, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { generateServiceKeyPair } from '@ponte/platform'
import { issueClientCertificate, loadOrCreateDevPki } from '@ponte/pki'
import { freePort, repoRoot } from '@ponte/testkit'
import { Pool } from 'undici'
import { load, machine, pctl, r2, startChild, type BenchResult, type BenchRow, type ChildServer } from './lib.ts'
import { openLoop } from './open-loop.ts'

const ROUNDS = Math.max(1, Number(process.env.GATEWAY_BENCH_ROUNDS ?? 3))
const DURATION_S = Math.min(10, Math.max(1, Number(process.env.GATEWAY_BENCH_SECONDS ?? 5)))
const CONNECTIONS = Number(process.env.GATEWAY_BENCH_CONNECTIONS ?? 20)
const OPEN_LOOP_S = 5
const log = (msg: string) => process.stderr.write(`gateway bench: ${msg}\n`)

function startRole(role: 'upstream' | 'gateway', dir: string): Promise<ChildServer> {
  const prof = role === 'gateway' && process.env.GATEWAY_BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GATEWAY_BENCH_CPU_PROFILE_DIR}`] : []
  const flags = role === 'gateway' && process.env.GATEWAY_BENCH_NODE_FLAGS ? process.env.GATEWAY_BENCH_NODE_FLAGS.split(' ').filter(Boolean) : []
  return startChild(fileURLToPath(new URL('./gateway-servers.ts', import.meta.url)), { args: [role, dir], nodeFlags: [...prof, ...flags] })
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

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. A negative pid
 * means the main thread of process -pid only (the event loop; without GC helpers and worker threads).
 */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(pid < 0 ? `/proc/${-pid}/task/${-pid}/stat` : `/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/** Runs `fn` and reports each named process's CPU time per answered request (µs), next to its row. */
async function withCpu(pids: Record<string, number | undefined>, fn: () => Promise<BenchRow>): Promise<BenchRow & { cpuUsPerRequest: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuSeconds(pid) : undefined]))
  const self0 = process.cpuUsage()
  const t0 = performance.now()
  const row = await fn()
  const seconds = (performance.now() - t0) / 1000
  const self = process.cpuUsage(self0)
  const requests = Math.max(1, row.requestsPerSecond * seconds)
  const cpu: Record<string, number> = { 'load generator': Math.round((self.user + self.system) / requests) }
  for (const [k, pid] of Object.entries(pids)) {
    const b = before[k]
    const a = pid ? cpuSeconds(pid) : undefined
    if (a !== undefined && b !== undefined) cpu[k] = Math.round(((a - b) * 1e6) / requests)
  }
  return { ...row, cpuUsPerRequest: cpu }
}

/** One request, to show what a path answers before loading it (a refused probe means the rows measure refusals). */
async function probe(origin: string, path: string, headers: Record<string, string>, tls?: Record<string, unknown>): Promise<string> {
  const pool = new Pool(origin, { connections: 1, ...(tls ? { connect: tls } : {}) })
  try {
    const res = await pool.request({ method: 'GET', path, headers })
    const text = await res.body.text()
    return `${res.statusCode}${res.statusCode >= 300 ? ` ${text.slice(0, 200)}` : ''}`
  } catch (err) {
    return `connection refused: ${(err as { code?: string }).code ?? String(err)}`
  } finally {
    await pool.close()
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0
}

/** Time of a fresh mTLS handshake (RSA 2048, no resumption) plus one request on it, sequentially. */
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

type Measured = BenchRow & { cpuUsPerRequest: Record<string, number> }

/** The median row of a case over its rounds (by requests/s), labelled with the spread. */
function summarise(name: string, runs: Measured[]): Measured {
  const sorted = [...runs].sort((x, y) => x.requestsPerSecond - y.requestsPerSecond)
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!
  const cpu: Record<string, number> = {}
  for (const k of Object.keys(mid.cpuUsPerRequest)) cpu[k] = Math.round(median(runs.map((r) => r.cpuUsPerRequest[k] ?? 0)))
  return {
    ...mid,
    case: name,
    cpuUsPerRequest: cpu,
    note: `median of ${runs.length}: ${runs.map((r) => r.requestsPerSecond).join(', ')} req/s; server CPU µs/request ${Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  }
}

export async function run(): Promise<BenchResult & { summary: Record<string, unknown> }> {
  const pkiDir = `${repoRoot}.pki`
  const pki = await loadOrCreateDevPki(pkiDir)
  const dir = mkdtempSync(join(tmpdir(), 'ponte-gw-bench-'))
  const orgId = randomUUID()
  const client = await issueClientCertificate(pki.ca, { orgId, softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const other = await issueClientCertificate(pki.ca, { orgId: randomUUID(), softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'other.tpp.local' })
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
  const claims = (over: Record<string, unknown> = {}) => b64({ iss: 'https://auth.bench', aud: 'https://gateway.bench', sub: 'bench-user', iat: now, exp: now + 900, client_id: clientId, scope: `openid accounts consent:${consentId}`, consent_id: consentId, cnf: { 'x5t#S256': client.x5tS256 }, ...over })
  const signingInput = `${b64({ alg: 'PS256', kid: 'bench', typ: 'at+jwt' })}.${claims()}`
  const token = `${signingInput}.${sign('sha256', Buffer.from(signingInput), { key: keys.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url')}`
  // HAProxy 2.6 cannot verify PS256: the same claims, RS256, same key (the same RSA public-key operation).
  const rs256 = (payload: string) => {
    const input = `${b64({ alg: 'RS256', kid: 'bench', typ: 'at+jwt' })}.${payload}`
    return `${input}.${sign('sha256', Buffer.from(input), keys.privateKey).toString('base64url')}`
  }
  const rsToken = rs256(claims())
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
  const openLoopTls = { cert: client.chainPem, key: client.privateKeyPem, ca: caPem.toString('utf8') }
  const path = '/open-banking/accounts/v2/accounts/acc-1'
  const headers = { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() }
  const rsHeaders = { ...headers, authorization: `Bearer ${rsToken}` }
  const rows: BenchRow[] = []
  const notes: string[] = []
  const quick = process.env.GATEWAY_BENCH_ONLY === 'c'
  const latencyOnly = process.env.GATEWAY_BENCH_ONLY === 'latency'
  const summary: Record<string, unknown> = {
    machine: machine(),
    method: `${ROUNDS} interleaved rounds of ${DURATION_S} s closed-loop runs (${CONNECTIONS} keep-alive connections); figures are medians over rounds; ratios are taken within each round`,
    upstream: 'minimal node:http stand-in answering a fixed spec-valid GET /accounts/{accountId} body (not the connectors app), shared by (b), (c) and the direct calls',
  }

  const children: ChildServer[] = []
  let haproxy: ChildProcess | undefined
  try {
    const upstream = await startRole('upstream', dir)
    children.push(upstream)
    setup.upstreamPort = upstream.info.port
    writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))
    const redisPid = (() => {
      try { return Number(execFileSync('pgrep', ['-o', 'redis-server'], { encoding: 'utf8' }).trim()) || undefined } catch { return undefined }
    })()

    // Start every server once; each case is loaded in turn (an idle server costs nothing).
    const hello = await startChild('tls-hello.ts', { args: ['bare', pkiDir] })
    children.push(hello)
    const helloUrl = `https://127.0.0.1:${hello.info.port}/hello`

    let haproxyUrl: string | undefined
    let haproxyName = ''
    if (!quick && !latencyOnly) try {
      const version = execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0]!.replace('HAProxy version ', '').split(' ')[0]
      const port = await freePort()
      const cfg = readFileSync(fileURLToPath(new URL('./haproxy/haproxy.cfg.template', import.meta.url)), 'utf8')
        .replaceAll('{{DIR}}', dir).replaceAll('{{PORT}}', String(port)).replaceAll('{{UPSTREAM_PORT}}', String(upstream.info.port)).replaceAll('{{THREADS}}', process.env.HAPROXY_THREADS ?? '1')
      writeFileSync(`${dir}/haproxy.cfg`, cfg)
      execFileSync('haproxy', ['-c', '-q', '-f', `${dir}/haproxy.cfg`])
      haproxy = spawn('haproxy', ['-db', '-f', `${dir}/haproxy.cfg`], { stdio: ['ignore', 'ignore', 'inherit'] })
      await waitPort(port)
      const origin = `https://127.0.0.1:${port}`
      haproxyUrl = origin + path
      haproxyName = `(b) HAProxy ${version} (nbthread ${process.env.HAPROXY_THREADS ?? '1'}): mTLS + RS256 JWT (alg, signature, exp, iss, cnf.x5t#S256) + proxy`
      // What (b) really checks: the valid token passes, each kind of bad token is refused.
      const otherTls = { ...tlsOptions, cert: other.chainPem, key: other.privateKeyPem }
      const tampered = `${rsToken.slice(0, -6)}${rsToken.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`
      summary.haproxyChecks = {
        validToken: await probe(origin, path, rsHeaders, tlsOptions),
        tokenBoundToAnotherCertificate: await probe(origin, path, rsHeaders, otherTls),
        badSignature: await probe(origin, path, { ...rsHeaders, authorization: `Bearer ${tampered}` }, tlsOptions),
        expired: await probe(origin, path, { ...rsHeaders, authorization: `Bearer ${rs256(claims({ exp: now - 60 }))}` }, tlsOptions),
        wrongIssuer: await probe(origin, path, { ...rsHeaders, authorization: `Bearer ${rs256(claims({ iss: 'https://evil' }))}` }, tlsOptions),
        noToken: await probe(origin, path, { 'x-fapi-interaction-id': headers['x-fapi-interaction-id'] }, tlsOptions),
        noClientCertificate: await probe(origin, path, rsHeaders, { ca: caPem, rejectUnauthorized: true, servername: 'localhost' }),
      }
      if (!String((summary.haproxyChecks as Record<string, string>).validToken).startsWith('200')) throw new Error(`HAProxy refused the valid token: ${(summary.haproxyChecks as Record<string, string>).validToken}`)
    } catch (err) {
      notes.push(`(b) HAProxy not measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
      haproxyUrl = undefined
    }
    const haproxyPid = haproxy?.pid

    // The floor of any Node edge (mTLS + one Redis script + one undici hop, no checks): what (c) is read against.
    const floor = await startChild('node-floor.ts', { args: [dir, String(upstream.info.port)] })
    children.push(floor)
    const floorUrl = `https://127.0.0.1:${floor.info.port}${path}`

    const gateway = await startRole('gateway', dir)
    children.push(gateway)
    const gatewayOrigin = `https://127.0.0.1:${gateway.info.port}`
    const gatewayProbe = await probe(gatewayOrigin, path, headers, tlsOptions)
    summary.gatewayProbe = gatewayProbe
    if (!gatewayProbe.startsWith('200')) throw new Error(`the gateway refused the bench request: ${gatewayProbe}`)

    // Warm-up of each path (JIT, pools, caches), then the interleaved rounds.
    log('warming up')
    await load('warm-up', { url: helloUrl, tlsOptions, durationSeconds: 2, connections: CONNECTIONS })
    if (haproxyUrl) await load('warm-up', { url: haproxyUrl, tlsOptions, headers: rsHeaders, durationSeconds: 2, connections: CONNECTIONS })
    await load('warm-up', { url: floorUrl, tlsOptions, durationSeconds: 2, connections: CONNECTIONS })
    await load('warm-up', { url: gatewayOrigin + path, tlsOptions, headers, durationSeconds: 3, connections: CONNECTIONS })

    const cases = [
      { key: 'a', name: '(a) bare fastify hello, mTLS, keep-alive', pids: { hello: hello.pid }, url: helloUrl, headers: {} },
      ...(haproxyUrl ? [{ key: 'b', name: haproxyName, pids: { haproxy: haproxyPid, upstream: upstream.pid }, url: haproxyUrl, headers: rsHeaders }] : []),
      { key: 'n', name: '(n) Node floor: raw node:https mTLS + one Redis script + undici hop, no checks', pids: { floor: floor.pid, upstream: upstream.pid, redis: redisPid }, url: floorUrl, headers: {} },
      { key: 'c', name: '(c) Ponte gateway, full protected path, warm caches', pids: { gateway: gateway.pid, 'gateway event loop': -gateway.pid, upstream: upstream.pid, redis: redisPid }, url: gatewayOrigin + path, headers },
    ]
    if (!latencyOnly) {
    const runs: Record<string, Measured[]> = { a: [], b: [], n: [], c: [] }
    const perRound: Array<Record<string, number>> = []
    for (let round = 0; round < ROUNDS; round++) {
      const rps: Record<string, number> = {}
      // Rotate the order so no case always runs first (or right after another).
      const order = cases.map((_, i) => cases[(i + round) % cases.length]!)
      for (const c of order) {
        const row = await withCpu(c.pids, () => load(c.name, { url: c.url, tlsOptions, headers: c.headers, connections: CONNECTIONS, durationSeconds: DURATION_S }))
        runs[c.key]!.push(row)
        rps[c.key] = row.requestsPerSecond
        log(`round ${round + 1}/${ROUNDS} ${c.key}: ${row.requestsPerSecond} req/s p50 ${row.p50} p99 ${row.p99} cpu µs/req ${JSON.stringify(row.cpuUsPerRequest)}`)
      }
      perRound.push(rps)
    }
    const a = summarise(cases[0]!.name, runs.a!)
    const b = runs.b!.length ? summarise(haproxyName, runs.b!) : undefined
    const n = summarise(cases[cases.length - 2]!.name, runs.n!)
    const c = summarise(cases[cases.length - 1]!.name, runs.c!)
    rows.push(a, ...(b ? [b] : []), n, c)
    const cOverA = perRound.map((r) => r.c! / r.a!)
    const cOverB = b ? perRound.map((r) => r.c! / r.b!) : []
    const cOverN = perRound.map((r) => r.c! / r.n!)
    const nOverA = perRound.map((r) => r.n! / r.a!)
    summary.closedLoop = Object.fromEntries([['a', a], ...(b ? [['b', b]] : []), ['n', n], ['c', c]].map(([k, r]) => {
      const row = r as Measured
      return [k as string, { requestsPerSecond: row.requestsPerSecond, p50: row.p50, p99: row.p99, non2xx: row.non2xx, errors: row.errors, cpuUsPerRequest: row.cpuUsPerRequest, rounds: runs[k as string]!.map((x) => x.requestsPerSecond) }]
    }))
    summary.ratios = {
      cOverA: r2(median(cOverA)), cOverAPerRound: cOverA.map(r2),
      ...(b ? { cOverB: r2(median(cOverB)), cOverBPerRound: cOverB.map(r2) } : {}),
      cOverFloor: r2(median(cOverN)), floorOverA: r2(median(nOverA)),
    }
    notes.push(`c/a = ${(median(cOverA) * 100).toFixed(1)} % (median of per-round ratios ${cOverA.map((x) => (x * 100).toFixed(0)).join(', ')} %; target ≥ 25 %)`)
    if (b) notes.push(`c/b = ${(median(cOverB) * 100).toFixed(1)} % (per round ${cOverB.map((x) => (x * 100).toFixed(0)).join(', ')} %; target ≥ 100 %)`)
    notes.push(`the Node floor (n) reaches ${(median(nOverA) * 100).toFixed(1)} % of a${b ? ` and ${(median(perRound.map((r) => r.n! / r.b!)) * 100).toFixed(1)} % of b` : ''}; Ponte's full pipeline keeps ${(median(cOverN) * 100).toFixed(1)} % of the floor's requests/s (per round ${cOverN.map((x) => (x * 100).toFixed(0)).join(', ')} %)`)
    const cpuC = c.cpuUsPerRequest
    const cpuA = a.cpuUsPerRequest
    notes.push(`CPU per request (µs, medians): (a) hello ${cpuA.hello} + load generator ${cpuA['load generator']}; ${b ? `(b) haproxy ${b.cpuUsPerRequest.haproxy} + upstream ${b.cpuUsPerRequest.upstream} + load generator ${b.cpuUsPerRequest['load generator']}; ` : ''}(n) floor ${n.cpuUsPerRequest.floor} + upstream ${n.cpuUsPerRequest.upstream} + redis ${n.cpuUsPerRequest.redis ?? '?'} + load generator ${n.cpuUsPerRequest['load generator']}; (c) gateway ${cpuC.gateway} (of which its event-loop thread ${cpuC['gateway event loop']}) + upstream ${cpuC.upstream} + redis ${cpuC.redis ?? '?'} + load generator ${cpuC['load generator']}`)

    }

    if (!quick) {
      // Added latency at fixed open-loop rates: gateway vs the upstream directly (plain HTTP, keep-alive), interleaved.
      const upstreamOrigin = `http://127.0.0.1:${upstream.info.port}`
      const added: Record<string, unknown> = {}
      for (const rate of [300, 1000]) {
        const p50s: number[] = []
        const p99s: number[] = []
        const floorP50s: number[] = []
        const floorP99s: number[] = []
        let last: { direct: BenchRow; via: BenchRow; viaFloor: BenchRow } | undefined
        for (let round = 0; round < ROUNDS; round++) {
          const direct = await openLoop(`upstream directly, open loop ${rate} req/s`, { origin: upstreamOrigin, path, rate, seconds: OPEN_LOOP_S, headers })
          const via = await openLoop(`through the gateway, open loop ${rate} req/s`, { origin: gatewayOrigin, path, rate, seconds: OPEN_LOOP_S, headers, tls: openLoopTls })
          const viaFloor = await openLoop(`through the Node floor, open loop ${rate} req/s`, { origin: `https://127.0.0.1:${floor.info.port}`, path, rate, seconds: OPEN_LOOP_S, headers: {}, tls: openLoopTls })
          p50s.push(via.p50 - direct.p50)
          p99s.push(via.p99 - direct.p99)
          floorP50s.push(viaFloor.p50 - direct.p50)
          floorP99s.push(viaFloor.p99 - direct.p99)
          last = { direct, via, viaFloor }
          log(`open loop ${rate}/s round ${round + 1}: direct p50 ${direct.p50} p99 ${direct.p99}; gateway p50 ${via.p50} p99 ${via.p99} (non-2xx ${via.non2xx}, errors ${via.errors}); floor p50 ${viaFloor.p50} p99 ${viaFloor.p99}`)
        }
        rows.push(last!.direct, last!.via, last!.viaFloor)
        added[rate] = { p50Ms: r2(median(p50s)), p99Ms: r2(median(p99s)), floor: { p50Ms: r2(median(floorP50s)), p99Ms: r2(median(floorP99s)) }, p50PerRound: p50s.map(r2), p99PerRound: p99s.map(r2), lastRound: { direct: { p50: last!.direct.p50, p99: last!.direct.p99 }, gateway: { p50: last!.via.p50, p99: last!.via.p99 } } }
        notes.push(`added by the gateway at ${rate} req/s (median of ${ROUNDS}): p50 +${r2(median(p50s))} ms, p99 +${r2(median(p99s))} ms (per round p50 ${p50s.map(r2).join(', ')}; p99 ${p99s.map(r2).join(', ')})${rate === 300 ? ' (target ≤ 1 ms p50, ≤ 2 ms p99)' : ''}; by the Node floor: p50 +${r2(median(floorP50s))} ms, p99 +${r2(median(floorP99s))} ms`)
      }
      summary.addedLatency = added

      if (!latencyOnly) {
      // Capacity with p95 < 1 500 ms: open-loop steps until the SLA breaks (or the step no longer keeps its rate).
      let capacity = 0
      for (const rate of [1000, 1500, 2000, 2500, 3000, 4000]) {
        const step = await openLoop(`capacity step ${rate} req/s`, { origin: gatewayOrigin, path, rate, seconds: OPEN_LOOP_S, headers, tls: openLoopTls, connections: 32 })
        const ok = step.p95! < 1500 && step.errors === 0 && step.non2xx === 0 && step.requestsPerSecond >= rate * 0.9
        rows.push({ ...step, note: `p95 ${step.p95} ms${ok ? '' : ', SLA or rate not held'}` })
        log(`capacity step ${rate}/s: ${step.requestsPerSecond} req/s p95 ${step.p95} ${ok ? 'held' : 'not held'}`)
        if (!ok) break
        capacity = rate
      }
      summary.capacityReqPerSecAtP95Under1500ms = capacity
      notes.push(`capacity of one gateway process with p95 < 1 500 ms: ${capacity ? `≥ ${capacity}` : '< 1000'} req/s (open-loop steps of ${OPEN_LOOP_S} s; the rules ask 300 req/s per institution)`)

      // A new mTLS connection (RSA 2048, full handshake every time: resumption disabled), gateway vs the bare hello.
      const tlsFiles = { cert: client.chainPem, key: client.privateKeyPem, ca: caPem }
      const tlsCost = await newConnectionCost(Number(gateway.info.port), tlsFiles, path, headers)
      const helloCost = await newConnectionCost(Number(hello.info.port), tlsFiles, '/hello', {})
      summary.newMtlsConnection = { gateway: tlsCost, bareHello: helloCost }
      notes.push(`new mTLS connection to the gateway (RSA 2048, no resumption): handshake p50 ${tlsCost.handshakeP50Ms} ms, p99 ${tlsCost.handshakeP99Ms} ms; handshake + first request p50 ${tlsCost.connectionPlusRequestP50Ms} ms (≈ ${tlsCost.sequentialConnectionsPerSecond} sequential connections/s; bare hello: handshake p50 ${helloCost.handshakeP50Ms} ms): keep-alive is the lever`)
      }
    }
  } finally {
    haproxy?.kill('SIGTERM')
    for (const ch of children.reverse()) await ch.stop().catch(() => undefined)
  }
  summary.notes = notes
  return {
    title: 'Gateway: the regulated edge against its ceiling and a peer',
    description: `Closed loop: ${CONNECTIONS} keep-alive mTLS connections, ${DURATION_S} s runs, (a), (b), (n) and (c) interleaved over ${ROUNDS} rounds (autocannon); rows are medians. Open loop: requests scheduled at a fixed rate, latency from the scheduled time, each run from a process of its own. ` +
      'Upstream: a minimal node:http stand-in answering a fixed spec-valid GET /accounts/{accountId} body, the same for HAProxy, Ponte and the direct calls. (b) verifies the RS256 signature, alg, exp, iss and the cnf.x5t#S256 binding on every request (HAProxy 2.6 cannot verify PS256), no cache. ' +
      '(n) is the least any Node edge pays for this path: the same TLS listener, one Redis script, one undici hop, no checks. ' +
      'Ponte runs the whole pipeline (certificate, cached token verification, binding, scope, cached consent and organisation, one Redis script with TPS/TPM/monthly/usage counters, cached service token, undici keep-alive hop, api-call event to Kafka).',
    rows,
    notes: [...notes, ...(summary.haproxyChecks ? [`HAProxy refusals checked before the run: ${Object.entries(summary.haproxyChecks as Record<string, string>).map(([k, v]) => `${k} ${v.split(' ')[0]}`).join(', ')}`] : [])],
    summary,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!existsSync('/proc/self/stat')) log('no /proc: CPU per request not reported')
  const result = await run()
  process.stdout.write(`${JSON.stringify(result.summary)}\n`)
  process.exit(0)
}
