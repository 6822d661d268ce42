import { z } from 'zod'
import { topics } from '@ponte/contracts'
import { baseServiceConfig, commonEnvShape, dbConfig, listenerEnvShape, parseEnv, redisEnvShape, schemaEnvShape } from '@ponte/platform'

/** Environment variables of the traffic service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...redisEnvShape,
  ...listenerEnvShape(3002),
  ...schemaEnvShape('traffic'),
  TRAFFIC_POLICY_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/).default(topics.trafficPolicy)
    .describe('Compacted topic that carries the policy set (the gateway reads the same one); tests use a private one'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    ...baseServiceConfig('traffic', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    redis: { url: e.REDIS_URL },
    policyTopic: e.TRAFFIC_POLICY_TOPIC,
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
