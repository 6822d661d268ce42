import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot, specValidator } from '@ponte/testkit'
import { loadCatalogue } from '../src/adapters/catalogue-file.ts'
import { parseNfrCsv } from '@ponte/contracts'
import { buildCatalogue } from '../src/domain/nfr-catalogue.ts'

// The committed catalogue against the official NFR reference (specs/ofb/nfr-endpoint-reference.csv), read here
// with a separate, naive parse so a bug in the generator cannot hide itself.
const csvText = readFileSync(`${repoRoot}specs/ofb/nfr-endpoint-reference.csv`, 'utf8')
const rows = csvText.split(/\r?\n/).slice(2).filter(Boolean).map((l) => {
  const [group, api, method, path, frequency, , , tpm, , monthly] = l.split(',')
  return { group: group!, api: api!, method: method!, path: path!, frequency: frequency!, tpm: tpm!, monthly: monthly! }
})
const catalogue = loadCatalogue()

describe('NFR catalogue', () => {
  it('is what the generator makes from the CSV today (regenerate when the CSV changes)', () => {
    expect(catalogue).toEqual(buildCatalogue(parseNfrCsv(csvText)))
  })

  it('holds exactly the rows with a per-origin TPM, with the CSV floors', () => {
    expect(rows).toHaveLength(137)
    const limited = rows.filter((r) => r.tpm !== 'NA')
    expect(catalogue).toHaveLength(limited.length)
    for (const r of limited) {
      const e = catalogue.find((c) => c.api === r.api && c.nfrPath === r.path && c.endpoint.startsWith(`${r.method} `))
      expect(e, `${r.api} ${r.method} ${r.path}`).toBeDefined()
      expect(e!.frequency).toBe(r.frequency)
      expect(e!.tpmFloor).toBe(r.tpm === 'QCA_SCALED' ? 2500 : Number(r.tpm))
      expect(e!.tpmScalesWithQca).toBe(r.tpm === 'QCA_SCALED')
      expect(e!.monthlyFloor).toBe(r.monthly === 'NA' ? null : Number(r.monthly))
      expect(e!.tpmOrigin).toBe(r.group === 'Dados Abertos' ? 'client-ip' : 'organisation')
    }
  })

  it('leaves out every exempt API: consents, resources, services, reports, portability, webhooks', () => {
    const exempt = rows.filter((r) => r.tpm === 'NA')
    expect(exempt.every((r) => r.monthly === 'NA')).toBe(true)
    expect(new Set(exempt.map((r) => r.group))).toEqual(new Set(['Relatórios e Métricas', 'Dados do Cliente', 'Serviços', 'Portabilidade de Crédito', 'Webhook']))
    expect(exempt.filter((r) => r.group === 'Dados do Cliente').map((r) => r.api)).toEqual([...Array(5).fill('[DC] API Consentimento'), '[DC] API Recursos'])
    expect(catalogue.some((c) => / \/open-banking\/(consents|resources|payments|automatic-payments|enrollments|admin|discovery)\//.test(c.endpoint))).toBe(false)
  })

  it('spot checks from docs/regulation/traffic-and-slas.md#endpoint-reference-table', () => {
    const by = (endpoint: string) => catalogue.find((c) => c.endpoint === endpoint)
    expect(by('GET /open-banking/accounts/v2/accounts/{accountId}/balances')).toMatchObject({ frequency: 'high', tpmFloor: 2500, monthlyFloor: 420 })
    expect(by('GET /open-banking/credit-cards-accounts/v2/accounts/{creditCardAccountId}')).toMatchObject({ tpmFloor: 2000, monthlyFloor: 120 })
    expect(by('GET /open-banking/loans/v2/contracts')).toMatchObject({ tpmFloor: 1500, monthlyFloor: 30 })
    expect(by('GET /open-banking/customers/v2/personal/identifications')).toMatchObject({ tpmFloor: 1000, monthlyFloor: 8 })
    expect(by('GET /open-banking/channels/v2/branches')).toMatchObject({ tpmFloor: 500, tpmOrigin: 'client-ip', monthlyFloor: null })
  })

  it('every endpoint of an API with a spec in specs/ofb/ is a path of that spec, under its server base path', () => {
    const checked = catalogue.filter((c) => c.spec !== null)
    expect(checked.length).toBeGreaterThan(30)
    for (const c of checked) {
      const doc = specValidator(c.spec!).doc as { servers?: Array<{ url: string }>; paths: Record<string, Record<string, unknown>> }
      const base = new URL(doc.servers![0]!.url).pathname
      const [method, full] = c.endpoint.split(' ') as [string, string]
      expect(full.startsWith(`${base}/`), `${c.endpoint} under ${base}`).toBe(true)
      const operations = doc.paths[full.slice(base.length)]
      expect(operations?.[method.toLowerCase()], `${c.endpoint} in ${c.spec}`).toBeDefined()
    }
  })
})
