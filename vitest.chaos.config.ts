import { defineConfig } from 'vitest/config'

// `make chaos`: the fault suite (services/*/test/chaos/*.chaos.ts), apart from `make test`. It starts its own private
// PostgreSQL, Redis and Kafka and the whole platform as processes, so its files run one at a time.
export default defineConfig({
  test: {
    include: ['services/*/test/chaos/**/*.chaos.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    reporters: ['verbose'],
  },
})
