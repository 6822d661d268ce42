import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import type { PonteServer } from '@ponte/platform'
import { CoreAccountType, type CoreAccount, type CoreAccountTransaction, type Permission } from '@ponte/contracts'
import { consentedIds, ownerOf, requirePermissions } from '../domain/access.ts'
import { CURRENT_WINDOW, HISTORY_WINDOW, resolveWindow } from '../domain/dates.ts'
import { consentedResource, consentOf, countedBody, money, pageQuery, paging, regulatedGroup, resourceId, singleBody, windowBody, type RegulatedDeps } from './common.ts'

/** Accounts API v2.5.1 (`/open-banking/accounts/v2`). */
export const ACCOUNTS_VERSION = '2.5.1'
const BASE = '/open-banking/accounts/v2/accounts'

const params = z.object({ accountId: resourceId })
const transactionsQuery = z.object({
  ...pageQuery,
  fromBookingDate: z.string().max(10).optional(),
  toBookingDate: z.string().max(10).optional(),
  creditDebitIndicator: z.enum(['CREDITO', 'DEBITO']).optional(),
})

function transactionItem(t: CoreAccountTransaction) {
  const item: Record<string, unknown> = {
    transactionId: t.transactionId,
    completedAuthorisedPaymentType: t.status,
    creditDebitType: t.creditDebit,
    transactionName: t.name,
    type: t.type,
    transactionAmount: money(t.amount, t.currency),
    transactionDateTime: t.bookedAt,
  }
  if (t.typeAdditionalInfo) item.typeAdditionalInfo = t.typeAdditionalInfo
  const c = t.counterparty
  if (c) {
    item.partieCnpjCpf = c.document
    item.partiePersonType = c.personType
    if (c.compeCode) item.partieCompeCode = c.compeCode
    if (c.branchCode) item.partieBranchCode = c.branchCode
    if (c.number) item.partieNumber = c.number
    if (c.checkDigit) item.partieCheckDigit = c.checkDigit
    if (c.ispb) item.codeISPB = c.ispb
  }
  return item
}

/** Registers the Accounts API routes. */
export async function accountsRoutes(app: PonteServer, deps: RegulatedDeps): Promise<void> {
  regulatedGroup(app, deps, ACCOUNTS_VERSION, (r) => {
    const listItem = (a: CoreAccount) => ({
      brandName: deps.brand.brandName,
      companyCnpj: deps.brand.companyCnpj,
      type: a.type,
      compeCode: a.compeCode,
      ...(a.branchCode ? { branchCode: a.branchCode } : {}),
      number: a.number,
      ...(a.checkDigit ? { checkDigit: a.checkDigit } : {}),
      accountId: a.accountId,
    })

    const consentedAccount = (req: FastifyRequest, permission: Permission) => consentedResource(req, [permission], 'ACCOUNT', 'accountId', (o, id) => deps.core.account(o, id))

    r.get(BASE, { schema: { querystring: z.object({ ...pageQuery, accountType: CoreAccountType.optional() }) } }, async (req, reply) => {
      const consent = consentOf(req)
      requirePermissions(consent, ['ACCOUNTS_READ'])
      const p = paging(req, reply, deps, consent.consentId)
      const result = await deps.core.accounts(ownerOf(consent), consentedIds(consent, 'ACCOUNT'), { type: req.query.accountType, offset: p.offset, limit: p.pageSize })
      return countedBody(p, result, result.items.map(listItem), deps.clock())
    })

    r.get(`${BASE}/:accountId`, { schema: { params } }, async (req) => {
      const { resource: a } = await consentedAccount(req, 'ACCOUNTS_READ')
      return singleBody(req, deps, {
        compeCode: a.compeCode,
        ...(a.branchCode ? { branchCode: a.branchCode } : {}),
        number: a.number,
        ...(a.checkDigit ? { checkDigit: a.checkDigit } : {}),
        type: a.type,
        subtype: a.subtype,
        currency: a.currency,
      })
    })

    r.get(`${BASE}/:accountId/balances`, { schema: { params } }, async (req) => {
      const { owner, resource: account } = await consentedAccount(req, 'ACCOUNTS_BALANCES_READ')
      const b = await deps.core.balances(owner, account.accountId)
      if (!b) throw new Error(`account ${account.accountId} has no balance record`)
      return singleBody(req, deps, {
        availableAmount: money(b.available, b.currency),
        blockedAmount: money(b.blocked, b.currency),
        automaticallyInvestedAmount: money(b.automaticallyInvested, b.currency),
        updateDateTime: b.updatedAt,
      })
    })

    r.get(`${BASE}/:accountId/overdraft-limits`, { schema: { params } }, async (req) => {
      const { owner, resource: account } = await consentedAccount(req, 'ACCOUNTS_OVERDRAFT_LIMITS_READ')
      const l = await deps.core.overdraftLimits(owner, account.accountId)
      const data: Record<string, unknown> = {}
      if (l?.contracted) data.overdraftContractedLimit = money(l.contracted, l.currency)
      if (l?.used) data.overdraftUsedLimit = money(l.used, l.currency)
      if (l?.unarranged) data.unarrangedOverdraftAmount = money(l.unarranged, l.currency)
      return singleBody(req, deps, data)
    })

    for (const [suffix, rule] of [['transactions', HISTORY_WINDOW], ['transactions-current', CURRENT_WINDOW]] as const) {
      r.get(`${BASE}/:accountId/${suffix}`, { schema: { params, querystring: transactionsQuery } }, async (req, reply) => {
        const { consent, owner, resource: account } = await consentedAccount(req, 'ACCOUNTS_TRANSACTIONS_READ')
        const now = deps.clock()
        const window = resolveWindow(req.query.fromBookingDate, req.query.toBookingDate, rule(['fromBookingDate', 'toBookingDate']), now)
        const p = paging(req, reply, deps, consent.consentId)
        const result = await deps.core.accountTransactions(owner, account.accountId, { ...window, creditDebit: req.query.creditDebitIndicator, offset: p.offset, limit: p.pageSize })
        return windowBody(p, result, result.items.map(transactionItem), now)
      })
    }
  })
}
