import { createHash, hkdfSync } from 'node:crypto'
import { z } from 'zod'
import { ConfigError, baseServiceConfig, commonEnvShape, dbConfig, envList, listenerEnvShape, parseEnv, redisEnvShape, schemaEnvShape, tlsEnvShape } from '@ponte/platform'
import { MANDATORY_DISCOVERY_SCOPES } from './domain/scopes.ts'

/** Environment variables of the auth-server service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...redisEnvShape,
  ...tlsEnvShape,
  ...listenerEnvShape(8444, 'Listen port (TLS, client certificate requested)'),
  ...schemaEnvShape('auth'),
  CLIENT_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/).default('ponte.client.v1').describe('Kafka topic of client suspensions and reinstatements (compacted; the gateway reads it)'),
  ISSUER: z.url().default('https://localhost:8444').describe('Public issuer URL (scheme, host, port) as TPPs reach it'),
  ACCESS_TOKEN_AUDIENCE: z.url().default('https://localhost:8443').describe('`aud` of access tokens: the gateway base URL that validates them'),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(300).max(900).default(300).describe('Access token lifetime in seconds (FAPI-BR: 300-900)'),
  REFRESH_TOKEN_TTL_S: z.coerce.number().int().min(86_400).default(10 * 366 * 86_400)
    .describe('Refresh token ceiling in seconds; refresh tokens are revoked with their consent (ponte.consent.v1) long before'),
  OFFERED_SCOPES: envList(['openid', 'consents', 'resources', 'accounts', 'credit-cards-accounts', 'customers', 'loans', 'payments'])
    .describe('Scopes this institution offers, advertised in discovery with the FAPI-BR mandatory list'),
  KEYS_MASTER_KEY: z.string().optional().describe('Base64 32-byte master key sealing the signing/encryption keys at rest (AES-256-GCM); required unless ALLOW_DEV_DEFAULTS'),
  COOKIE_SECRET: z.string().min(32).optional().describe('Secret for journey cookies and CSRF tokens (>= 32 chars); derived from the master key when unset'),
  KEY_RELOAD_INTERVAL_MS: z.coerce.number().int().min(1_000).default(30_000).describe('How often replicas check for rotated keys'),
  DIRECTORY_URL: z.url().default('http://127.0.0.1:3005').describe('Directory connector internal API'),
  CONSENT_URL: z.url().default('http://127.0.0.1:3001').describe('Consent service internal API'),
  CONNECTORS_URL: z.url().default('http://127.0.0.1:3003').describe('Connectors service internal API'),
  INTERNAL_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000).describe('Timeout of calls to other Ponte services'),
  JWKS_FETCH_ALLOWED_ORIGINS: envList(['https://keystore.directory.openbankingbrasil.org.br', 'https://keystore.sandbox.directory.openbankingbrasil.org.br'])
    .describe('Origins whose client jwks_uri the server may fetch (comma-separated); nothing else is fetched'),
  JWKS_FETCH_CA_FILE: z.string().optional().describe('Extra trust anchors (PEM) for fetching jwks_uri, e.g. the sandbox directory dev CA'),
  CLIENT_CERT_HEADER: z.string().regex(/^[a-z0-9-]+$/).optional().describe('Header carrying the client certificate (URL-encoded PEM) from a TLS-terminating proxy'),
  TRUSTED_PROXIES: envList([]).describe('Addresses trusted to set CLIENT_CERT_HEADER and X-Forwarded-*; the header is ignored from anyone else'),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(2).default(5)
    .describe('Failed logins of one CPF that put it on hold (after 2 free failures each further one doubles a wait from 2 s)'),
  LOGIN_HOLD_S: z.coerce.number().int().min(60).default(900).describe('How long a CPF is on hold after LOGIN_MAX_FAILURES failed logins, in seconds'),
  LOGIN_WINDOW_S: z.coerce.number().int().min(60).default(900).describe('Failed logins are forgotten this long after the last one; also the per-address window, in seconds'),
  LOGIN_ADDRESS_MAX_FAILURES: z.coerce.number().int().min(10).default(100)
    .describe('Failed logins from one client address (any CPF) per LOGIN_WINDOW_S before that address waits; sized for a shared NAT'),
  TOTP_MAX_FAILURES: z.coerce.number().int().min(2).default(5)
    .describe('Wrong TOTP codes of one CPF (payment consents, LoA3) that put its code step on hold (2 free, then waits doubling from 2 s)'),
  TOTP_HOLD_S: z.coerce.number().int().min(60).default(900).describe('How long a CPF cannot enter TOTP codes after TOTP_MAX_FAILURES wrong ones, in seconds'),
  REQUEST_LIMIT_PUBLIC_PER_MIN: z.coerce.number().int().min(0).default(1_200)
    .describe('Requests per sliding minute from one client address (IPv6: its /64) to the public endpoints: authorization, journey pages, JWKS, discovery; over it 429 with Retry-After; 0 = off'),
  REQUEST_LIMIT_MTLS_PER_MIN: z.coerce.number().int().min(0).default(6_000)
    .describe('Requests per sliding minute from one client address (IPv6: its /64) to the mTLS endpoints: token, PAR, registration, introspection, revocation, userinfo; 0 = off'),
  REQUEST_LIMIT_REDIS_TIMEOUT_MS: z.coerce.number().int().min(5).default(100)
    .describe('Longest wait for the request-limit count in Redis; past it, or with Redis down, requests are served without the limit (counted in /metrics)'),
  BANK_NAME: z.string().default('Banco Ponte').describe('Institution name shown on the journey pages'),
})

const DEV_MASTER_KEY = createHash('sha256').update('ponte development master key - never use in production').digest()

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  const warnings: string[] = []
  let masterKey: Buffer
  if (e.KEYS_MASTER_KEY) {
    masterKey = Buffer.from(e.KEYS_MASTER_KEY, 'base64')
    if (masterKey.length !== 32) throw new ConfigError([{ key: 'KEYS_MASTER_KEY', message: 'must be 32 bytes, base64' }])
  } else if (e.ALLOW_DEV_DEFAULTS) {
    masterKey = DEV_MASTER_KEY
    warnings.push('KEYS_MASTER_KEY is unset: private keys are sealed with the PUBLIC development master key. Set KEYS_MASTER_KEY before production.')
  } else {
    throw new ConfigError([{ key: 'KEYS_MASTER_KEY', message: 'required (base64 of 32 random bytes), or set ALLOW_DEV_DEFAULTS=true in development' }])
  }
  const cookieSecret = e.COOKIE_SECRET ?? Buffer.from(hkdfSync('sha256', masterKey, 'ponte-auth-server', 'journey-cookies', 32)).toString('base64url')
  const offered = [...new Set(['openid', ...e.OFFERED_SCOPES])]
  return Object.freeze({
    ...baseServiceConfig('auth-server', e),
    warnings,
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS, clientTopic: e.CLIENT_TOPIC },
    redis: { url: e.REDIS_URL },
    tls: { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE, clientCaFile: e.TLS_CLIENT_CA_FILE },
    masterKey,
    keyReloadIntervalMs: e.KEY_RELOAD_INTERVAL_MS,
    oidc: {
      issuer: e.ISSUER.replace(/\/$/, ''),
      accessTokenAudience: e.ACCESS_TOKEN_AUDIENCE.replace(/\/$/, ''),
      accessTokenTtlS: e.ACCESS_TOKEN_TTL_S,
      refreshTokenTtlS: e.REFRESH_TOKEN_TTL_S,
      offeredScopes: offered,
      discoveryScopes: [...new Set([...offered, ...MANDATORY_DISCOVERY_SCOPES])],
      cookieSecret,
    },
    services: { directoryUrl: e.DIRECTORY_URL, consentUrl: e.CONSENT_URL, connectorsUrl: e.CONNECTORS_URL, timeoutMs: e.INTERNAL_TIMEOUT_MS },
    jwksFetch: { allowedOrigins: e.JWKS_FETCH_ALLOWED_ORIGINS.map((o) => new URL(o).origin), caFile: e.JWKS_FETCH_CA_FILE },
    proxy: { clientCertHeader: e.CLIENT_CERT_HEADER, trusted: e.TRUSTED_PROXIES },
    login: { maxFailures: e.LOGIN_MAX_FAILURES, holdS: e.LOGIN_HOLD_S, windowS: e.LOGIN_WINDOW_S, addressMaxFailures: e.LOGIN_ADDRESS_MAX_FAILURES },
    requestLimit: { budgets: { public: e.REQUEST_LIMIT_PUBLIC_PER_MIN, mtls: e.REQUEST_LIMIT_MTLS_PER_MIN }, redisTimeoutMs: e.REQUEST_LIMIT_REDIS_TIMEOUT_MS },
    totp: { maxFailures: e.TOTP_MAX_FAILURES, holdS: e.TOTP_HOLD_S, windowS: e.LOGIN_WINDOW_S },
    bankName: e.BANK_NAME,
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
