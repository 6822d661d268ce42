import type { CatalogueEntry } from '@ponte/contracts'

/**
 * Turns the NFR reference table (`specs/ofb/nfr-endpoint-reference.csv`, docs/regulation/traffic-and-slas.md#endpoint-reference-table) into the catalogue of
 * limitable endpoints: every row with a per-origin TPM (open data and customer data apart from Consents and
 * Resources). Rows whose TPM is `NA` are exempt and left out; so every endpoint outside the catalogue is exempt.
 * `scripts/generate-catalogue.ts` writes the result to `nfr-catalogue.json`; a test proves the file matches the CSV.
 */

/** Lowest TPM of the high class: the first QCA tier (≤ 1 M active consents), docs/regulation/traffic-and-slas.md#high-class-limit-by-active-consents. */
export const QCA_BASE_TPM = 2500

/** Global capacity floor in requests per second, docs/regulation/traffic-and-slas.md#global-capacity-tps. */
export const GLOBAL_TPS_FLOOR = 300

/** One row of the CSV, as written. */
export interface NfrRow {
  group: string
  api: string
  method: string
  path: string
  frequency: string
  tpm: string
  monthly: string
}

/** Parses the CSV (first line a provenance comment, then the header). No field of the table holds a comma or quote. */
export function parseNfrCsv(text: string): NfrRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'))
  const header = lines.shift()?.split(',') ?? []
  const col = (name: string) => {
    const i = header.indexOf(name)
    if (i < 0) throw new Error(`NFR CSV has no column ${name}`)
    return i
  }
  const c = { group: col('group'), api: col('api'), method: col('method'), path: col('path'), frequency: col('frequency'), tpm: col('tpm_per_origin'), monthly: col('monthly_operational_limit') }
  return lines.map((line, n) => {
    const f = line.split(',')
    if (f.length !== header.length) throw new Error(`NFR CSV line ${n + 3}: ${f.length} fields, expected ${header.length}`)
    return { group: f[c.group]!, api: f[c.api]!, method: f[c.method]!, path: f[c.path]!, frequency: f[c.frequency]!, tpm: f[c.tpm]!, monthly: f[c.monthly]! }
  })
}

interface Mount { base: string; spec: string | null }

/**
 * Where each API of the table is mounted (its base path, major version included). `spec` names the official file in
 * `specs/ofb/` the path was checked against; `null` when the project has no spec for that API and the base path comes
 * from the OFB list of endpoints (PCM). Serving a new major version means adding its mount here and regenerating.
 */
const mounts: Record<string, Mount> = {
  '[DC] API Dados Cadastrais': { base: '/open-banking/customers/v2', spec: 'customers-v2.3.0.yaml' },
  '[DC] API Cartão de Crédito': { base: '/open-banking/credit-cards-accounts/v2', spec: 'credit-cards-accounts-v2.4.0.yaml' },
  '[DC] API Contas': { base: '/open-banking/accounts/v2', spec: 'accounts-v2.5.1.yaml' },
  '[DC] API Operações de Crédito - Empréstimo': { base: '/open-banking/loans/v2', spec: 'loans-v2.7.0.yaml' },
  '[DC] API Operações de Crédito - Financiamento': { base: '/open-banking/financings/v2', spec: null },
  '[DC] API Operações de Crédito - Adiantamento a Depositantes': { base: '/open-banking/unarranged-accounts-overdraft/v2', spec: null },
  '[DC] API Operações de Crédito - Direitos Creditórios Descontados': { base: '/open-banking/invoice-financings/v2', spec: null },
  '[DC] API Investimentos - Renda Fixa Bancária': { base: '/open-banking/bank-fixed-incomes/v1', spec: null },
  '[DC] API Investimentos - Renda Fixa Crédito': { base: '/open-banking/credit-fixed-incomes/v1', spec: null },
  '[DC] API Investimentos - Renda Variável': { base: '/open-banking/variable-incomes/v1', spec: null },
  '[DC] API Investimentos - Títulos do Tesouro Direto': { base: '/open-banking/treasure-titles/v1', spec: null },
  '[DC] API Investimentos - Fundos de Investimento': { base: '/open-banking/funds/v1', spec: null },
  '[DC] API Câmbio': { base: '/open-banking/exchanges/v1', spec: null },
  '[DA] API Canais de Atendimento': { base: '/open-banking/channels/v2', spec: 'channels-v2.1.0.yaml' },
  '[DA] API Títulos de Capitalização': { base: '/open-banking/opendata-capitalization/v1', spec: null },
  '[DA] API Investimentos': { base: '/open-banking/opendata-investments/v1', spec: null },
  '[DA] API Câmbio': { base: '/open-banking/opendata-exchange/v1', spec: null },
  '[DA] API Credenciamento': { base: '/open-banking/opendata-acquiring-services/v1', spec: null },
  '[DA] API Previdência': { base: '/open-banking/opendata-pension/v1', spec: null },
  '[DA] API Seguros': { base: '/open-banking/opendata-insurance/v1', spec: null },
}

