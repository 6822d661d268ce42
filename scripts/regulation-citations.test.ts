import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '@ponte/testkit'
import { anchors, brokenCitations, brokenRegulationLinks, citationsIn, regulationDir, repositoryFiles, slug, staleCitations } from './regulation-citations.ts'

const areas = ['security-profile', 'dcr', 'consents', 'data-apis', 'payments', 'webhooks', 'traffic-and-slas', 'regulator-endpoints']

describe('docs/regulation citations', () => {
  const files = repositoryFiles()

  it('every docs/regulation/<file>.md#<anchor> cited in the repository names an existing file and heading', () => {
    expect(files.some((f) => f.path.startsWith('services/'))).toBe(true)
    expect(files.some((f) => f.path.includes('node_modules'))).toBe(false)
    const cited = files.flatMap((f) => citationsIn(f.path, f.text))
    expect(cited.length).toBeGreaterThan(40)
    expect(brokenCitations(files)).toEqual([])
  })

  it('no file cites the rules summary that is not part of the repository', () => {
    expect(staleCitations(files)).toEqual([])
  })

  it('the links inside docs/regulation resolve to files and headings', () => {
    expect(brokenRegulationLinks()).toEqual([])
  })

  it('has one file per area, each listed in the index', () => {
    const index = readFileSync(`${repoRoot}${regulationDir}/README.md`, 'utf8')
    for (const area of areas) {
      expect(index, area).toContain(`](${area}.md)`)
      expect(anchors(readFileSync(`${repoRoot}${regulationDir}/${area}.md`, 'utf8')).size, area).toBeGreaterThan(5)
    }
  })
})

describe('the checker', () => {
  it('derives anchors as GitHub does', () => {
    expect(slug('Too many requests (429)')).toBe('too-many-requests-429')
    expect(slug('Signed messages (JWS)')).toBe('signed-messages-jws')
    expect(slug('Client authentication (`private_key_jwt`)')).toBe('client-authentication-private_key_jwt')
    expect(slug('Orientações - [DC] Consentimento')).toBe('orientações---dc-consentimento')
    expect(slug('See [the spec](https://example.org/x) here')).toBe('see-the-spec-here')
    expect([...anchors('# A\n## Same\n```\n## Not a heading\n```\n## Same\n')]).toEqual(['a', 'same', 'same-1'])
  })

  it('reports a missing file, a missing heading and an old-style citation, and accepts the file alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'ponte-regulation-'))
    mkdirSync(join(root, regulationDir), { recursive: true })
    writeFileSync(join(root, regulationDir, 'rules.md'), '# Rules\n\n## Login throttling\n')
    const cite = (s: string) => `${regulationDir}/${s}`
    const text = [
      `// ${cite('rules.md#login-throttling')}`,
      `// ${cite('rules.md#login-throttle')}`,
      `// ${cite('missing.md#anything')}`,
      `// ${cite('rules.md')}`,
      `// ${['ofb', 'rules'].join('-')} §2`,
    ].join('\n')
    const files = [{ path: 'src/a.ts', text }]
    expect(brokenCitations(files, root)).toEqual([
      `src/a.ts:2: ${cite('rules.md')} has no heading #login-throttle`,
      `src/a.ts:3: ${cite('missing.md')} does not exist`,
    ])
    expect(staleCitations(files)).toEqual([`src/a.ts:5: // ${['ofb', 'rules'].join('-')} §2`])
  })

  it('reports links inside docs/regulation to a missing file, heading or spec line', () => {
    const root = mkdtempSync(join(tmpdir(), 'ponte-regulation-'))
    mkdirSync(join(root, regulationDir), { recursive: true })
    mkdirSync(join(root, 'specs'))
    writeFileSync(join(root, 'specs', 'api.yaml'), 'a: 1\nb: 2\n')
    writeFileSync(join(root, regulationDir, 'a.md'), [
      '# A', '', '## Rule', '',
      '[ok](#rule) [ok](b.md#other) [ok](../../specs/api.yaml#L2) [ok](https://example.org/x#y)',
      '[bad](#nope) [bad](b.md#rule) [bad](c.md) [bad](../../specs/api.yaml#L30)',
    ].join('\n'))
    writeFileSync(join(root, regulationDir, 'b.md'), '# B\n\n## Other\n')
    expect(brokenRegulationLinks(root)).toEqual([
      `${regulationDir}/a.md:6: #nope names no heading`,
      `${regulationDir}/a.md:6: b.md#rule names no heading`,
      `${regulationDir}/a.md:6: c.md does not exist`,
      `${regulationDir}/a.md:6: ../../specs/api.yaml#L30 is past the end of the file`,
    ])
  })
})
