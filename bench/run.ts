/**
 * `make bench`: runs the benchmark cases one after the other (loopback only, bounded runs) and writes
 * docs/benchmarks.md with the machine, the command and the figures.
 *   node bench/run.ts                 every case
 *   node bench/run.ts platform-overhead consent-lookup    only these cases (their sections of docs/benchmarks.md are
 *                                                         replaced, each marked with its date)
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { prepareInfra } from '@ponte/testkit'
import { machine, type BenchResult } from './lib.ts'

const dir = fileURLToPath(new URL('./cases/', import.meta.url))
const all = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.replace(/\.ts$/, '')).sort()
const wanted = process.argv.slice(2)
const names = wanted.length ? all.filter((n) => wanted.includes(n)) : all

// The same servers the tests use: PostgreSQL and Redis checked, the project's broker started when none answers, topics made.
const releaseInfra = await prepareInfra()
const results: Array<{ name: string; result?: BenchResult; error?: string }> = []
for (const name of names) {
  console.log(`bench: ${name} …`)
  try {
    const mod = (await import(`${dir}${name}.ts`)) as { run: () => Promise<BenchResult> }
    const result = await mod.run()
    results.push({ name, result })
    for (const r of result.rows) console.log(`  ${r.case}: ${r.requestsPerSecond} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms`)
    for (const n of result.notes ?? []) console.log(`  ${n}`)
  } catch (err) {
    results.push({ name, error: err instanceof Error ? err.message : String(err) })
    console.error(`  failed: ${String(err)}`)
  }
}

const fmt = (n: number | undefined) => (n === undefined ? '' : Number.isInteger(n) ? String(n) : n.toFixed(2))
const lines = [
  '# Benchmarks',
  '',
  'Written by `make bench` (`node bench/run.ts`); do not edit by hand. Every run is bounded and targets loopback only.',
  'Servers under test run in their own process; the load generator (autocannon) runs in the harness process, so on a',
  '2-core machine they share the cores with PostgreSQL, Redis and Kafka: read the figures as this machine\'s, not as absolutes.',
  '',
  `- Machine: ${machine()}`,
  `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  `- Command: \`make bench\`${wanted.length ? ` (cases: ${names.join(', ')})` : ''}`,
  '',
]
/** One case's section of docs/benchmarks.md. */
function section(name: string, result: BenchResult | undefined, error: string | undefined, partial: boolean): string[] {
  const out = [`## ${result?.title ?? name}`, '']
  if (partial) out.push(`_Measured by \`node bench/run.ts ${name}\` on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} (the other sections come from the full run above)._`, '')
  if (error) return [...out, `Failed: ${error}`, '']
  out.push(result!.description, '', '| case | requests/s | p50 ms | p99 ms | errors | non-2xx |', '|---|---:|---:|---:|---:|---:|')
  for (const r of result!.rows) out.push(`| ${r.case}${r.note ? ` (${r.note})` : ''} | ${r.requestsPerSecond} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors ?? 0} | ${r.non2xx ?? 0} |`)
  if (result!.notes?.length) out.push('', ...result!.notes.map((n) => `- ${n}`))
  return [...out, '']
}
for (const { name, result, error } of results) lines.push(...section(name, result, error, false))
const out = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url))
if (!wanted.length) {
  writeFileSync(out, lines.join('\n'))
  // The capacity model's inputs are these figures: docs/operations/capacity.md follows them.
  const { capacityPath, regenerate } = await import('../scripts/capacity.ts')
  writeFileSync(capacityPath, regenerate(readFileSync(capacityPath, 'utf8'), lines.join('\n')))
} else {
  // A partial run replaces (or adds) the sections of the cases it ran, each marked with its own date; the rest of the
  // file stays as the last full run wrote it. Failed cases leave their section alone.
  let doc = readFileSync(out, 'utf8')
  for (const { name, result, error } of results) {
    if (error || !result) continue
    const text = section(name, result, error, true).join('\n')
    const start = doc.indexOf(`\n## ${result.title}\n`)
    if (start < 0) { doc = `${doc.trimEnd()}\n\n${text}`; continue }
    const next = doc.indexOf('\n## ', start + 1)
    doc = `${doc.slice(0, start + 1)}${text}${next < 0 ? '' : doc.slice(next)}`
  }
  writeFileSync(out, doc)
  const { capacityPath, regenerate } = await import('../scripts/capacity.ts')
  writeFileSync(capacityPath, regenerate(readFileSync(capacityPath, 'utf8'), doc))
  console.log(`(partial run: the sections of ${names.join(', ')} in ${out} updated)`)
}
console.log(lines.join('\n'))
await releaseInfra()
if (results.some((r) => r.error)) process.exitCode = 1
