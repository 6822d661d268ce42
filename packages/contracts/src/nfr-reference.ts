/**
 * The NFR endpoint reference (`specs/ofb/nfr-endpoint-reference.csv`, docs/regulation/traffic-and-slas.md): one row
 * per regulated endpoint with its frequency class, p95 SLA, per-origin TPM floor and monthly operational limit. One
 * parser and one reading of its floors for the two generators that compile it: the gateway's route table and the
 * traffic catalogue. Pure: the caller reads the file.
 */

/** Lowest TPM of the high class (`QCA_SCALED` in the table): the first QCA tier, at most 1 M active consents. */
export const QCA_BASE_TPM = 2500

/** One row of the table. Cells are as written, except the SLA, a number. */
export interface NfrRow {
  group: string
  api: string
  method: string
  path: string
  frequency: string
  p95SlaMs: number
  /** A positive integer, `QCA_SCALED` or `NA` (exempt); see {@link nfrTpmFloor}. */
  tpm: string
  /** A positive integer or `NA`; see {@link nfrMonthlyFloor}. */
  monthly: string
}

function positiveInt(value: string, what: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`NFR CSV: ${what} "${value}" is not a positive integer`)
  return Number(value)
}

/**
 * Parses the CSV: comment lines (`#`, the provenance note) and blank lines are skipped, the first other line is the
 * header, columns are found by name. No field of the table holds a comma or a quote. Throws on a missing column, a row
 * of the wrong width or an SLA that is not a positive integer.
 */
export function parseNfrCsv(text: string): NfrRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim() !== '' && !l.startsWith('#'))
  const header = lines.shift()?.[0].split(',') ?? []
  const col = (name: string) => {
    const i = header.indexOf(name)
    if (i < 0) throw new Error(`NFR CSV has no column ${name}`)
    return i
  }
  const c = {
    group: col('group'), api: col('api'), method: col('method'), path: col('path'), frequency: col('frequency'), p95: col('p95_sla_ms'),
    tpm: col('tpm_per_origin'), monthly: col('monthly_operational_limit'),
  }
  return lines.map(([line, n]) => {
    const f = line.split(',').map((cell) => cell.trim())
    if (f.length !== header.length) throw new Error(`NFR CSV line ${n}: ${f.length} fields, expected ${header.length}`)
    return {
      group: f[c.group]!, api: f[c.api]!, method: f[c.method]!, path: f[c.path]!, frequency: f[c.frequency]!,
      p95SlaMs: positiveInt(f[c.p95]!, `line ${n}: p95_sla_ms`), tpm: f[c.tpm]!, monthly: f[c.monthly]!,
    }
  })
}

/** The row's per-origin TPM floor: null when exempt (`NA`), {@link QCA_BASE_TPM} when it scales with active consents. */
export function nfrTpmFloor(row: NfrRow): number | null {
  if (row.tpm === 'NA') return null
  if (row.tpm === 'QCA_SCALED') return QCA_BASE_TPM
  return positiveInt(row.tpm, `${row.method} ${row.path}: tpm_per_origin`)
}

/** The row's monthly operational limit floor: null when monthly limits do not apply (`NA`). */
export function nfrMonthlyFloor(row: NfrRow): number | null {
  return row.monthly === 'NA' ? null : positiveInt(row.monthly, `${row.method} ${row.path}: monthly_operational_limit`)
}
