/**
 * The gateway on more than one core: the full protected path (as case (c) of bench/gateway.ts: certificate, cached
 * token verification, binding, consent, limits script, upstream hop, api-call event) served by one process and by two
 * worker processes sharing the listener (GATEWAY_WORKERS=2, the gateway's own primary), in interleaved rounds against
 * the same upstream stand-in. The scaling factor is the median of the per-round ratios.
 */
import { constants, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateServiceKeyPair } from '@ponte/platform'
import { issueClientCertificate, loadOrCreateDevPki } from '@ponte/pki'
import { repoRoot } from '@ponte/testkit'
import { load, startChild, type BenchResult, type BenchRow, type ChildServer } from '../lib.ts'

const ROUNDS = Math.max(1, Number(process.env.GATEWAY_BENCH_ROUNDS ?? 3))
const DURATION_S = Math.min(10, Math.max(1, Number(process.env.GATEWAY_BENCH_SECONDS ?? 5)))
const CONNECTIONS = Number(process.env.GATEWAY_BENCH_CONNECTIONS ?? 20)
const servers = fileURLToPath(new URL('../gateway-servers.ts', import.meta.url))
const log = (msg: string) => process.stderr.write(`gateway-workers bench: ${msg}\n`)
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2 }

export async function run(): Promise<BenchResult> {
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const dir = mkdtempSync(join(tmpdir(), 'ponte-gw-workers-'))
  const orgId = randomUUID()
  const client = await issueClientCertificate(pki.ca, { orgId, softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const caPem = readFileSync(pki.files.caBundle)
  writeFileSync(`${dir}/ca.pem`, caPem)
  writeFileSync(`${dir}/server.chain.pem`, readFileSync(pki.files.serverChain))
  writeFileSync(`${dir}/server.key.pem`, readFileSync(pki.files.serverPrivateKey))
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'PS256', use: 'sig' }] }))
  const consentId = `urn:ponte:${randomUUID()}`
  const now = Math.floor(Date.now() / 1000)
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${b64({ alg: 'PS256', kid: 'bench', typ: 'at+jwt' })}.${b64({ iss: 'https://auth.bench', aud: 'https://gateway.bench', sub: 'bench-user', iat: now, exp: now + 900, client_id: 'bench-client', scope: `openid accounts consent:${consentId}`, consent_id: consentId, cnf: { 'x5t#S256': client.x5tS256 } })}`
  const token = `${input}.${sign('sha256', Buffer.from(input), { key: keys.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url')}`
  const service = generateServiceKeyPair()
  const setup: Record<string, unknown> = {
    orgId,
    servicePrivateKeyPem: service.privateKeyPem,
    servicePublicKeyPem: service.publicKeyPem,
    consent: { consentId, status: 'AUTHORISED', clientId: 'bench-client', permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'], resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], customer: { cpf: '76109277673' } },
    organisation: { organisationId: orgId, name: 'Bench TPP', cnpj: '11222333000181', status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] },
  }
  writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))
  const tlsOptions = { cert: client.chainPem, key: client.privateKeyPem, ca: caPem, rejectUnauthorized: true, servername: 'localhost' }
  const path = '/open-banking/accounts/v2/accounts/acc-1'
  const headers = { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() }

  const children: ChildServer[] = []
  try {
    const upstream = await startChild(servers, { args: ['upstream', dir] })
    children.push(upstream)
    setup.upstreamPort = upstream.info.port
    writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))
    const one = await startChild(servers, { args: ['gateway', dir], env: { GATEWAY_BENCH_WORKERS: '1' } })
    children.push(one)
    const two = await startChild(servers, { args: ['gateway', dir], env: { GATEWAY_BENCH_WORKERS: '2' } })
    children.push(two)
    const cases = [
      { key: 'one', name: 'gateway, one process (GATEWAY_WORKERS=1)', url: `https://127.0.0.1:${one.info.port}${path}` },
      { key: 'two', name: 'gateway, two workers on one listener (GATEWAY_WORKERS=2)', url: `https://127.0.0.1:${two.info.port}${path}` },
    ]
    for (const c of cases) {
      const warm = await load('warm-up', { url: c.url, tlsOptions, headers, durationSeconds: 3, connections: CONNECTIONS })
      if (warm.non2xx || warm.errors) throw new Error(`${c.name}: ${warm.non2xx} non-2xx, ${warm.errors} errors in the warm-up`)
    }
    const runs: Record<string, BenchRow[]> = { one: [], two: [] }
    const ratios: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const rps: Record<string, number> = {}
      for (const c of round % 2 ? [...cases].reverse() : cases) {
        const row = await load(c.name, { url: c.url, tlsOptions, headers, connections: CONNECTIONS, durationSeconds: DURATION_S })
        runs[c.key]!.push(row)
        rps[c.key] = row.requestsPerSecond
        log(`round ${round + 1}/${ROUNDS} ${c.key}: ${row.requestsPerSecond} req/s p50 ${row.p50} p99 ${row.p99}`)
      }
      ratios.push(rps.two! / rps.one!)
    }
    const rows = cases.map((c) => {
      const sorted = [...runs[c.key]!].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
      const mid = sorted[Math.floor((sorted.length - 1) / 2)]!
      return { ...mid, case: c.name, note: `median of ${sorted.length}: ${runs[c.key]!.map((r) => r.requestsPerSecond).join(', ')} req/s` }
    })
    return {
      title: 'Gateway: one process against two workers',
      description: `The full protected path (as (c) in the gateway case) served by one process and by two worker processes sharing one listener under the gateway's primary (GATEWAY_WORKERS). ${CONNECTIONS} keep-alive mTLS connections, ${DURATION_S} s closed-loop runs, ${ROUNDS} interleaved rounds; rows are medians. The load generator, the upstream stand-in, Redis and Kafka share the same cores, so on a 2-core machine the factor is a floor of what two dedicated cores give.`,
      rows,
      notes: [`scaling factor from one to two workers: ×${median(ratios).toFixed(2)} (per round ${ratios.map((r) => `×${r.toFixed(2)}`).join(', ')})`],
    }
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
}
