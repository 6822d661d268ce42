import { runScript, type BenchResult } from '../lib.ts'

interface Phase { requests: number; tokensPerSecond: number; p50: number; p99: number; non2xx: number; errors: number }

/**
 * The token endpoint with private_key_jwt over mTLS against the real auth-server: client_credentials, authorization-code
 * exchange and refresh, beside the cost of PS256. Where the time goes: docs/benchmarks-auth-server.md.
 */
export async function run(): Promise<BenchResult> {
  const r = await runScript('auth-client-credentials.ts') as unknown as Phase & {
    connections: number; authorizationCode: Phase; refreshToken: Phase; ps256SignUs: number; ps256VerifyUs: number
  }
  const row = (name: string, p: Phase) => ({ case: name, requestsPerSecond: p.tokensPerSecond, p50: p.p50, p99: p.p99, errors: p.errors, non2xx: p.non2xx })
  const ccCrypto = r.ps256SignUs + r.ps256VerifyUs
  return {
    title: 'auth-server: token endpoint (private_key_jwt, mTLS)',
    description: `Token requests, each with a fresh PS256 client assertion, over ${r.connections} keep-alive mTLS connections ` +
      '(one per client, as a TPP does), against the auth-server in its own process with its PostgreSQL and Redis storage: ' +
      `${r.requests} client_credentials grants, ${r.authorizationCode.requests} authorization-code exchanges (each code minted through the provider, ` +
      `one grant per authorization, a consent scope), ${r.refreshToken.requests} refreshes (non-rotating refresh tokens, reused). ` +
      'Every answer carries a PS256 JWT access token bound to the certificate; codes and refreshes also an encrypted id_token, and read the consent.',
    rows: [
      row('POST /token client_credentials', r),
      row('POST /token authorization_code', r.authorizationCode),
      row('POST /token refresh_token', r.refreshToken),
    ],
    notes: [
      `one PS256 sign: ${r.ps256SignUs} µs; one PS256 verify: ${r.ps256VerifyUs} µs (RSA 2048, this machine, measured after the load)`,
      `client_credentials: signing the access token plus verifying the assertion bounds tokens/s to about ${Math.round(1e6 / ccCrypto)} per core; ` +
        `at the measured rate that crypto is ${((r.tokensPerSecond * ccCrypto) / 1e4).toFixed(0)} % of one core`,
      'code and refresh also sign and encrypt an id_token (two signatures per answer) and read the consent over HTTP',
      'per-request profile (CPU by bucket, statements per token, crypto share) and the before/after figures: docs/benchmarks-auth-server.md',
    ],
  }
}
