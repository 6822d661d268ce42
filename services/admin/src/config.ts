import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { ConfigError, baseServiceConfig, commonEnvShape, dbConfig, envBoolean, envList, listenerEnvShape, parseEnv, redisEnvShape, schemaEnvShape } from '@ponte/platform'
import { ROLES } from './domain/roles.ts'

/** Environment variables of the admin service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3000),
  ...schemaEnvShape('admin'),
  ...redisEnvShape,
  CONSENT_URL: z.url().default('http://127.0.0.1:3001').describe('Consent service internal API (search, audit, revoke)'),
  TRAFFIC_URL: z.url().default('http://127.0.0.1:3002').describe('Traffic service internal API (policies, overrides, usage)'),
  DIRECTORY_URL: z.url().default('http://127.0.0.1:3005').describe('Directory service internal API (organisations)'),
  CONNECTORS_URL: z.url().default('http://127.0.0.1:3003').describe('Connectors internal API (payments, their history and cancellation, webhooks sent)'),
  TRACE_URL: z.url().default('http://127.0.0.1:3004').describe('Trace service internal API (call search and story, dashboard overview, alerts, scheduled outages)'),
  AUTH_SERVER_URL: z.url().default('https://localhost:8444').describe("Auth-server internal API, TLS (registered clients and their suspension, the signing keys' rotation status, rotate now)"),
  AUTH_SERVER_CA_FILE: z.string().min(1).optional().describe("Trust anchors (PEM) for the auth-server's TLS certificate; default: the system store (with ALLOW_DEV_DEFAULTS, the dev PKI's CA)"),
  INTERNAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000).describe('Timeout of each call to another service'),
  SESSION_IDLE_TIMEOUT_S: z.coerce.number().int().min(60).max(86_400).default(900).describe('A staff session unused this long ends (seconds)'),
  SESSION_ABSOLUTE_TIMEOUT_S: z.coerce.number().int().min(300).max(7 * 86_400).default(28_800).describe('A staff session ends this long after login, used or not (seconds)'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5).describe('Failed logins (password or code) per e-mail before the account is throttled for the window'),
  LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20).describe('Failed logins per client address before the address is throttled for the window'),
  LOGIN_THROTTLE_WINDOW_S: z.coerce.number().int().min(10).default(900).describe('Login throttle window (seconds)'),
  ROUTE_TABLE_FILE: z.string().min(1).optional().describe("The gateway's route table, the API catalog's source (default: services/gateway/src/routes.generated.json)"),
  API_CATALOG_TOPIC: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('ponte.api-catalog.v1').describe('Kafka topic of API version changes (compacted; the gateway reads it from the beginning)'),
  CONSOLE_DIR: z.string().min(1).optional().describe('Directory of the built console app to serve (default: services/admin/web/dist, built by make install)'),
  SEED_DEMO_STAFF: envBoolean(false).describe('Create the demo staff accounts (README) at start-up; needs ALLOW_DEV_DEFAULTS, never in production'),

  PONTE_DEV_PKI_DIR: z.string().optional().describe("Dev PKI folder, used with ALLOW_DEV_DEFAULTS when AUTH_SERVER_CA_FILE is unset: its CA is the auth-server's trust anchor; `<repo>/.pki` when unset"),
  DASHBOARD_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000).describe('How long one dashboard answer (overview and firing alerts) is shared by every staff session (ms)'),
  KEY_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3_650).default(90).describe('Age after which an active auth-server key is shown as due for rotation (days)'),

  SSO_ISSUER: z.url().optional().describe("The bank's OpenID Provider (issuer URL, discovered at /.well-known/openid-configuration); unset: single sign-on off"),
  SSO_CLIENT_ID: z.string().min(1).optional().describe('Client id of the console at the OpenID Provider'),
  SSO_CLIENT_SECRET: z.string().min(1).optional().describe('Client secret (client_secret_basic); unset: a public client (PKCE only)'),
  SSO_REDIRECT_URI: z.url().optional().describe('Redirect URI registered at the OpenID Provider: the console origin + /api/session/sso/callback'),
  SSO_SCOPES: z.string().min(1).default('openid email profile').describe('Scopes asked of the OpenID Provider (space-separated; openid is required)'),
  SSO_ROLES_CLAIM: z.string().min(1).default('ponte_roles').describe('Claim (dot path) of the ID token or userinfo holding the console roles: an array or a space-separated string'),
  SSO_ROLE_MAP: envList([]).describe('Claim values mapped to console roles (`value=role`, comma-separated); unset: the values are role names'),
  SSO_MFA_ACR_VALUES: envList([]).describe('`acr` values that assert multi-factor authentication at the OpenID Provider (besides `amr` containing `mfa`), comma-separated'),
  SSO_LINK_BY_EMAIL: envBoolean(true).describe('Link a first single sign-on to the existing staff account with the same (verified) e-mail'),
  SSO_CREATE_USERS: envBoolean(true).describe('Create a staff account on a first single sign-on with no account to link'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  const sso = ssoConfig(e)
  if (e.SEED_DEMO_STAFF && !e.ALLOW_DEV_DEFAULTS) throw new ConfigError([{ key: 'SEED_DEMO_STAFF', message: 'needs ALLOW_DEV_DEFAULTS=true: the demo accounts have public passwords' }])
  return Object.freeze({
    ...baseServiceConfig('admin', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    redis: { url: e.REDIS_URL },
    services: { consentUrl: e.CONSENT_URL, trafficUrl: e.TRAFFIC_URL, directoryUrl: e.DIRECTORY_URL, connectorsUrl: e.CONNECTORS_URL, traceUrl: e.TRACE_URL, authServerUrl: e.AUTH_SERVER_URL, authServerCaFile: e.AUTH_SERVER_CA_FILE,
      devPkiDir: e.PONTE_DEV_PKI_DIR ?? fileURLToPath(new URL('../../../.pki', import.meta.url)), timeoutMs: e.INTERNAL_TIMEOUT_MS },
    sessions: { idleS: e.SESSION_IDLE_TIMEOUT_S, absoluteS: e.SESSION_ABSOLUTE_TIMEOUT_S, pendingS: 300 },
    throttle: { perAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT, perAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS, windowS: e.LOGIN_THROTTLE_WINDOW_S },
    seedDemoStaff: e.SEED_DEMO_STAFF,
    catalog: { routeTableFile: e.ROUTE_TABLE_FILE ?? fileURLToPath(new URL('../../gateway/src/routes.generated.json', import.meta.url)), topic: e.API_CATALOG_TOPIC },
    dashboardCacheMs: e.DASHBOARD_CACHE_MS,
    keyMaxAgeDays: e.KEY_MAX_AGE_DAYS,
    sso,
    webDir: e.CONSOLE_DIR ?? fileURLToPath(new URL('../web/dist', import.meta.url)),
  })
}

/** Single sign-on settings, checked together: all or nothing, https unless ALLOW_DEV_DEFAULTS. */
function ssoConfig(e: z.output<typeof Env>) {
  if (!e.SSO_ISSUER) return undefined
  const missing = (['SSO_CLIENT_ID', 'SSO_REDIRECT_URI'] as const).filter((k) => !e[k])
  if (missing.length) throw new ConfigError(missing.map((key) => ({ key, message: 'required when SSO_ISSUER is set' })))
  if (!e.ALLOW_DEV_DEFAULTS && new URL(e.SSO_ISSUER).protocol !== 'https:') throw new ConfigError([{ key: 'SSO_ISSUER', message: 'must be https (http only with ALLOW_DEV_DEFAULTS)' }])
  if (!e.SSO_SCOPES.split(' ').includes('openid')) throw new ConfigError([{ key: 'SSO_SCOPES', message: 'must include openid' }])
  const roleMap: Record<string, string> = {}
  for (const pair of e.SSO_ROLE_MAP) {
    const [value, role] = pair.split('=')
    if (!value || !role || !(ROLES as readonly string[]).includes(role)) throw new ConfigError([{ key: 'SSO_ROLE_MAP', message: `"${pair}" is not value=role with a console role (${ROLES.join(', ')})` }])
    roleMap[value] = role
  }
  return {
    issuer: e.SSO_ISSUER, clientId: e.SSO_CLIENT_ID!, clientSecret: e.SSO_CLIENT_SECRET, redirectUri: e.SSO_REDIRECT_URI!, scopes: e.SSO_SCOPES,
    rolesClaim: e.SSO_ROLES_CLAIM, roleMap, mfaAcrValues: e.SSO_MFA_ACR_VALUES, linkByEmail: e.SSO_LINK_BY_EMAIL, createUsers: e.SSO_CREATE_USERS,
    allowInsecure: e.ALLOW_DEV_DEFAULTS,
  }
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
