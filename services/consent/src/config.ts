import { z } from 'zod'
import { baseServiceConfig, commonEnvShape, dbConfig, envList, listenerEnvShape, parseEnv, schemaEnvShape } from '@ponte/platform'
import type { PermissionGroupName } from '@ponte/contracts'
import { DEFAULT_OFFERED_GROUPS, OPTIONAL_GROUPS } from './domain/permissions.ts'

/** Environment variables of the consent service. Every field is documented in the README's configuration table. */
export const Env = z.object({
  ...commonEnvShape,
  ...listenerEnvShape(3001),
  ...schemaEnvShape('consent'),
  CONSENT_ID_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,31}$/, 'a URN namespace: letters, digits and hyphens, at most 32')
    .default('ponte')
    .describe('Bank namespace of consent ids: `urn:<prefix>:<uuid>`'),
  OFFERED_PERMISSION_GROUPS: envList([...DEFAULT_OFFERED_GROUPS])
    .pipe(z.array(z.enum(OPTIONAL_GROUPS as [PermissionGroupName, ...PermissionGroupName[]])))
    .describe(`Per-resource permission groups this bank offers (others are trimmed from requests), comma-separated: ${OPTIONAL_GROUPS.join(', ')}`),
  PUBLIC_BASE_URL: z
    .url()
    .default('https://localhost:8443')
    .transform((u) => u.replace(/\/+$/, ''))
    .describe('Public base URL of the regulated API (gateway), used in response `links`'),
  REGULATED_API_CALLERS: envList(['gateway']).describe('Services allowed to call the regulated `/open-banking/consents/v3` and `/open-banking/payments/{v4,v5}/consents` routes (service token `iss`)'),
  EXPIRY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000).describe('Pause between sweeps of due consent expiries and expired idempotency keys'),
  EXPIRY_SWEEP_BATCH: z.coerce.number().int().min(1).max(10_000).default(200).describe('Consents expired per sweep transaction'),
})

/** Parses the environment once; throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(Env, env)
  return Object.freeze({
    ...baseServiceConfig('consent', e),
    db: dbConfig(e),
    kafka: { brokers: e.KAFKA_BROKERS },
    consents: {
      idPrefix: e.CONSENT_ID_PREFIX,
      offeredGroups: e.OFFERED_PERMISSION_GROUPS,
      publicBaseUrl: e.PUBLIC_BASE_URL,
      regulatedCallers: e.REGULATED_API_CALLERS,
    },
    scheduler: { intervalMs: e.EXPIRY_SWEEP_INTERVAL_MS, batchSize: e.EXPIRY_SWEEP_BATCH },
  })
}

/** The parsed configuration. */
export type Config = ReturnType<typeof loadConfig>
