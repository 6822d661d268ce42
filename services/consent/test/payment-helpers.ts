import { randomUUID } from 'node:crypto'
import type { CallerContext, PaymentsApiVersion } from '@ponte/contracts'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import type { TestConsentApp } from './helpers.ts'
import { CPF } from './helpers.ts'

/** A fixed start, mid-afternoon in Brasília, so "today" never crosses midnight during a test. */
export const START = new Date('2026-12-07T15:00:00Z')
export const TODAY = '2026-12-07'
export const MINUTE = 60_000

export const creditorAccount = { ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' }
export const debtorAccount = { ispb: '99999001', issuer: '0001', number: '00012345', accountType: 'CACC' }

/** A valid `CreatePaymentConsent.data` for `version`: an immediate Pix by key to the demo shop. */
export function consentData<E extends Record<string, unknown>>(version: PaymentsApiVersion, payment: Record<string, unknown> = {}, extra: E = {} as E) {
  return {
    loggedUser: { document: { identification: CPF, rel: 'CPF' } },
    creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: '11444777000161', name: 'Loja Exemplo Ltda' },
    payment: {
      type: 'PIX',
      date: TODAY,
      currency: 'BRL',
      amount: '100.00',
      ibgeTownCode: '5300108',
      details: { localInstrument: 'DICT', proxy: 'pix@lojaexemplo.com.br', creditorAccount },
      ...(version === 'v5' ? { purpose: 'IMMEDIATE' } : {}),
      ...payment,
    },
    ...extra,
  }
}

/** The payments API of a test consent app: TPP calls as the gateway forwards them. */
export function paymentsApi(t: TestConsentApp) {
  const connectors = t.auth.issuer('connectors')
  const tpp = (ctx: Partial<CallerContext> = {}, extra: Record<string, string> = {}) =>
    t.tpp({ scopes: ['payments'], ...ctx }, extra)
  async function post(version: PaymentsApiVersion, data: unknown, options: { key?: string | null; ctx?: Partial<CallerContext>; body?: unknown } = {}) {
    const key = options.key === undefined ? randomUUID() : options.key
    return t.app.inject({
      method: 'POST',
      url: `/open-banking/payments/${version}/consents`,
      headers: await tpp(options.ctx, key === null ? {} : { 'x-idempotency-key': key }),
      payload: (options.body ?? { data }) as Record<string, unknown>,
    })
  }
  async function get(version: PaymentsApiVersion, consentId: string, ctx: Partial<CallerContext> = {}) {
    return t.app.inject({ method: 'GET', url: `/open-banking/payments/${version}/consents/${consentId}`, headers: await tpp(ctx) })
  }
  async function create(version: PaymentsApiVersion = 'v4', data: unknown = consentData(version)): Promise<string> {
    const res = await post(version, data)
    if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`)
    return res.json().data.consentId as string
  }
  async function authorise(consentId: string, body: Record<string, unknown> = {}) {
    return t.app.inject({
      method: 'POST', url: `/internal/payment-consents/${consentId}/authorise`, headers: await t.internal('authServer'),
      payload: { authenticatedUser: { cpf: CPF }, acr: 'urn:brasil:openbanking:loa3', debtorAccount: { resourceId: 'acc-1', account: debtorAccount }, ...body },
    })
  }
  async function consume(consentId: string, paymentIds: string[] = ['pay-1']) {
    return t.app.inject({
      method: 'POST', url: `/internal/payment-consents/${consentId}/consume`,
      headers: { [SERVICE_TOKEN_HEADER]: await connectors.sign('consent') }, payload: { paymentIds },
    })
  }
  async function internalGet(consentId: string) {
    return t.app.inject({ method: 'GET', url: `/internal/payment-consents/${consentId}`, headers: await t.internal('authServer') })
  }
  return { tpp, post, get, create, authorise, consume, internalGet }
}
