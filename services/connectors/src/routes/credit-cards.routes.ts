import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import { DomainError, type PonteServer } from '@ponte/platform'
import { CoreCardTransactionType, type CoreBill, type CoreCardAccount, type CoreCardTransaction, type Permission } from '@ponte/contracts'
import { consentedIds, ownerOf, requirePermissions } from '../domain/access.ts'
import { CURRENT_WINDOW, HISTORY_WINDOW, optionalDate, resolveWindow } from '../domain/dates.ts'
import { consentedResource, consentOf, countedBody, money, pageQuery, paging, regulatedGroup, resourceId, singleBody, windowBody, type RegulatedDeps } from './common.ts'

/** Credit Cards Accounts API v2.4.0 (`/open-banking/credit-cards-accounts/v2`). */
export const CREDIT_CARDS_VERSION = '2.4.0'
const BASE = '/open-banking/credit-cards-accounts/v2/accounts'
const PREFIX = 'CREDIT_CARDS_ACCOUNTS'

const params = z.object({ creditCardAccountId: resourceId })
const txFilter = {
  ...pageQuery,
  fromTransactionDate: z.string().max(10).optional(),
  toTransactionDate: z.string().max(10).optional(),
  transactionType: CoreCardTransactionType.optional(),
  payeeMCC: z.coerce.number().int().min(0).max(9999).optional(),
}

function billItem(b: CoreBill) {
  const item: Record<string, unknown> = {
    billId: b.billId,
    dueDate: b.dueDate,
    billClosingDate: b.closingDate,
    billTotalAmount: money(b.totalAmount, b.currency),
    billMinimumAmount: money(b.minimumAmount, b.currency),
    isInstalment: b.isInstalment,
    payments: b.payments.map((p) => ({ ...p, currency: b.currency })),
  }
  if (b.financeCharges.length) item.financeCharges = b.financeCharges.map((c) => ({ ...c, currency: b.currency }))
  return item
}

function transactionItem(t: CoreCardTransaction, withForecast: boolean) {
  const item: Record<string, unknown> = {
    transactionId: t.transactionId,
    identificationNumber: t.identificationNumber,
    transactionName: t.name,
    creditDebitType: t.creditDebit,
    transactionType: t.transactionType,
    brazilianAmount: money(t.brazilianAmount, 'BRL'),
    amount: money(t.amount, t.currency),
    transactionDateTime: t.transactionAt,
    billPostDate: t.billPostDate,
  }
  for (const k of ['billId', 'paymentType', 'feeType', 'otherCreditsType', 'chargeIdentificator', 'chargeNumber', 'payeeMCC'] as const) {
    if (t[k] !== undefined) item[k] = t[k]
  }
  if (withForecast) item.billForecastDate = t.billPostDate.slice(0, 7)
  return item
}

