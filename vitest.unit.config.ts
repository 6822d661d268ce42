import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

// Unit tests only (`src/**/*.test.ts`, and the docs checks in scripts/): no servers are started.
// `pnpm exec vitest run -c vitest.unit.config.ts`. The include list replaces the base one (mergeConfig would append
// to it and bring the integration tests back in).
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'scripts/config-docs.test.ts', 'scripts/regulation-citations.test.ts', 'scripts/contributing.test.ts', 'scripts/service-shape.test.ts', 'scripts/progress.test.ts'],
    globalSetup: [],
  },
})
