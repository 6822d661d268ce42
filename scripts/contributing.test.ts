import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '@ponte/testkit'

const guide = readFileSync(`${repoRoot}CONTRIBUTING.md`, 'utf8')
/** Relative link targets of the guide (no scheme, no pure anchors), without their anchor. */
const links = [...guide.matchAll(/\]\(([^)\s#]+)(?:#[^)\s]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l))

describe('CONTRIBUTING.md', () => {
  it('indexes every decision record', () => {
    const records = readdirSync(`${repoRoot}docs/decisions`).filter((f) => f.endsWith('.md'))
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) expect(links, `docs/decisions/${record} is not in the decisions index`).toContain(`docs/decisions/${record}`)
  })

  it('links only to files that exist', () => {
    expect(links.length).toBeGreaterThan(30)
    expect(links.filter((l) => !existsSync(`${repoRoot}${l}`))).toEqual([])
  })

  it('is linked from the README', () => {
    expect(readFileSync(`${repoRoot}README.md`, 'utf8')).toContain('](CONTRIBUTING.md)')
  })
})
