import { describe, expect, it } from 'vitest'
import { QCA_BASE_TPM, nfrMonthlyFloor, nfrTpmFloor, parseNfrCsv } from './nfr-reference.ts'

const HEADER = 'group,api,method,path,frequency,p95_sla_ms,timeout_s,tpm_per_origin,global_tps_min,monthly_operational_limit'
const csv = (...rows: string[]) => ['\uFEFF# provenance note, with a comma', HEADER, '', ...rows].join('\r\n')

describe('parseNfrCsv', () => {
  it('skips the provenance comment and blank lines, finds columns by name and keeps the cells as written', () => {
    const rows = parseNfrCsv(csv(
      'Dados do Cliente,[DC] API Contas,GET,/accounts/{accountId}/balances,high,1500,15,QCA_SCALED,NA,420',
      'Dados Abertos,[DA] API Canais de Atendimento,GET,/branches,low,4000,15,500,NA,NA',
    ))
    expect(rows).toEqual([
      { group: 'Dados do Cliente', api: '[DC] API Contas', method: 'GET', path: '/accounts/{accountId}/balances', frequency: 'high', p95SlaMs: 1500, tpm: 'QCA_SCALED', monthly: '420' },
      { group: 'Dados Abertos', api: '[DA] API Canais de Atendimento', method: 'GET', path: '/branches', frequency: 'low', p95SlaMs: 4000, tpm: '500', monthly: 'NA' },
    ])
  })

  it('finds columns wherever they stand', () => {
    const [row] = parseNfrCsv('monthly_operational_limit,tpm_per_origin,p95_sla_ms,frequency,path,method,api,group\n30,1500,2000,medium,/contracts,GET,[DC] L,Dados do Cliente\n')
    expect(row).toEqual({ group: 'Dados do Cliente', api: '[DC] L', method: 'GET', path: '/contracts', frequency: 'medium', p95SlaMs: 2000, tpm: '1500', monthly: '30' })
  })

  it('refuses a missing column, a row of the wrong width and an SLA that is not a positive integer, naming the line', () => {
    expect(() => parseNfrCsv('group,api,method,path,frequency,p95_sla_ms,tpm_per_origin\n')).toThrow(/no column monthly_operational_limit/)
    expect(() => parseNfrCsv(csv('Dados do Cliente,[DC] API Contas,GET,/accounts,high,1500,15,QCA_SCALED,NA'))).toThrow(/line 4: 9 fields, expected 10/)
    expect(() => parseNfrCsv(csv('Dados do Cliente,[DC] API Contas,GET,/accounts,high,NA,15,QCA_SCALED,NA,420'))).toThrow(/line 4: p95_sla_ms "NA"/)
  })
})

describe('the floors of a row', () => {
  const row = (tpm: string, monthly: string) => ({ group: 'g', api: 'a', method: 'GET', path: '/p', frequency: 'high', p95SlaMs: 1500, tpm, monthly })

  it('reads QCA_SCALED as the first QCA tier, 2 500, and NA as no limit', () => {
    expect(QCA_BASE_TPM).toBe(2500)
    expect(nfrTpmFloor(row('QCA_SCALED', '420'))).toBe(2500)
    expect(nfrTpmFloor(row('1000', 'NA'))).toBe(1000)
    expect(nfrTpmFloor(row('NA', 'NA'))).toBeNull()
    expect(nfrMonthlyFloor(row('1000', '8'))).toBe(8)
    expect(nfrMonthlyFloor(row('1000', 'NA'))).toBeNull()
  })

  it('refuses anything else', () => {
    expect(() => nfrTpmFloor(row('0', 'NA'))).toThrow(/GET \/p: tpm_per_origin "0"/)
    expect(() => nfrTpmFloor(row('2500.5', 'NA'))).toThrow(/not a positive integer/)
    expect(() => nfrMonthlyFloor(row('1000', 'unlimited'))).toThrow(/monthly_operational_limit "unlimited"/)
  })
})