/** "Produtos e Serviços" is now split into one open-data API per product; the path says which. */
const productMounts: Array<[RegExp, Mount]> = [
  [/^\/(personal|business)-accounts$/, { base: '/open-banking/opendata-accounts/v1', spec: 'opendata-accounts-v1.1.0.yaml' }],
  [/^\/(personal|business)-loans$/, { base: '/open-banking/opendata-loans/v1', spec: null }],
  [/^\/(personal|business)-credit-cards$/, { base: '/open-banking/opendata-creditcards/v1', spec: null }],
  [/^\/(personal|business)-financings$/, { base: '/open-banking/opendata-financings/v1', spec: null }],
  [/^\/(personal|business)-invoice-financings$/, { base: '/open-banking/opendata-invoicefinancings/v1', spec: null }],
  [/^\/(personal|business)-unarranged-account-overdraft$/, { base: '/open-banking/opendata-unarranged/v1', spec: null }],
]

function mountOf(row: NfrRow): Mount {
  if (row.api === '[DA] API Produtos e Serviços') {
    const hit = productMounts.find(([re]) => re.test(row.path))
    if (hit) return hit[1]
  }
  const m = mounts[row.api]
  if (!m) throw new Error(`NFR CSV: no mount for API "${row.api}" (${row.method} ${row.path}); add it to nfr-catalogue.ts`)
  return m
}

// The table spells the investments path parameter `{investimentId}`; the official specs and endpoint list use `{investmentId}`.
const pathFixes: Array<[RegExp, string]> = [[/\{investimentId\}/g, '{investmentId}']]

const frequencies = { high: 'high', 'medium-high': 'medium-high', medium: 'medium', low: 'low' } as const

function positiveInt(value: string, what: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`NFR CSV: ${what} "${value}" is not a positive integer`)
  return Number(value)
}

/** Builds the catalogue of limitable endpoints from the CSV rows, sorted by endpoint key. */
export function buildCatalogue(rows: NfrRow[]): CatalogueEntry[] {
  const out: CatalogueEntry[] = []
  for (const row of rows) {
    if (row.tpm === 'NA') {
      // Exempt from TPM (docs/regulation/traffic-and-slas.md#exempt-apis); the rules never give such endpoints a monthly limit either.
      if (row.monthly !== 'NA') throw new Error(`NFR CSV: ${row.method} ${row.path} has a monthly limit but no TPM`)
      continue
    }
    const group = row.group === 'Dados Abertos' ? 'open-data' : row.group === 'Dados do Cliente' ? 'customer-data' : undefined
    if (!group) throw new Error(`NFR CSV: ${row.method} ${row.path} in group "${row.group}" has a TPM limit`)
    const frequency = frequencies[row.frequency as keyof typeof frequencies]
    if (!frequency) throw new Error(`NFR CSV: unknown frequency "${row.frequency}"`)
    const mount = mountOf(row)
    const path = pathFixes.reduce((p, [re, to]) => p.replace(re, to), row.path)
    const scales = row.tpm === 'QCA_SCALED'
    out.push({
      endpoint: `${row.method} ${mount.base}${path}`,
      group,
      api: row.api,
      nfrPath: row.path,
      frequency,
      tpmFloor: scales ? QCA_BASE_TPM : positiveInt(row.tpm, 'tpm_per_origin'),
      tpmOrigin: group === 'open-data' ? 'client-ip' : 'organisation',
      tpmScalesWithQca: scales,
      monthlyFloor: row.monthly === 'NA' ? null : positiveInt(row.monthly, 'monthly_operational_limit'),
      spec: mount.spec,
    })
  }
  out.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0))
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.endpoint === out[i - 1]!.endpoint) throw new Error(`NFR CSV: two rows map to ${out[i]!.endpoint}`)
  }
  return out
}
