import { nfrMonthlyFloor, nfrTpmFloor, type CatalogueEntry, type NfrRow } from '@ponte/contracts'

/**
 * Turns the NFR reference table (`specs/ofb/nfr-endpoint-reference.csv`, docs/regulation/traffic-and-slas.md#endpoint-reference-table) into the catalogue of
 * limitable endpoints: every row with a per-origin TPM (open data and customer data apart from Consents and
 * Resources). Rows whose TPM is `NA` are exempt and left out; so every endpoint outside the catalogue is exempt.
 * The CSV is parsed by `parseNfrCsv` of `@ponte/contracts`, which the gateway's route generator uses too.
 * `scripts/generate-catalogue.ts` writes the result to `nfr-catalogue.json`; a test proves the file matches the CSV.
 */

/** Global capacity floor in requests per second, docs/regulation/traffic-and-slas.md#global-capacity-tps. */
export const GLOBAL_TPS_FLOOR = 300

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
      tpmFloor: nfrTpmFloor(row)!,
      tpmOrigin: group === 'open-data' ? 'client-ip' : 'organisation',
      tpmScalesWithQca: scales,
      monthlyFloor: nfrMonthlyFloor(row),
      spec: mount.spec,
    })
  }
  out.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0))
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.endpoint === out[i - 1]!.endpoint) throw new Error(`NFR CSV: two rows map to ${out[i]!.endpoint}`)
  }
  return out
}
