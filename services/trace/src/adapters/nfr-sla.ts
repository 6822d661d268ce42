import { readFileSync } from 'node:fs'

/** The NFR reference shipped with the project (class and p95 SLA per endpoint). */
export const nfrFile = new URL('../../../../specs/ofb/nfr-endpoint-reference.csv', import.meta.url)

/**
 * The p95 SLA of an endpoint template from the NFR reference (docs/regulation/traffic-and-slas.md): the row with the
 * same method whose path is the template without its `/open-banking/<api>/vN` base. When APIs share a relative path
 * (payment and data consents), the strictest tier applies.
 */
export function loadSlaLookup(text: string = readFileSync(nfrFile, 'utf8')): (method: string, endpoint: string) => number | undefined {
  const lines = text.split(/\r?\n/).filter((l) => l && !l.startsWith('#'))
  const cols = lines[0]!.split(',')
  const at = (cells: string[], name: string) => cells[cols.indexOf(name)]!.trim()
  const table = new Map<string, number>()
  for (const line of lines.slice(1)) {
    const cells = line.split(',')
    const key = `${at(cells, 'method')} ${at(cells, 'path')}`
    const sla = Number(at(cells, 'p95_sla_ms'))
    if (Number.isFinite(sla) && sla > 0) table.set(key, Math.min(table.get(key) ?? Infinity, sla))
  }
  return (method, endpoint) => {
    const rel = endpoint.replace(/^\/open-banking\/[^/]+\/v\d+/, '')
    return table.get(`${method} ${rel || '/'}`)
  }
}
