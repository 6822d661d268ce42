import { z } from 'zod'
import { commonEnvShape, envPort, parseEnv } from '@ponte/platform'

/** Environment variables of the consent service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  HOST: z.string().default('0.0.0.0').describe('Listen address'),
  PORT: envPort(3001).describe('Listen port'),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('consent').describe('PostgreSQL schema owned by this service'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    service: 'consent',
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    db: { url: e.DATABASE_URL, schema: e.DB_SCHEMA, poolMax: e.DATABASE_POOL_MAX },
    kafka: { brokers: e.KAFKA_BROKERS },
    serviceKeys: { privateKey: e.SERVICE_TOKEN_PRIVATE_KEY, publicKeys: e.SERVICE_TOKEN_PUBLIC_KEYS },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
