import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import type { InternalPaymentConsent } from '@ponte/contracts'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { serviceTestEnv, startServiceProcess, testSchema, type ServiceProcess, type TestSchema } from '@ponte/testkit'
import { addDays, brasiliaToday } from '../../connectors/src/domain/dates.ts'
import { DEMO_CUSTOMERS } from '../../connectors/src/seed/demo-bank.ts'
import { anaChecking, itemsFor, merchant, paymentsFixture, type PaymentsFixture } from '../../connectors/test/payments-support.ts'
import { ISPB } from '../../connectors/test/pix-support.ts'

/**
 * What the console's payment and outage pages drive, real: the consent and trace services as processes, and connectors
 * (the reference core, Pix payments) in this process on a port. Connectors reads payment consents from a stand-in of
 * consent's internal API (its own test fixture); each payment consent is created in the real consent service first,
 * and the same consent is handed to the stand-in, so both sides agree.
 */
export async function startOperations(prefix: string) {
  const f: PaymentsFixture = await paymentsFixture(`${prefix}_connectors`)
  const connectorsUrl = await f.app.listen({ host: '127.0.0.1', port: 0 })
  const procs: ServiceProcess[] = []
  const schemas: TestSchema[] = []
  async function start(name: string, extra: Record<string, string>): Promise<string> {
    const schema = testSchema(`${prefix}_${name}`)
    schemas.push(schema)
    const env = { ...(await serviceTestEnv(f.auth.env)), DB_SCHEMA: schema.name, PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0', ...extra }
    const proc = await startServiceProcess(name, env)
    procs.push(proc)
    return proc.address
  }
  const [consentUrl, traceUrl] = await Promise.all([
    start('consent', {}),
    start('trace', { INGEST_GROUP_ID: `trace-admin-${randomUUID().slice(0, 8)}`, OUTAGE_MIN_NOTICE_MS: '60000', ALERT_TPP_CERTIFICATES: 'off' }),
  ])
  const cpf = DEMO_CUSTOMERS.ana.cpf

  /** A payment consent of Ana to the demo merchant, authorised (LoA3) in the consent service, for `days` from today. */
  async function paymentConsent(days: number[]): Promise<InternalPaymentConsent> {
    const today = brasiliaToday(f.clock.now)
    const dates = days.map((d) => addDays(today, d))
    const payment = {
      type: 'PIX', currency: 'BRL', amount: '12.34',
      ...(dates.length > 1 ? { schedule: { custom: { dates, additionalInformation: 'Parcelas' } } } : days[0] === 0 ? { date: today } : { schedule: { single: { date: dates[0] } } }),
      details: { localInstrument: 'DICT', proxy: merchant.key, creditorAccount: { ispb: merchant.ispb, issuer: merchant.issuer, number: merchant.number, accountType: merchant.accountType } },
    }
    const created = await fetch(`${consentUrl}/open-banking/payments/v4/consents`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', 'x-fapi-interaction-id': randomUUID(), 'x-idempotency-key': randomUUID(),
        [SERVICE_TOKEN_HEADER]: await f.auth.issuer('gateway').sign('consent', { clientId: 'client-tpp-1', organisationId: 'org-tpp-1', scopes: ['payments'] }),
      },
      body: JSON.stringify({ data: { loggedUser: { document: { identification: cpf, rel: 'CPF' } }, creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: merchant.document, name: merchant.name }, payment } }),
    })
    expect(created.status, await created.clone().text()).toBe(201)
    const consentId = ((await created.json()) as { data: { consentId: string } }).data.consentId
    const authorised = await fetch(`${consentUrl}/internal/payment-consents/${encodeURIComponent(consentId)}/authorise`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await f.auth.issuer('auth-server').sign('consent') },
      body: JSON.stringify({ authenticatedUser: { cpf }, acr: 'urn:brasil:openbanking:loa3', debtorAccount: { resourceId: anaChecking, account: { ispb: ISPB, issuer: '0001', number: '000123456', accountType: 'CACC' } } }),
    })
    expect(authorised.status, await authorised.clone().text()).toBe(200)
    const consent = (await authorised.json()) as InternalPaymentConsent
    f.consent.consents.set(consentId, consent)
    return consent
  }

  /** The TPP's `POST /pix/payments` for the consent (as the gateway forwards it): the payment ids. */
  async function pay(consent: InternalPaymentConsent, days: number[]): Promise<string[]> {
    const today = brasiliaToday(f.clock.now)
    const res = await f.app.inject({
      method: 'POST', url: '/open-banking/payments/v4/pix/payments', headers: await f.headers({ consentId: consent.consentId, key: randomUUID() }),
      payload: { data: itemsFor(consent, days.map((d) => addDays(today, d)), f.clock.now) },
    })
    expect(res.statusCode, res.body).toBe(201)
    const ids = (res.json().data as Array<{ paymentId: string }>).map((p) => p.paymentId)
    // Connectors consumed the consent at its stand-in; the real consent service is told the same.
    const consumed = await fetch(`${consentUrl}/internal/payment-consents/${encodeURIComponent(consent.consentId)}/consume`, {
      method: 'POST', headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await f.auth.issuer('connectors').sign('consent') }, body: JSON.stringify({ paymentIds: ids }),
    })
    expect(consumed.status).toBe(200)
    return ids
  }

  return {
    f, auth: f.auth, connectorsUrl, consentUrl, traceUrl, cpf, paymentConsent, pay,
    async close() {
      await Promise.all(procs.map((p) => p.stop()))
      await f.close()
      await Promise.all(schemas.map((s) => s.drop()))
    },
  }
}
