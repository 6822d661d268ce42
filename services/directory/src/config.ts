import { z } from 'zod'
import { ConfigError, baseServiceConfig, commonEnvShape, dbConfig, envBoolean, envList, envPort, metricsEnvShape, parseEnv, tlsEnvShape } from '@ponte/platform'

/** Production endpoints of the Open Finance Brasil central directory (docs/regulation/dcr.md#central-directory-participants-list). */
export const OFB_DIRECTORY = {
  production: {
    participants: 'https://data.directory.openbankingbrasil.org.br/participants',
    keystore: 'https://keystore.directory.openbankingbrasil.org.br',
  },
  sandbox: {
    participants: 'https://data.sandbox.directory.openbankingbrasil.org.br/participants',
    keystore: 'https://keystore.sandbox.directory.openbankingbrasil.org.br',
  },
} as const

const schemaName = z.string().regex(/^[a-z_][a-z0-9_]*$/)
const httpsUrl = z.url({ protocol: /^https$/ })

/** Environment variables of the directory service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...tlsEnvShape,
  HOST: z.string().default('0.0.0.0').describe('Listen address of the internal API'),
  PORT: envPort(3005).describe('Listen port of the internal API (plain HTTP, service-token protected)'),
  ...metricsEnvShape,
  DB_SCHEMA: schemaName.default('directory').describe('PostgreSQL schema of the directory connector'),

  DIRECTORY_PARTICIPANTS_URL: httpsUrl.optional().describe(`Participants list of the central directory; when unset: the in-process sandbox when DIRECTORY_SANDBOX_ENABLED, else production ${OFB_DIRECTORY.production.participants} (OFB sandbox: ${OFB_DIRECTORY.sandbox.participants})`),
  DIRECTORY_KEYSTORE_URL: httpsUrl.optional().describe(`Keystore base URL (\`<base>/openbanking.jwks\`, \`<base>/<orgId>/application.jwks\`); when unset: the in-process sandbox when DIRECTORY_SANDBOX_ENABLED, else ${OFB_DIRECTORY.production.keystore} (OFB sandbox: ${OFB_DIRECTORY.sandbox.keystore})`),
  DIRECTORY_SSA_JWKS_URL: httpsUrl.optional().describe('JWKS of the SSA issuer; default `<DIRECTORY_KEYSTORE_URL>/openbanking.jwks`'),
  DIRECTORY_SSA_ISSUER: z.string().min(1).optional().describe('Required `iss` of software statements when set (e.g. "Open Banking Open Banking Brasil prod SSA issuer")'),
  DIRECTORY_ALLOWED_HOSTS: envList().describe('Extra hosts (`host` or `host:port`) the connector may fetch from; the hosts of the URLs above are always allowed'),
  DIRECTORY_CA_FILE: z.string().optional().describe('Extra CA (PEM) trusted for outbound HTTPS to the directory; the dev CA is trusted when DIRECTORY_SANDBOX_ENABLED'),
  DIRECTORY_TRUST_ANCHORS: envList().describe('PEM bundle files of trusted client-certificate CAs (ICP-Brasil chains in production); with ALLOW_DEV_DEFAULTS the dev CA when unset'),
  DIRECTORY_SYNC_INTERVAL_S: z.coerce.number().int().min(60).default(900).describe('Participants refresh interval when the directory sends no Cache-Control max-age'),
  DIRECTORY_SYNC_ENABLED: envBoolean(true).describe('Run the periodic participants sync in this process'),
  DIRECTORY_KEYSTORE_TTL_S: z.coerce.number().int().min(10).default(600).describe('How long a fetched JWKS is used before it is fetched again'),
  DIRECTORY_KEYSTORE_REFRESH_MIN_INTERVAL_S: z.coerce.number().int().min(1).default(60).describe('Least time between two fetches of one JWKS caused by unknown kids'),
  DIRECTORY_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000).describe('Timeout of each request to the directory'),
  SSA_MAX_AGE_S: z.coerce.number().int().min(1).default(300).describe('Oldest accepted SSA `iat` (DCR-BR: 5 minutes)'),
  SSA_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(120).default(30).describe('Accepted clock skew for an SSA `iat` in the future'),

  DIRECTORY_SANDBOX_ENABLED: envBoolean(false).describe('Run the sandbox central directory (development and tests only)'),
  DIRECTORY_SANDBOX_HOST: z.string().default('0.0.0.0').describe('Listen address of the sandbox directory'),
  DIRECTORY_SANDBOX_PORT: envPort(8446).describe('TLS port of the sandbox directory'),
  DIRECTORY_SANDBOX_DB_SCHEMA: schemaName.default('directory_sandbox').describe('PostgreSQL schema of the sandbox directory'),
  DIRECTORY_SANDBOX_PUBLIC_URL: httpsUrl.default('https://localhost:8446').describe('Base URL of the sandbox as participants reach it (put in SSAs and JWKS URIs)'),
  PONTE_DEV_PKI_DIR: z.string().optional().describe('Dev PKI folder (created when missing): its CA issues sandbox participant certificates and is the dev trust anchor; with ALLOW_DEV_DEFAULTS `<repo>/.pki` when unset'),
  DIRECTORY_SANDBOX_SSA_ISSUER: z.string().min(1).default('Open Banking Open Banking Brasil sandbox SSA issuer').describe('`iss` of the SSAs the sandbox signs'),
  DIRECTORY_SANDBOX_ADMIN_TOKEN: z.string().min(16).optional().describe('When set, `/sandbox/*` onboarding calls need `Authorization: Bearer <token>`'),
  DIRECTORY_MASTER_KEY: z.string().optional().describe('32-byte key (base64) sealing the sandbox signer keys at rest (AES-256-GCM); with ALLOW_DEV_DEFAULTS a fixed dev key'),

  BANK_ORGANISATION_ID: z.string().min(1).max(40).default('9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b').describe('Directory organisation id of the bank running Ponte'),
  BANK_NAME: z.string().min(1).max(256).default('Banco Ponte Demo S.A.').describe('Registered name of the bank running Ponte'),
  BANK_CNPJ: z.string().regex(/^[0-9A-Z]{12}\d{2}$/).default('12345678000195').describe('CNPJ of the bank running Ponte'),
  BANK_AUTHORISATION_SERVER_ID: z.string().min(1).max(40).default('6a0c8d2e-1f3b-4c5d-8e9f-a0b1c2d3e4f5').describe('Directory id of the bank\'s authorisation server'),
  AUTH_SERVER_ISSUER: httpsUrl.default('https://localhost:8444').describe('Issuer of the bank\'s authorisation server (its discovery document is `<issuer>/.well-known/openid-configuration`)'),
  PAYLOAD_SIGNING_CERT_FILES: envList([]).describe('The bank\'s payload-signing certificates (PEM chains) the sandbox publishes at `/{BANK_ORGANISATION_ID}/application.jwks`, comma-separated: the current one (the gateway\'s PAYLOAD_SIGNING_CERT_FILE) and previous ones still valid, or folders whose `*.pem` files are published (`pnpm ponte rotate-keys --payload-signing <dir>` keeps `<dir>/published`); with ALLOW_DEV_DEFAULTS the dev key of the dev PKI folder'),
  GATEWAY_PUBLIC_URL: httpsUrl.default('https://localhost:8443').describe('Public base URL of the bank\'s regulated APIs (the gateway)'),
})

/** The dev master key used only with ALLOW_DEV_DEFAULTS (never in production). */
const DEV_MASTER_KEY = Buffer.from('ponte-development-master-key-32b').toString('base64')

