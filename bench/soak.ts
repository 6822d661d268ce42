/**
 * `make soak`: the platform as `make up` runs it (every service its own process, test/e2e/stack.ts), held for
 * SOAK_MINUTES (default 30) at SOAK_RATE requests/s (default 300) on the full protected path (`GET /resources`: mTLS,
 * token, consent, limits, the connectors and the core), with a mix beside it: a data-sharing journey every
 * SOAK_JOURNEY_S (default 20) and a Pix payment every SOAK_PAYMENT_S (default 30; consent, LoA3 journey with TOTP,
 * initiation, settlement to ACSC, webhooks to the TPP's server).
 *
 * Reported per window of SOAK_WINDOW_S (default 60): requests/s, errors, p50/p95/p99; journeys and payments done and
 * failed; and every process's resident memory and open file descriptors (the gateway with its workers). The run fails
 * (exit 1) on any error or failed journey or payment, or when a process grows past the bounds below between the end of
 * the first window (warmed up) and the end of the run. Writes docs/operations/soak.md.
 */
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { freePort, prepareInfra, processTree, processTreeRss, totpCode } from '@ponte/testkit'
import { DEMO_STAFF_PASSWORD, DEMO_STAFF_TOTP_SECRET } from '../services/admin/src/domain/demo-staff.ts'
import { startReceiver } from '../services/connectors/test/webhooks-support.ts'
import { onboardTpp, startE2eStack } from '../services/gateway/test/e2e/stack.ts'
import { dataJourney, pixPayment, refreshTokens, settlement, TotpSteps, type TppSession } from '../services/gateway/test/e2e/journeys.ts'
import { machine, type BenchRow } from './lib.ts'
import { openLoop } from './open-loop.ts'

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30)
const RATE = Number(process.env.SOAK_RATE ?? 300)
const WINDOW_S = Number(process.env.SOAK_WINDOW_S ?? 60)
const JOURNEY_S = Number(process.env.SOAK_JOURNEY_S ?? 20)
const PAYMENT_S = Number(process.env.SOAK_PAYMENT_S ?? 30)
/**
 * Growth allowed from the first window's end to the run's end, per process: memory settles once caches and pools are
 * full (the gateway's token and consent caches hold what this run's few TPPs use, a few MiB), so what grows past
 * 64 MiB + 25 % over a run is a leak; descriptors are connections and files, which pools bound, so +64 is a leak.
 */
const RSS_GROWTH_MIB = (start: number) => 64 + start * 0.25
const FD_GROWTH = 64
const REDIRECT = 'https://tpp.example.com.br/callback'
/** Demo customers with accounts (README): journeys and payments take turns among them. */
const CUSTOMERS = ['76109277673', '52998224725']
const log = (msg: string) => process.stderr.write(`soak ${new Date().toISOString().slice(11, 19)}: ${msg}\n`)

interface Reading { rssMiB: number; fds: number }
/** Resident memory and descriptors of a service's processes and their children (the gateway's workers). */
function read(pids: number[]): Reading {
  let rss = 0
  let fds = 0
  for (const pid of pids) {
    rss += processTreeRss(pid) / 1_048_576
    for (const p of processTree(pid)) {
      try {
        fds += readdirSync(`/proc/${p}/fd`).filter((fd) => { try { readlinkSync(`/proc/${p}/fd/${fd}`); return true } catch { return false } }).length
      } catch { /* gone meanwhile */ }
    }
  }
  return { rssMiB: Math.round(rss), fds }
}
const SERVICES = ['directory', 'consent', 'connectors', 'traffic', 'trace', 'admin', 'auth-server', 'gateway']

const releaseInfra = await prepareInfra()
const CAPACITY_TPS = Math.max(300, RATE * 2)
const stack = await startE2eStack({ env: { GLOBAL_TPS_DEFAULT: String(CAPACITY_TPS) } })

/**
 * The bank's declared global capacity, set as its staff set it: a `global-tps` override through the console (demo
 * operator, password and TOTP). The traffic service publishes the rules' floor (300 requests/s) as the default, which
 * the gateway applies over its own GLOBAL_TPS_DEFAULT once it has read the policy topic; a steady load at that very
 * rate, with the journeys and payments beside it, would cross it in some seconds and be answered 529 by design.
 */
