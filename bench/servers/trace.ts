/**
 * The trace service's HTTP API over a large call store: schema `bench_trace`, seeded once with BENCH_TRACE_CALLS calls
 * (default 2 000 000) spread evenly over the last 8 days by `generate_series` in SQL, with the rollups derived from
 * them in SQL (as ingestion would have left them). Prints `{"port":N,"interactionId":"…","token":"…","calls":N}`
 * when listening; the token is an admin service token for trace, valid 60 s. BENCH_SERVICE_KEYS (JSON
 * `{ privateKeyPem, publicKeyPem }`) sets the service-token key pair. Usage: node bench/servers/trace.ts
 */
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import {
  createLogger, createPool, createServiceTokenIssuer, createServiceTokenVerifier, generateServiceKeyPair, migrate, parsePublicKeys, withTransaction,
} from '@ponte/platform'
import { ensureDatabase, testInfra } from '@ponte/testkit'
import { buildApp } from '../../services/trace/src/app.ts'
import { createAlertReader } from '../../services/trace/src/adapters/alerting.ts'
import { createAvailabilityStore } from '../../services/trace/src/adapters/pg-availability.ts'
import { ensurePartitions } from '../../services/trace/src/adapters/pg-partitions.ts'
import { createCallSearch } from '../../services/trace/src/adapters/pg-search.ts'
import { createOverview } from '../../services/trace/src/adapters/pg-overview.ts'
import { loadSlaLookup } from '../../services/trace/src/adapters/nfr-sla.ts'

const target = Number(process.env.BENCH_TRACE_CALLS ?? 2_000_000)
const { databaseUrl } = testInfra()
await ensureDatabase(databaseUrl)
const schema = 'bench_trace'
await migrate({ url: databaseUrl, schema, dir: fileURLToPath(new URL('../../services/trace/migrations', import.meta.url)) })
const pool = createPool({ url: databaseUrl, schema, max: 10, statementTimeoutMs: 3_600_000 })

const endpoints = ['accounts', 'accounts/{accountId}', 'accounts/{accountId}/balances', 'accounts/{accountId}/transactions', 'accounts/{accountId}/overdraft-limits']
  .map((p) => `/open-banking/accounts/v2/${p}`)
  .concat(['consents', 'consents/{consentId}'].map((p) => `/open-banking/consents/v3/${p}`))
  .concat(['accounts', 'accounts/{creditCardAccountId}', 'accounts/{creditCardAccountId}/bills', 'accounts/{creditCardAccountId}/limits'].map((p) => `/open-banking/credit-cards-accounts/v2/${p}`))
  .concat(['contracts', 'contracts/{contractId}', 'contracts/{contractId}/payments'].map((p) => `/open-banking/loans/v2/${p}`))
  .concat(['personal/identifications', 'business/identifications'].map((p) => `/open-banking/customers/v2/${p}`))
  .concat(['resources'].map((p) => `/open-banking/resources/v3/${p}`))

const have = Number((await pool.query<{ n: string }>('select count(*) as n from calls')).rows[0]!.n)
// The seeded window is anchored when seeding; a later run keeps it (the metrics then cover what is left of it).
if (have < target) {
  process.stderr.write(`seeding ${target - have} calls into ${schema} …\n`)
  const days = Array.from({ length: 10 }, (_, i) => new Date(Date.now() - (8 - i) * 86_400_000).toISOString().slice(0, 10))
  await withTransaction(pool, (c) => ensurePartitions(c, days))
  const chunk = 1_000_000
  for (let from = have; from < target; from += chunk) {
    const to = Math.min(target, from + chunk)
    await pool.query(
      `insert into calls (received_at, event_id, interaction_id, organisation_id, client_id, consent_id, endpoint, method, status, ttfb_ms, request_bytes, response_bytes)
       select now() - interval '8 days' + (i::float8 / $3) * interval '8 days' - interval '1 minute', gen_random_uuid(), gen_random_uuid(),
              'org-' || (i % 50), 'client-' || (i % 200), 'urn:bench:' || (i % 100000), ($4::text[])[1 + i % $5], 'GET',
              case when i % 100 = 0 then 500 when i % 97 = 0 then 429 else 200 end, 20 + (i % 700), 0, 2000
         from generate_series($1::bigint, $2::bigint - 1) i`, [from, to, target, endpoints, endpoints.length])
    process.stderr.write(`  ${to} calls\n`)
  }
  await pool.query('truncate call_minutes, endpoint_minutes, endpoint_days, endpoint_seconds')
  await pool.query(
    `insert into call_minutes (minute, endpoint, method, status, organisation_id, calls, ttfb_sum, ttfb_max, over_1500, over_2000, over_4000)
     select date_trunc('minute', received_at), endpoint, method, status, coalesce(organisation_id, ''), count(*), sum(ttfb_ms), max(ttfb_ms),
            count(*) filter (where ttfb_ms > 1500), count(*) filter (where ttfb_ms > 2000), count(*) filter (where ttfb_ms > 4000)
       from calls group by 1, 2, 3, 4, 5`)
  await pool.query(
    `insert into endpoint_minutes (endpoint, minute, calls, ok, failed)
     select endpoint, date_trunc('minute', received_at), count(*), count(*) filter (where status between 200 and 299 or status = 422),
            count(*) filter (where status >= 500 or status = 408) from calls group by 1, 2`)
  await pool.query(
    `insert into endpoint_days (day, endpoint, calls, ttfb_sum, errors, rejections, peak_tps)
     select day, endpoint, sum(n), sum(t), sum(e), sum(r), max(n)
       from (select (received_at - interval '3 hours')::date as day, endpoint, date_trunc('second', received_at) as s, count(*) as n, sum(ttfb_ms) as t,
                    count(*) filter (where (status >= 500 and status <> 529) or status = 408) as e, count(*) filter (where status in (423, 429, 529)) as r
               from calls group by 1, 2, 3) x group by 1, 2`)
  await pool.query('analyze')
}
const calls = Number((await pool.query<{ n: string }>('select count(*) as n from calls')).rows[0]!.n)
const sample = await pool.query<{ interaction_id: string }>('select interaction_id from calls order by received_at desc limit 1 offset 12345')

// The admin console's benchmark passes the service-token key pair its admin server signs with.
const keys = process.env.BENCH_SERVICE_KEYS ? (JSON.parse(process.env.BENCH_SERVICE_KEYS) as ReturnType<typeof generateServiceKeyPair>) : generateServiceKeyPair()
const availability = createAvailabilityStore(pool)
const sink = new Writable({ write(_c, _e, cb) { cb() } })
const app = buildApp({
  server: { logger: createLogger({ service: 'trace', destination: sink }) },
  serviceAuth: createServiceTokenVerifier('trace', parsePublicKeys(keys.publicKeyPem)),
  search: createCallSearch(pool),
  availability,
  alerts: createAlertReader(pool),
  overview: createOverview({ pool, availability, slaOf: loadSlaLookup() }),
  clock: () => new Date(),
  publicBaseUrl: 'https://api.bank.example',
  minOutageNoticeMs: 3_600_000,
  resolutionEstimateMs: 1_800_000,
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
const token = await createServiceTokenIssuer('admin', keys.privateKeyPem).sign('trace', undefined, 60)
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port), interactionId: sample.rows[0]!.interaction_id, token, calls })}\n`)
process.once('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)))
