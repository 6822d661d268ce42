import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '@ponte/testkit'
import { configTables, renderReadme } from './config-docs.ts'

describe('README configuration tables', () => {
  it('are generated from the services\' zod schemas and are fresh', async () => {
    const readme = readFileSync(`${repoRoot}README.md`, 'utf8')
    expect(await renderReadme(readme), 'run `node scripts/config-docs.ts` to regenerate').toBe(readme)
  })

  it('list every variable of every service with its description', async () => {
    const tables = await configTables()
    expect(tables).toContain('#### consent')
    expect(tables).toMatch(/\| `DATABASE_URL` \| `postgres:\/\/postgres@127\.0\.0\.1:5432\/ponte` \| PostgreSQL connection URL \|/)
    for (const line of tables.split('\n').filter((l) => l.startsWith('| `'))) expect(line, line).not.toMatch(/\| \|$/)
  })
})