/** Registers the Credit Cards Accounts API routes. */
export async function creditCardsRoutes(app: PonteServer, deps: RegulatedDeps): Promise<void> {
  regulatedGroup(app, deps, CREDIT_CARDS_VERSION, (r) => {
    const consentedCard = (req: FastifyRequest, permissions: readonly Permission[]) => consentedResource(req, permissions, 'CREDIT_CARD_ACCOUNT', 'creditCardAccountId', (o, id) => deps.core.cardAccount(o, id))
    const listItem = (c: CoreCardAccount) => ({
      creditCardAccountId: c.creditCardAccountId,
      brandName: deps.brand.brandName,
      companyCnpj: deps.brand.companyCnpj,
      name: c.name,
      productType: c.productType,
      ...(c.productAdditionalInfo ? { productAdditionalInfo: c.productAdditionalInfo } : {}),
      creditCardNetwork: c.network,
      ...(c.networkAdditionalInfo ? { networkAdditionalInfo: c.networkAdditionalInfo } : {}),
    })

    r.get(BASE, { schema: { querystring: z.object(pageQuery) } }, async (req, reply) => {
      const consent = consentOf(req)
      requirePermissions(consent, [`${PREFIX}_READ`])
      const p = paging(req, reply, deps, consent.consentId)
      const result = await deps.core.cardAccounts(ownerOf(consent), consentedIds(consent, 'CREDIT_CARD_ACCOUNT'), { offset: p.offset, limit: p.pageSize })
      return countedBody(p, result, result.items.map(listItem), deps.clock())
    })

    r.get(`${BASE}/:creditCardAccountId`, { schema: { params } }, async (req) => {
      const { resource: c } = await consentedCard(req, [`${PREFIX}_READ`])
      return singleBody(req, deps, {
        name: c.name,
        productType: c.productType,
        ...(c.productAdditionalInfo ? { productAdditionalInfo: c.productAdditionalInfo } : {}),
        creditCardNetwork: c.network,
        ...(c.networkAdditionalInfo ? { networkAdditionalInfo: c.networkAdditionalInfo } : {}),
        paymentMethod: c.paymentMethods,
      })
    })

    r.get(`${BASE}/:creditCardAccountId/limits`, { schema: { params } }, async (req) => {
      const { owner, resource: card } = await consentedCard(req, [`${PREFIX}_LIMITS_READ`])
      const limits = await deps.core.cardLimits(owner, card.creditCardAccountId)
      return singleBody(req, deps, limits.map((l) => ({
        creditLineLimitType: l.creditLineLimitType,
        consolidationType: l.consolidationType,
        identificationNumber: l.identificationNumber,
        ...(l.lineName ? { lineName: l.lineName } : {}),
        isLimitFlexible: l.isLimitFlexible,
        ...(l.limitAmount ? { limitAmount: money(l.limitAmount, l.currency) } : {}),
        usedAmount: money(l.usedAmount, l.currency),
        ...(l.availableAmount ? { availableAmount: money(l.availableAmount, l.currency) } : {}),
      })))
    })

    r.get(`${BASE}/:creditCardAccountId/bills`, { schema: { params, querystring: z.object({ ...pageQuery, fromDueDate: z.string().max(10).optional(), toDueDate: z.string().max(10).optional() }) } }, async (req, reply) => {
      const { consent, owner, resource: card } = await consentedCard(req, [`${PREFIX}_BILLS_READ`])
      const fromDueDate = optionalDate('fromDueDate', req.query.fromDueDate)
      const toDueDate = optionalDate('toDueDate', req.query.toDueDate)
      if (fromDueDate && toDueDate && fromDueDate > toDueDate) throw new DomainError('UNPROCESSABLE_ENTITY', 'fromDueDate is after toDueDate')
      const p = paging(req, reply, deps, consent.consentId)
      const result = await deps.core.bills(owner, card.creditCardAccountId, { fromDueDate, toDueDate, offset: p.offset, limit: p.pageSize })
      return countedBody(p, result, result.items.map(billItem), deps.clock())
    })

    r.get(`${BASE}/:creditCardAccountId/bills/:billId/transactions`, { schema: { params: params.extend({ billId: resourceId }), querystring: z.object(txFilter) } }, async (req, reply) => {
      const { consent, owner, resource: card } = await consentedCard(req, [`${PREFIX}_BILLS_TRANSACTIONS_READ`])
      const bill = await deps.core.bill(owner, card.creditCardAccountId, req.params.billId)
      if (!bill) throw new DomainError('NOT_FOUND', 'the bill was not found for this card account')
      const fromDate = optionalDate('fromTransactionDate', req.query.fromTransactionDate)
      const toDate = optionalDate('toTransactionDate', req.query.toTransactionDate)
      if (fromDate && toDate && fromDate > toDate) throw new DomainError('UNPROCESSABLE_ENTITY', 'fromTransactionDate is after toTransactionDate')
      const p = paging(req, reply, deps, consent.consentId)
      const result = await deps.core.billTransactions(owner, card.creditCardAccountId, bill.billId, {
        fromDate, toDate, transactionType: req.query.transactionType, payeeMCC: req.query.payeeMCC, offset: p.offset, limit: p.pageSize,
      })
      return countedBody(p, result, result.items.map((t) => transactionItem(t, false)), deps.clock())
    })

    for (const [suffix, rule] of [['transactions', HISTORY_WINDOW], ['transactions-current', CURRENT_WINDOW]] as const) {
      r.get(`${BASE}/:creditCardAccountId/${suffix}`, { schema: { params, querystring: z.object(txFilter) } }, async (req, reply) => {
        const { consent, owner, resource: card } = await consentedCard(req, [`${PREFIX}_TRANSACTIONS_READ`])
        const now = deps.clock()
        const window = resolveWindow(req.query.fromTransactionDate, req.query.toTransactionDate, rule(['fromTransactionDate', 'toTransactionDate']), now)
        const p = paging(req, reply, deps, consent.consentId)
        const result = await deps.core.cardTransactions(owner, card.creditCardAccountId, {
          ...window, transactionType: req.query.transactionType, payeeMCC: req.query.payeeMCC, offset: p.offset, limit: p.pageSize,
        })
        return windowBody(p, result, result.items.map((t) => transactionItem(t, true)), now)
      })
    }
  })
}