async function declareCapacity(tps: number): Promise<void> {
  const call = async (method: 'POST' | 'PUT', path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${stack.adminUrl}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    const text = await res.body.text()
    if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`console ${path}: ${res.statusCode} ${text}`)
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!)
    return { json: JSON.parse(text) as Record<string, unknown>, cookies }
  }
  const login = await call('POST', '/api/session/login', { email: 'operador@ponte.demo', password: DEMO_STAFF_PASSWORD })
  const session = await call('POST', '/api/session/totp', { code: totpCode(DEMO_STAFF_TOTP_SECRET, new Date()) }, { cookie: login.cookies.join('; ') })
  await call('PUT', '/api/traffic/overrides', { kind: 'global-tps', limit: tps, enabled: true }, { cookie: session.cookies.join('; '), 'x-csrf-token': String(session.json.csrfToken) })
  // The gateway reads the change from the policy topic.
  await sleep(5_000)
}
let exitCode = 0
// Interrupted (Ctrl-C, or the CI's timeout): the services it started are stopped, not left running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the platform`)
    void stack.stop().finally(() => releaseInfra()).finally(() => process.exit(130))
  })
}
try {
  await declareCapacity(CAPACITY_TPS)
  log(`global capacity declared at ${CAPACITY_TPS} requests/s through the console`)
  const webhookBase = `https://127.0.0.1:${await freePort()}/soak-webhook`
  const onboarded = await onboardTpp(stack, { name: 'Soak TPP', clientName: 'Soak', roles: ['DADOS', 'PAGTO'], redirectUris: [REDIRECT], webhookUris: [webhookBase] })
  const server = onboarded.statement.webhookServer!
  const receiver = await startReceiver({ ...server, clientCa: stack.pki.caBundlePem, port: Number(new URL(webhookBase).port), behaviour: () => 202 })
  const session: TppSession = { stack, tpp: onboarded.tpp, config: await onboarded.tpp.oidc(stack.authIssuer, onboarded.client.client_id), redirectUri: REDIRECT }

  // The steady load's token: a consent to read the first customer's resources (refreshed before it expires).
  const first = await dataJourney(session, CUSTOMERS[0]!, ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'])
  let tokens: { access_token: string; refresh_token?: string; expires_in?: number } = first.tokens
  let expiresAt = Date.now() + (tokens.expires_in ?? 300) * 1000
  const path = '/open-banking/resources/v3/resources'
  const gateway = new URL(stack.gatewayUrl)
  const tls = { cert: onboarded.statement.transport.chainPem, key: onboarded.statement.transport.privateKeyPem, ca: stack.pki.caBundlePem, servername: 'localhost' }

  // The mix beside the load: journeys and payments on timers, each failure counted with its reason.
  const mix = { journeys: 0, journeyFailures: [] as string[], payments: 0, paymentFailures: [] as string[], settled: 0 }
  const totp = new TotpSteps()
  let running = true
  const loop = async (everyS: number, step: (n: number) => Promise<void>) => {
    for (let n = 0; running; n++) {
      const t0 = Date.now()
      await step(n)
      await sleep(Math.max(0, everyS * 1000 - (Date.now() - t0)))
    }
  }
  const journeys = loop(JOURNEY_S, async (n) => {
    try {
      const { tokens: t } = await dataJourney(session, CUSTOMERS[n % CUSTOMERS.length]!, ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'])
      const res = await onboarded.tpp.fetch(`${stack.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${t.access_token}`, 'x-fapi-interaction-id': crypto.randomUUID() } })
      if (res.status !== 200) throw new Error(`first call answered ${res.status}`)
      mix.journeys++
    } catch (err) { mix.journeyFailures.push(String(err).slice(0, 300)) }
  })
  const payments = loop(PAYMENT_S, async (n) => {
    try {
      const paid = await pixPayment(session, { version: n % 2 ? 'v5' : 'v4', cpf: CUSTOMERS[n % CUSTOMERS.length]!, amount: '1.23', totp })
      mix.payments++
      // Settlement completes asynchronously (the core's Pix rail): read it back until ACSC.
      if (await settlement(session, paid) === 'RJCT') throw new Error(`payment ${paid.paymentId} rejected`)
      mix.settled++
    } catch (err) { mix.paymentFailures.push(String(err).slice(0, 300)) }
  })

  const windows: Array<{ minute: number; row: BenchRow & { statuses?: Record<string, { count: number }> }; journeys: number; payments: number; failures: number; readings: Record<string, Reading> }> = []
  const windowsTotal = Math.max(1, Math.round((MINUTES * 60) / WINDOW_S))
  log(`${windowsTotal} windows of ${WINDOW_S} s at ${RATE} req/s on ${path}`)
  for (let w = 0; w < windowsTotal; w++) {
    if (Date.now() + (WINDOW_S + 60) * 1000 > expiresAt) {
      // Refreshed ahead of expiry (refresh_token grant over mTLS, as a TPP does).
      tokens = await refreshTokens(session, tokens.refresh_token!)
      expiresAt = Date.now() + (tokens.expires_in ?? 300) * 1000
    }
    const before = { journeys: mix.journeys, payments: mix.payments, failures: mix.journeyFailures.length + mix.paymentFailures.length }
    const row = await openLoop(`window ${w + 1}`, { origin: gateway.origin, path, rate: RATE, seconds: WINDOW_S, tls, connections: 32, byStatus: true, headers: { authorization: `Bearer ${tokens.access_token}`, 'x-fapi-interaction-id': crypto.randomUUID() } })
    const readings = Object.fromEntries(SERVICES.map((name) => [name, read(stack.pids(name))]))
    const entry = { minute: ((w + 1) * WINDOW_S) / 60, row, journeys: mix.journeys - before.journeys, payments: mix.payments - before.payments, failures: mix.journeyFailures.length + mix.paymentFailures.length - before.failures, readings }
    windows.push(entry)
    const statuses = Object.entries(row.statuses ?? {}).map(([status, v]) => `${status} × ${v.count}`).join(', ')
    log(`window ${w + 1}/${windowsTotal}: ${row.requestsPerSecond} req/s p50 ${row.p50} p95 ${row.p95} p99 ${row.p99} errors ${row.errors} (${statuses}); journeys ${entry.journeys}, payments ${entry.payments}, failures ${entry.failures}`)
  }
  running = false
  await Promise.all([journeys, payments])
  await receiver.close()
  await onboarded.tpp.close()

  // Verdict.
  const problems: string[] = []
  const requests = windows.reduce((n, w) => n + Math.round(w.row.requestsPerSecond * WINDOW_S), 0)
  const errors = windows.reduce((n, w) => n + (w.row.errors ?? 0) + (w.row.non2xx ?? 0), 0)
  if (errors) problems.push(`${errors} of ${requests} calls failed or were not 2xx`)
  if (mix.journeyFailures.length) problems.push(`${mix.journeyFailures.length} journeys failed: ${mix.journeyFailures.slice(0, 3).join(' | ')}`)
  if (mix.paymentFailures.length) problems.push(`${mix.paymentFailures.length} payments failed: ${mix.paymentFailures.slice(0, 3).join(' | ')}`)
  const firstReading = windows[0]!.readings
  const lastReading = windows.at(-1)!.readings
  const growth = Object.keys(lastReading).map((name) => {
    const a = firstReading[name] ?? lastReading[name]!
    const b = lastReading[name]!
    const max = windows.reduce((m, w) => Math.max(m, w.readings[name]?.rssMiB ?? 0), 0)
    const rssOk = b.rssMiB - a.rssMiB <= RSS_GROWTH_MIB(a.rssMiB)
    const fdOk = b.fds - a.fds <= FD_GROWTH
    if (!rssOk) problems.push(`${name}: memory grew ${a.rssMiB} → ${b.rssMiB} MiB (bound +${Math.round(RSS_GROWTH_MIB(a.rssMiB))} MiB)`)
    if (!fdOk) problems.push(`${name}: descriptors grew ${a.fds} → ${b.fds} (bound +${FD_GROWTH})`)
    return `| ${name} | ${a.rssMiB} | ${b.rssMiB} | ${max} | ${a.fds} | ${b.fds} | ${rssOk && fdOk ? 'within' : 'beyond'} |`
  })
  const lines = [
    '# Soak',
    '',
    'Written by `make soak` (`node bench/soak.ts`); do not edit by hand. The platform runs as `make up` runs it, every',
    'service its own process, on this machine beside the load generator, PostgreSQL, Redis and Kafka.',
    '',
    `- Machine: ${machine()}`,
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Duration: ${MINUTES} min in ${windowsTotal} windows of ${WINDOW_S} s; steady load ${RATE} req/s open loop on \`GET ${path}\` (full protected path); a data journey every ${JOURNEY_S} s and a Pix payment (consent, LoA3 journey, initiation, settlement, webhooks) every ${PAYMENT_S} s`,
    `- The bank's global capacity declared through the console (a \`global-tps\` override by the demo operator): ${CAPACITY_TPS} requests/s, twice the steady rate`,
    `- Result: ${problems.length ? `**failed**: ${problems.join('; ')}` : 'passed: no error, every journey and payment completed, every process within its bounds'}`,
    `- Calls: ${requests}; errors and non-2xx: ${errors}; journeys: ${mix.journeys} (${mix.journeyFailures.length} failed); payments: ${mix.payments} initiated, ${mix.settled} settled (${mix.paymentFailures.length} failed); webhooks received: ${receiver.received.length}`,
    '',
    '## Latency over time',
    '',
    '| minute | requests/s | p50 ms | p95 ms | p99 ms | errors | non-2xx (by status) | journeys | payments | failures |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...windows.map((w) => `| ${w.minute} | ${w.row.requestsPerSecond} | ${w.row.p50} | ${w.row.p95 ?? ''} | ${w.row.p99} | ${w.row.errors ?? 0} | ${w.row.non2xx ?? 0}${w.row.non2xx ? ` (${Object.entries(w.row.statuses ?? {}).filter(([st]) => !st.startsWith('2')).map(([st, v]) => `${st} × ${v.count}`).join(', ')})` : ''} | ${w.journeys} | ${w.payments} | ${w.failures} |`),
    '',
    '## Processes',
    '',
    `Resident memory (MiB) and open descriptors after the first window and at the end; the bound is +64 MiB + 25 % of the first reading and +${FD_GROWTH} descriptors (memory settles once caches and pools are full, so growth past it over the run is a leak).`,
    '',
    '| process | RSS first | RSS last | RSS max | fds first | fds last | bounds |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...growth,
    '',
  ]
  writeFileSync(fileURLToPath(new URL('../docs/operations/soak.md', import.meta.url)), lines.join('\n'))
  console.log(lines.join('\n'))
  if (problems.length) exitCode = 1
} catch (err) {
  console.error(err)
  exitCode = 1
} finally {
  await stack.stop()
  await releaseInfra()
}
process.exit(exitCode)
