import { z } from 'zod'
import { baseServiceConfig, commonEnvShape, dbConfig, listenerEnvShape, parseEnv, redisEnvShape, schemaEnvShape } from '@ponte/platform'

/** Environment variables of the traffic service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...redisEnvShape,
  ...listenerEnvShape(3002),
  ...schemaEnvShape('traffic'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    ...baseServiceConfig('traffic', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    redis: { url: e.REDIS_URL },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
