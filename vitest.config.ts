import { defineConfig } from 'vitest/config'

// One run covers every package and service. Integration tests talk to the real PostgreSQL, Redis and Kafka
// started by `make test`; each test file gets its own schemas, so files run in parallel without colliding.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'services/*/src/**/*.test.ts', 'services/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.run/test-results.json' },
  },
})
