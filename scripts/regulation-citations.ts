/**
 * Checks the citations of the project's rules reference (docs/regulation/): every `docs/regulation/<file>.md#<anchor>`
 * written anywhere in the repository names a file that exists and a heading of that file, and the links of the
 * markdown files in docs/regulation/ resolve (files, and headings where an anchor is given).
 *   node scripts/regulation-citations.ts   exit 1 and list the problems when any citation or link is broken
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { repoRoot } from '@ponte/testkit'

/** Folders never scanned: dependencies, the provisioned toolchain and the state of local runs. */
export const skippedDirs = new Set(['node_modules', '.git', '.tools', '.kafka', '.run', '.pki'])

/** The folder of the rules reference, relative to the repository root. */
export const regulationDir = 'docs/regulation'

/**
 * GitHub's anchor of a heading text: inline markup dropped (code spans keep their text, links their label), lower
 * case, every character other than a letter, mark, number, `_`, `-` or space dropped, spaces turned into `-`.
 */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/\*+/g, '')
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-')
}

/** The anchors of a markdown document's headings (ATX `#` headings outside code fences; repeated slugs get `-1`, `-2`…). */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>()
  const seen = new Map<string, number>()
  let fence: string | undefined
  for (const line of markdown.split('\n')) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line)
    if (f) {
      if (fence === undefined) fence = f[1]![0]
      else if (f[1]![0] === fence) fence = undefined
      continue
    }
    if (fence !== undefined) continue
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!h) continue
    const base = slug(h[1]!)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** A citation found in a file: where, and what it points at. */
export interface Citation {
  file: string
  line: number
  target: string
  anchor?: string
}

const citationPattern = /docs\/regulation\/([A-Za-z0-9._-]+\.md)(?:#([\p{L}\p{N}_-]+))?/gu

/** The citations `docs/regulation/<file>.md[#<anchor>]` in one file's text. */
export function citationsIn(file: string, text: string): Citation[] {
  const out: Citation[] = []
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(citationPattern)) {
      out.push({ file, line: i + 1, target: `${regulationDir}/${m[1]!}`, ...(m[2] ? { anchor: m[2] } : {}) })
    }
  })
  return out
}

/** Every text file of the repository (relative paths), skipping {@link skippedDirs} and binary files. */
export function repositoryFiles(root: string = repoRoot): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (!skippedDirs.has(entry.name)) walk(full)
      } else if (entry.isFile() && statSync(full).size <= 4_000_000) {
        const buf = readFileSync(full)
        if (buf.includes(0)) continue
        out.push({ path: relative(root, full), text: buf.toString('utf8') })
      }
    }
  }
  walk(root)
  return out
}

/** Whether `anchor` is a heading of the markdown file at `path` (absolute); cached per file. */
function anchorChecker(): (path: string, anchor: string) => boolean {
  const cache = new Map<string, Set<string>>()
  return (path, anchor) => {
    let set = cache.get(path)
    if (!set) {
      set = anchors(readFileSync(path, 'utf8'))
      cache.set(path, set)
    }
    return set.has(anchor)
  }
}

/** The broken citations among `files`, one readable line each. */
export function brokenCitations(files: Array<{ path: string; text: string }>, root: string = repoRoot): string[] {
  const hasAnchor = anchorChecker()
  const problems: string[] = []
  for (const f of files) {
    for (const c of citationsIn(f.path, f.text)) {
      const target = join(root, c.target)
      if (!existsSync(target)) problems.push(`${c.file}:${c.line}: ${c.target} does not exist`)
      else if (c.anchor !== undefined && !hasAnchor(target, c.anchor)) problems.push(`${c.file}:${c.line}: ${c.target} has no heading #${c.anchor}`)
    }
  }
  return problems
}

/** The number of lines of a file (a `#L<n>` link into a spec must stay inside it). */
function lineCount(path: string): number {
  return readFileSync(path, 'utf8').split('\n').length
}

/**
 * The broken relative links of the markdown files in docs/regulation/: a missing file, a missing heading, or a line
 * anchor (`#L<n>`, into a spec file) past the end of the file.
 */
export function brokenRegulationLinks(root: string = repoRoot): string[] {
  const hasAnchor = anchorChecker()
  const problems: string[] = []
  const dir = join(root, regulationDir)
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.md'))) {
    const path = join(dir, name)
    const text = readFileSync(path, 'utf8')
    text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/\]\(([^)\s]+)\)|^\[[^\]]+\]:\s+(\S+)/g)) {
        const link = (m[1] ?? m[2])!
        if (/^[a-z]+:/i.test(link)) continue
        const [file, anchor] = link.split('#') as [string, string | undefined]
        const target = file === '' ? path : resolve(dirname(path), file)
        const where = `${regulationDir}/${name}:${i + 1}`
        const line = anchor === undefined ? undefined : /^L(\d+)$/.exec(anchor)?.[1]
        if (!existsSync(target)) problems.push(`${where}: ${link} does not exist`)
        else if (anchor !== undefined && target.endsWith('.md') && !hasAnchor(target, anchor)) problems.push(`${where}: ${link} names no heading`)
        else if (line !== undefined && !target.endsWith('.md') && lineCount(target) < Number(line)) problems.push(`${where}: ${link} is past the end of the file`)
      }
    })
  }
  return problems
}

/** Places still citing the rules summary that is not part of the repository (by its old name). */
export function staleCitations(files: Array<{ path: string; text: string }>): string[] {
  const old = new RegExp(['ofb', 'rules'].join('-'))
  const out: string[] = []
  for (const f of files) f.text.split('\n').forEach((line, i) => { if (old.test(line)) out.push(`${f.path}:${i + 1}: ${line.trim()}`) })
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = repositoryFiles()
  const problems = [...brokenCitations(files), ...brokenRegulationLinks(), ...staleCitations(files).map((s) => `${s} (cite docs/regulation/ instead)`)]
  for (const p of problems) console.error(p)
  if (problems.length > 0) process.exit(1)
  console.log(`${files.reduce((n, f) => n + citationsIn(f.path, f.text).length, 0)} citations of ${regulationDir}/ resolve`)
}
