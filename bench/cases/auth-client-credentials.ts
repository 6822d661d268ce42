import { runScript, type BenchResult } from '../lib.ts'

/** `client_credentials` with private_key_jwt over mTLS against the real auth-server, beside the cost of PS256. */
export async function run(): Promise<BenchResult> {
  const r = await runScript('auth-client-credentials.ts') as {
    requests: number; connections: number; tokensPerSecond: number; p50: number; p99: number; non2xx: number; errors: number
    ps256SignUs: number; ps256VerifyUs: number
  }
  return {
    title: 'auth-server: client_credentials tokens (private_key_jwt, mTLS)',
    description: `${r.requests} token requests, each with a fresh PS256 client assertion, over ${r.connections} keep-alive mTLS connections ` +
      '(one per client, as a TPP does), against the auth-server in its own process with its PostgreSQL storage. Each answer is a PS256 JWT access token bound to the certificate.',
    rows: [{ case: 'POST /token client_credentials', requestsPerSecond: r.tokensPerSecond, p50: r.p50, p99: r.p99, errors: r.errors, non2xx: r.non2xx }],
    notes: [
      `one PS256 sign: ${r.ps256SignUs} µs; one PS256 verify: ${r.ps256VerifyUs} µs (RSA 2048, this machine)`,
      `signing the access token (plus verifying the client assertion) bounds tokens/s to about ${Math.round(1e6 / (r.ps256SignUs + r.ps256VerifyUs))} per core`,
    ],
  }
}
