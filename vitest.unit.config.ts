import { defineConfig, mergeConfig } from 'vitest/config'
import base from './vitest.config.ts'

// Unit tests only (`src/**/*.test.ts`): no servers are started. `pnpm exec vitest run -c vitest.unit.config.ts`.
export default mergeConfig(base, defineConfig({
  test: { include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'], globalSetup: [] },
}))
