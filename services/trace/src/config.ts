import { z } from 'zod'
import { baseServiceConfig, commonEnvShape, dbConfig, listenerEnvShape, parseEnv, schemaEnvShape } from '@ponte/platform'

/** Environment variables of the trace service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3004),
  ...schemaEnvShape('trace'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    ...baseServiceConfig('trace', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