function hostOf(url: string): string {
  return new URL(url).host
}

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  const issues: { key: string; message: string }[] = []
  const warnings: string[] = []
  let masterKey: Buffer | undefined
  if (e.DIRECTORY_MASTER_KEY) {
    masterKey = Buffer.from(e.DIRECTORY_MASTER_KEY, 'base64')
    if (masterKey.length !== 32) issues.push({ key: 'DIRECTORY_MASTER_KEY', message: 'must be 32 bytes, base64-encoded' })
  } else if (e.DIRECTORY_SANDBOX_ENABLED) {
    if (e.ALLOW_DEV_DEFAULTS) {
      masterKey = Buffer.from(DEV_MASTER_KEY, 'base64')
      warnings.push('DIRECTORY_MASTER_KEY is unset: sandbox signer keys are sealed with the fixed DEVELOPMENT master key; set DIRECTORY_MASTER_KEY before any shared use')
    } else {
      issues.push({ key: 'DIRECTORY_MASTER_KEY', message: 'required when DIRECTORY_SANDBOX_ENABLED (or set ALLOW_DEV_DEFAULTS=true for development)' })
    }
  }
  if (e.DIRECTORY_TRUST_ANCHORS.length === 0 && !e.ALLOW_DEV_DEFAULTS) {
    issues.push({ key: 'DIRECTORY_TRUST_ANCHORS', message: 'required: PEM files of the CAs that issue participant certificates (ICP-Brasil in production)' })
  }
  if (e.DIRECTORY_SANDBOX_ENABLED && !e.PONTE_DEV_PKI_DIR && !e.ALLOW_DEV_DEFAULTS) {
    issues.push({ key: 'PONTE_DEV_PKI_DIR', message: 'required when DIRECTORY_SANDBOX_ENABLED (or set ALLOW_DEV_DEFAULTS=true)' })
  }
  if (issues.length) throw new ConfigError(issues)
  const sandboxUrl = e.DIRECTORY_SANDBOX_PUBLIC_URL.replace(/\/+$/, '')
  const directory = e.DIRECTORY_SANDBOX_ENABLED ? { participants: `${sandboxUrl}/participants`, keystore: sandboxUrl } : OFB_DIRECTORY.production
  const participantsUrl = e.DIRECTORY_PARTICIPANTS_URL ?? directory.participants
  const keystoreUrl = (e.DIRECTORY_KEYSTORE_URL ?? directory.keystore).replace(/\/+$/, '')
  const ssaJwksUrl = e.DIRECTORY_SSA_JWKS_URL ?? `${keystoreUrl}/openbanking.jwks`
  const allowedHosts = [...new Set([hostOf(participantsUrl), hostOf(keystoreUrl), hostOf(ssaJwksUrl), ...e.DIRECTORY_ALLOWED_HOSTS])]
  return Object.freeze({
    ...baseServiceConfig('directory', e),
    devPkiDir: e.PONTE_DEV_PKI_DIR,
    warnings,
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    connector: {
      participantsUrl,
      keystoreUrl,
      ssaJwksUrl,
      ssaIssuer: e.DIRECTORY_SSA_ISSUER,
      allowedHosts,
      caFile: e.DIRECTORY_CA_FILE,
      trustAnchorFiles: e.DIRECTORY_TRUST_ANCHORS,
      syncIntervalS: e.DIRECTORY_SYNC_INTERVAL_S,
      syncEnabled: e.DIRECTORY_SYNC_ENABLED,
      keystoreTtlS: e.DIRECTORY_KEYSTORE_TTL_S,
      keystoreRefreshMinIntervalS: e.DIRECTORY_KEYSTORE_REFRESH_MIN_INTERVAL_S,
      fetchTimeoutMs: e.DIRECTORY_FETCH_TIMEOUT_MS,
      ssaMaxAgeS: e.SSA_MAX_AGE_S,
      ssaClockSkewS: e.SSA_CLOCK_SKEW_S,
    },
    sandbox: {
      enabled: e.DIRECTORY_SANDBOX_ENABLED,
      host: e.DIRECTORY_SANDBOX_HOST,
      port: e.DIRECTORY_SANDBOX_PORT,
      schema: e.DIRECTORY_SANDBOX_DB_SCHEMA,
      publicUrl: sandboxUrl,
      ssaIssuer: e.DIRECTORY_SANDBOX_SSA_ISSUER,
      adminToken: e.DIRECTORY_SANDBOX_ADMIN_TOKEN,
      masterKey,
      tls: { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE, clientCaFile: e.TLS_CLIENT_CA_FILE },
    },
    bank: {
      organisationId: e.BANK_ORGANISATION_ID,
      name: e.BANK_NAME,
      cnpj: e.BANK_CNPJ,
      authorisationServerId: e.BANK_AUTHORISATION_SERVER_ID,
      authServerIssuer: e.AUTH_SERVER_ISSUER.replace(/\/+$/, ''),
      gatewayUrl: e.GATEWAY_PUBLIC_URL.replace(/\/+$/, ''),
    },
    payloadSigningCertFiles: e.PAYLOAD_SIGNING_CERT_FILES,
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
