/**
 * The services `make up` starts, in start groups (a group starts once the previous one is ready), with the
 * environment each needs on top of the shared one and the endpoints printed at the end.
 */
export interface StackService {
  name: string
  group: number
  /** Base URL whose `/readyz` tells readiness. */
  readyUrl: string
  /** Extra environment, given the shared one. */
  env: (shared: Record<string, string>) => Record<string, string>
  /** Extra environment in tests, given the test's own schema name (e.g. a second schema a service owns). */
  testEnv?: (schema: string) => Record<string, string>
  /** Runs once before any service starts (e.g. loading the demo bank). */
  beforeStart?: (ctx: { env: Record<string, string>; databaseUrl: string }) => Promise<void>
  endpoints: Array<[label: string, url: string]>
  /** Port of its Prometheus metrics listener (`GET /metrics`, bound to 127.0.0.1; infra/prometheus scrapes it). */
  metricsPort: number
}

export const services: StackService[] = [
  { name: 'directory', metricsPort: 9405, group: 1, readyUrl: 'http://127.0.0.1:3005',
    // The sandbox central directory runs in the same process; the connector syncs from it.
    env: () => ({ PORT: '3005', HOST: '127.0.0.1', DIRECTORY_SANDBOX_ENABLED: 'true' }),
    // Tests never sync from a real directory (no request leaves the machine).
    testEnv: () => ({ DIRECTORY_SYNC_ENABLED: 'false' }),
    endpoints: [['directory (internal)', 'http://127.0.0.1:3005'], ['sandbox directory (TLS)', 'https://localhost:8446']] },
  { name: 'consent', metricsPort: 9401, group: 1, readyUrl: 'http://127.0.0.1:3001', env: () => ({ PORT: '3001', HOST: '127.0.0.1' }),
    endpoints: [['consent (internal)', 'http://127.0.0.1:3001']] },
  { name: 'connectors', metricsPort: 9403, group: 1, readyUrl: 'http://127.0.0.1:3003',
    // Loads the demo bank (idempotent) into the reference core at start.
    env: () => ({ PORT: '3003', HOST: '127.0.0.1', SEED_DEMO_BANK: 'true' }),
    // A test's webhook consumers join their own groups, never the ones `make up` uses.
    testEnv: (schema) => ({ WEBHOOK_CONSUMER_GROUP: `test.connectors.webhooks.${schema}` }),
    endpoints: [['connectors (internal)', 'http://127.0.0.1:3003']] },
  { name: 'traffic', metricsPort: 9402, group: 1, readyUrl: 'http://127.0.0.1:3002', env: () => ({ PORT: '3002', HOST: '127.0.0.1' }),
    // A test's traffic service publishes its policy set to a private topic, never the one `make up` uses.
    testEnv: (schema) => ({ TRAFFIC_POLICY_TOPIC: `test.traffic-policy.${schema}` }),
    endpoints: [['traffic (internal)', 'http://127.0.0.1:3002']] },
  { name: 'trace', metricsPort: 9404, group: 1, readyUrl: 'http://127.0.0.1:3004',
    // Availability probes enter through the gateway, as a TPP's call does.
    env: (shared) => ({ PORT: '3004', HOST: '127.0.0.1', PROBE_GATEWAY_URL: 'https://localhost:8443', PROBE_CA_FILE: `${shared.PONTE_DEV_PKI_DIR}/ca-bundle.pem` }),
    endpoints: [['trace (internal)', 'http://127.0.0.1:3004']] },
  // Development only: the demo staff accounts of the README (their password and TOTP secret are public).
  { name: 'admin', metricsPort: 9400, group: 1, readyUrl: 'http://127.0.0.1:3000', env: (shared) => ({ PORT: '3000', HOST: '127.0.0.1', SEED_DEMO_STAFF: 'true', AUTH_SERVER_URL: 'https://localhost:8444', AUTH_SERVER_CA_FILE: `${shared.PONTE_DEV_PKI_DIR}/ca-bundle.pem` }),
    endpoints: [['admin', 'http://127.0.0.1:3000']] },
  { name: 'auth-server', metricsPort: 9444, group: 2, readyUrl: 'https://127.0.0.1:8444',
    // TPP keys are fetched from the sandbox directory, whose certificate comes from the dev CA.
    env: (shared) => ({ PORT: '8444', JWKS_FETCH_ALLOWED_ORIGINS: 'https://localhost:8446', JWKS_FETCH_CA_FILE: `${shared.PONTE_DEV_PKI_DIR}/ca-bundle.pem` }),
    endpoints: [['auth-server (FAPI-BR, mTLS)', 'https://localhost:8444']] },
  { name: 'gateway', metricsPort: 9443, group: 3, readyUrl: 'https://127.0.0.1:8443', env: () => ({ PORT: '8443' }),
    endpoints: [['gateway (regulated APIs, mTLS)', 'https://localhost:8443']] },
]
