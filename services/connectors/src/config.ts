import { z } from 'zod'
import { baseServiceConfig, commonEnvShape, dbConfig, envBoolean, listenerEnvShape, parseEnv } from '@ponte/platform'

/** Environment variables of the connectors service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3003),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('core').describe('PostgreSQL schema owned by this service (the reference core bank)'),
  CORE_CONNECTOR: z.enum(['postgres', 'http']).default('postgres').describe('Which core serves the data: the reference core in PostgreSQL, or an external core over HTTP (core-api.yaml)'),
  CORE_HTTP_URL: z.url().optional().describe('Base URL of the external core (CORE_CONNECTOR=http)'),
  CORE_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(5_000).describe('Timeout of one call to the external core; past it the API answers 504'),
  CORE_HTTP_RETRIES: z.coerce.number().int().min(0).max(5).default(2).describe('Retries of a failed idempotent GET to the external core (connection errors and 502/503/504)'),
  CORE_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5).describe('Consecutive failures of the external core that open the circuit breaker'),
  CORE_BREAKER_RESET_MS: z.coerce.number().int().min(100).default(10_000).describe('How long the open circuit refuses calls before one trial call'),
  PUBLIC_BASE_URL: z.url().default('https://localhost:8443').describe('Public base URL of the regulated API (links in responses point at the gateway)'),
  PAGINATION_KEY_SECRET: z.string().min(32).optional().describe('HMAC secret of pagination-key values (≥ 32 characters; shared by all replicas); required unless ALLOW_DEV_DEFAULTS, which generates one per process'),
  BRAND_NAME: z.string().min(1).max(80).default('Banco Ponte').describe('Brand name shown in the data APIs (brandName)'),
  COMPANY_CNPJ: z.string().regex(/^[0-9A-Z]{12}\d{2}$/).default('12345678000195').describe('CNPJ of the institution (companyCnpj)'),
  SEED_DEMO_BANK: envBoolean(false).describe('Load the demo bank into the reference core at start-up (idempotent)'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    ...baseServiceConfig('connectors', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    core: {
      kind: e.CORE_CONNECTOR,
      http: { url: e.CORE_HTTP_URL, timeoutMs: e.CORE_HTTP_TIMEOUT_MS, retries: e.CORE_HTTP_RETRIES, breakerFailures: e.CORE_BREAKER_FAILURES, breakerResetMs: e.CORE_BREAKER_RESET_MS },
    },
    publicBaseUrl: e.PUBLIC_BASE_URL,
    paginationKeySecret: e.PAGINATION_KEY_SECRET,
    brand: { brandName: e.BRAND_NAME, companyCnpj: e.COMPANY_CNPJ },
    seedDemoBank: e.SEED_DEMO_BANK,
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
