import { z } from 'zod'
import { commonEnvShape, envPort, parseEnv } from '@ponte/platform'

/** Environment variables of the admin service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  HOST: z.string().default('0.0.0.0').describe('Listen address'),
  PORT: envPort(3000).describe('Listen port'),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('admin').describe('PostgreSQL schema owned by this service'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    service: 'admin',
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    db: { url: e.DATABASE_URL, schema: e.DB_SCHEMA, poolMax: e.DATABASE_POOL_MAX },
    serviceKeys: { privateKey: e.SERVICE_TOKEN_PRIVATE_KEY, publicKeys: e.SERVICE_TOKEN_PUBLIC_KEYS },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
