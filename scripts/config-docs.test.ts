import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '@ponte/testkit'
import { configIndex, generatedDocs, renderServiceReadme, serviceTable } from './config-docs.ts'
import { services } from './stack-services.ts'

describe('configuration docs', () => {
  it.each(generatedDocs.map((d) => [d.path, d] as const))('%s is generated from the zod schemas and is fresh', async (path, doc) => {
    const current = readFileSync(`${repoRoot}${path}`, 'utf8')
    expect(await doc.render(current), 'run `node scripts/config-docs.ts` to regenerate').toBe(current)
  })

  it('covers every service README', () => {
    expect(generatedDocs.map((d) => d.path)).toEqual(['README.md', ...services.map((s) => `services/${s.name}/README.md`)])
  })

  it('lists every variable of a service with its default and description', async () => {
    const consent = await serviceTable('consent')
    expect(consent).toMatch(/^\| `DATABASE_URL` \| `postgres:\/\/postgres@127\.0\.0\.1:5432\/ponte` \| PostgreSQL connection URL \|$/m)
    expect(consent).toMatch(/^\| `CONSENT_ID_PREFIX` \| `ponte` \| /m)
    for (const svc of services) {
      for (const line of (await serviceTable(svc.name)).split('\n').filter((l) => l.startsWith('| `'))) expect(line, line).not.toMatch(/\| \|$/)
    }
  })

  it('documents what the gateway reads and nothing it does not', async () => {
    const gateway = await serviceTable('gateway')
    expect(gateway).toContain('| `TRAFFIC_POLICY_TOPIC` | `ponte.traffic-policy.v1` |')
    expect(gateway).not.toContain('DATABASE_URL')
    expect(gateway).not.toContain('DATABASE_POOL_MAX')
  })

  it('links each service from the root index with its own variables only', async () => {
    const index = await configIndex()
    expect(index).toContain('| [traffic](services/traffic/README.md#configuration) | `3002` | `TRAFFIC_POLICY_TOPIC` |')
    expect(index).not.toContain('`LOG_LEVEL`')
  })

  it('refuses a README without the markers rather than writing elsewhere', async () => {
    await expect(renderServiceReadme('consent', '# consent\n')).rejects.toThrow(/lacks the config markers/)
  })
})
