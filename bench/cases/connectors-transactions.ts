import { load, startChild, type BenchResult } from '../lib.ts'

/**
 * `GET /open-banking/accounts/v2/accounts/{id}/transactions` on the connectors' internal route (service token in
 * the header), postgres reference core holding 100 000 customers / 10 000 000 transactions (bench/seed.ts), 12-month
 * window, page-size 25 and 1000. The seed time is reported from the load that created the data.
 */
export async function run(): Promise<BenchResult> {
  // The first run on a machine seeds the data before listening (about 3 minutes here): allow it 20.
  const server = await startChild('connectors-transactions.ts', { startTimeoutMs: 20 * 60_000 })
  try {
    const { port, accountId, token, seed } = server.info as { port: number; accountId: string; token: string; seed: { customers: number; transactions: number; seconds: number; loaded: boolean } }
    const today = new Date(Date.now() - 3 * 3_600_000).toISOString().slice(0, 10)
    const from = new Date(Date.parse(`${today}T00:00:00Z`) - 364 * 86_400_000).toISOString().slice(0, 10)
    const url = (size: number) => `http://127.0.0.1:${port}/open-banking/accounts/v2/accounts/${accountId}/transactions?fromBookingDate=${from}&toBookingDate=${today}&page-size=${size}`
    const headers = { 'x-ponte-service-token': token }
    await load('warm-up', { url: url(25), headers, durationSeconds: 2, connections: 10 })
    const rows = [
      await load('transactions, page-size 25, 20 connections', { url: url(25), headers, connections: 20, durationSeconds: 8 }),
      await load('transactions, page-size 1000, 20 connections', { url: url(1000), headers, connections: 20, durationSeconds: 8 }),
    ]
    return {
      title: 'Account transactions through the connectors (postgres reference core)',
      description: `Internal route with a gateway service token (EdDSA verified per request), consent checks, booking-date window, ` +
        `pagination key, spec-shaped body. Data: ${seed.customers} customers, ${seed.transactions} transactions (one account ≈ ${Math.round(seed.transactions / seed.customers)} per year, ` +
        `so page-size 1000 returns the account's whole year).`,
      rows,
      notes: [`seed: ${seed.customers} customers / ${seed.transactions} transactions loaded in ${seed.seconds.toFixed(1)} s${seed.loaded ? '' : ' (earlier run, data reused)'}`],
    }
  } finally {
    await server.stop()
  }
}
