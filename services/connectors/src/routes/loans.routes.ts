import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import { ofbDateTime, type PonteServer } from '@ponte/platform'
import type { CoreLoanContract, Permission } from '@ponte/contracts'
import { consentedIds, ownerOf, requirePermissions } from '../domain/access.ts'
import { consentedResource, consentOf, countedBody, pageQuery, paging, regulatedGroup, resourceId, type RegulatedDeps } from './common.ts'

/** Loans API v2.7.0 (`/open-banking/loans/v2`). */
export const LOANS_VERSION = '2.7.0'
const BASE = '/open-banking/loans/v2/contracts'

const params = z.object({ contractId: resourceId })

function contractData(c: CoreLoanContract) {
  const d: Record<string, unknown> = {
    contractNumber: c.contractNumber,
    ipocCode: c.ipocCode,
    productName: c.productName,
    productType: 'EMPRESTIMOS',
    productSubType: c.productSubType,
    contractDate: c.contractDate,
    contractAmount: c.contractAmount,
    currency: c.currency,
    instalmentPeriodicity: c.instalmentPeriodicity,
    CET: c.cet,
    hasInsuranceContracted: c.hasInsuranceContracted,
    amortizationScheduled: c.amortizationScheduled,
    interestRates: c.interestRates,
    contractedFees: c.contractedFees,
    contractedFinanceCharges: c.contractedFinanceCharges,
  }
  if (c.disbursementDates.length) d.disbursementDates = c.disbursementDates
  for (const k of ['settlementDate', 'dueDate', 'firstInstalmentDueDate', 'nextInstalmentAmount'] as const) if (c[k] !== undefined) d[k] = c[k]
  return d
}

/** Registers the Loans API routes. */
export async function loansRoutes(app: PonteServer, deps: RegulatedDeps): Promise<void> {
  regulatedGroup(app, deps, LOANS_VERSION, (r) => {
    const consentedContract = (req: FastifyRequest, permission: Permission) => consentedResource(req, [permission], 'LOAN', 'contractId', (o, id) => deps.core.loanContract(o, id))
    const plain = (req: { url: string }, data: unknown) => ({
      data,
      links: { self: `${deps.publicBaseUrl}${req.url.split('?')[0]}` },
      meta: { requestDateTime: ofbDateTime(deps.clock()) },
    })

    r.get(BASE, { schema: { querystring: z.object(pageQuery) } }, async (req, reply) => {
      const consent = consentOf(req)
      requirePermissions(consent, ['LOANS_READ'])
      const p = paging(req, reply, deps, consent.consentId)
      const result = await deps.core.loanContracts(ownerOf(consent), consentedIds(consent, 'LOAN'), { offset: p.offset, limit: p.pageSize })
      return countedBody(p, result, result.items.map((c) => ({
        contractId: c.contractId,
        brandName: deps.brand.brandName,
        companyCnpj: deps.brand.companyCnpj,
        productType: 'EMPRESTIMOS',
        productSubType: c.productSubType,
        ipocCode: c.ipocCode,
      })), deps.clock())
    })

    r.get(`${BASE}/:contractId`, { schema: { params } }, async (req) => {
      const { resource: contract } = await consentedContract(req, 'LOANS_READ')
      return plain(req, contractData(contract))
    })

    r.get(`${BASE}/:contractId/warranties`, { schema: { params, querystring: z.object(pageQuery) } }, async (req, reply) => {
      const { consent, owner, resource: contract } = await consentedContract(req, 'LOANS_WARRANTIES_READ')
      const p = paging(req, reply, deps, consent.consentId)
      const result = await deps.core.warranties(owner, contract.contractId, { offset: p.offset, limit: p.pageSize })
      return countedBody(p, result, result.items.map((w) => ({ currency: w.currency, warrantyType: w.warrantyType, warrantySubType: w.warrantySubType, warrantyAmount: w.amount })), deps.clock())
    })

    r.get(`${BASE}/:contractId/scheduled-instalments`, { schema: { params } }, async (req) => {
      const { owner, resource: contract } = await consentedContract(req, 'LOANS_SCHEDULED_INSTALMENTS_READ')
      const i = await deps.core.instalments(owner, contract.contractId)
      if (!i) throw new Error(`contract ${contract.contractId} vanished`)
      return plain(req, {
        typeNumberOfInstalments: 'MES',
        totalNumberOfInstalments: i.totalNumberOfInstalments,
        typeContractRemaining: 'MES',
        contractRemainingNumber: i.contractRemainingMonths,
        paidInstalments: i.paidInstalments,
        dueInstalments: i.dueInstalments,
        pastDueInstalments: i.pastDueInstalments,
      })
    })

    r.get(`${BASE}/:contractId/payments`, { schema: { params } }, async (req) => {
      const { owner, resource: contract } = await consentedContract(req, 'LOANS_PAYMENTS_READ')
      const pay = await deps.core.loanPayments(owner, contract.contractId)
      if (!pay) throw new Error(`contract ${contract.contractId} vanished`)
      return plain(req, {
        paidInstalments: pay.paidInstalments,
        contractOutstandingBalance: pay.contractOutstandingBalance,
        totalRemainingAmount: pay.totalRemainingAmount,
        releases: pay.releases,
      })
    })
  })
}
