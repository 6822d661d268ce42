import { randomUUID } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka, createOutboxRelay, createPublisher, type OutboxRelay } from '@ponte/platform'
import { listen, testInfra, waitFor } from '@ponte/testkit'
import { startWithRegisteredClient } from '../../auth-server/test/support/registered-client.ts'
import { startWorld, type Tpp, type World } from '../../gateway/test/harness.ts'
import { consoleBrowser, launchChromium, LOGIN_EN, webDir } from './browser-support.ts'
import { startAdmin } from './helpers.ts'
import { startOperations } from './operations-support.ts'

// The payments, participants and API catalog pages in Debian's Chromium, against the real services behind them:
// consent, trace (processes), connectors, the auth-server with a registered client, and the gateway.
const catalogTopic = `test.api-catalog.${randomUUID().slice(0, 8)}`
const clientTopic = `test.client.${randomUUID().slice(0, 8)}`
let ops: Awaited<ReturnType<typeof startOperations>>
let world: World
let gw: Awaited<ReturnType<World['startGateway']>>
let tpp: Tpp
let reg: Awaited<ReturnType<typeof startWithRegisteredClient>>
let admin: Awaited<ReturnType<typeof startAdmin>>
let browser: Browser
let base = ''
const relays: OutboxRelay[] = []
let publisher: ReturnType<typeof createPublisher>

beforeAll(async () => {
  ;[ops, world, browser] = await Promise.all([startOperations('admin_browser_ops'), startWorld(), launchChromium()])
  gw = await world.startGateway({ API_CATALOG_TOPIC: catalogTopic, CLIENT_TOPIC: clientTopic })
  tpp = await world.tpp('console')
  reg = await startWithRegisteredClient(ops.auth, 'admin_browser_auth', { clientTopic })
  admin = await startAdmin({
    auth: ops.auth, consentUrl: ops.consentUrl, connectorsUrl: ops.connectorsUrl, traceUrl: ops.traceUrl, catalogTopic,
    authServerUrl: reg.h.issuer, authServerCa: reg.ca.chainPem, webDir,
  })
  publisher = createPublisher(createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'admin-browser-ops', logger: reg.logger }))
  relays.push(createOutboxRelay({ pool: admin.pool, publisher, logger: reg.logger, intervalMs: 100 }))
  // `localhost` is a secure context, so Chromium keeps the Secure `__Host-` cookies over plain HTTP.
  base = (await listen(admin.app)).replace('127.0.0.1', 'localhost')
}, 120_000)
afterAll(async () => {
  await browser?.close()
  for (const r of relays) await r.stop()
  await publisher?.disconnect()
  await admin?.close()
  await reg?.close()
  await world?.close()
  await ops?.close()
})

const { open, signIn, axeViolations } = consoleBrowser(() => browser, () => base, { now: () => admin.clock.now(), advance: (ms) => admin.clock.advance(ms) })

describe('the operations pages in a browser', () => {
  it('a consent officer finds a scheduled payment by CPF and cancels it with a note: CANC from the DETENTORA', async () => {
    const consent = await ops.paymentConsent([2])
    const [id] = await ops.pay(consent, [2])
    const { page, csp } = await open()
    await signIn(page, await admin.user(['consent_officer']))
    await page.getByRole('link', { name: 'Pagamentos' }).click()
    await page.getByLabel('Valor').fill('761.092.776-73')
    await page.getByRole('button', { name: 'Buscar' }).click()
    await page.getByRole('button', { name: `Ver ${id}` }).click()
    await page.getByRole('heading', { name: 'Histórico de situações' }).waitFor()
    expect(await page.content()).not.toContain(ops.cpf)
    await page.getByLabel('Observação (obrigatória)').fill('Cliente ligou, protocolo 777')
    await page.getByRole('button', { name: 'Confirmar cancelamento' }).click()
    await page.getByRole('status').filter({ hasText: 'Pagamento cancelado.' }).waitFor()
    await expect.poll(() => page.getByTestId('payment-detail-status').textContent()).toBe('CANC')
    const [p] = await ops.f.payments.search({ paymentId: id!, limit: 1 })
    expect(p).toMatchObject({ status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA' } })
    expect(csp).toEqual([])
    await page.context().close()
  }, 60_000)

  it('an operator schedules an outage: discovery announces it', async () => {
    const { page } = await open()
    await signIn(page, await admin.user(['operator']))
    await page.getByRole('link', { name: 'Catálogo de APIs' }).click()
    const local = (ms: number) => { const d = new Date(Date.now() + ms); return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16) }
    // The browser's time zone is the test's: datetime-local values in that zone.
    await page.getByLabel('Início').fill(local(2 * 3_600_000))
    await page.getByLabel('Fim').fill(local(3 * 3_600_000))
    await page.getByLabel(/APIs afetadas/).fill('accounts/v2')
    await page.getByLabel('Explicação').fill('Janela de manutenção pelo console')
    await page.getByRole('button', { name: 'Programar indisponibilidade' }).click()
    await page.getByRole('status').filter({ hasText: 'Indisponibilidade programada.' }).waitFor()
    const discovery = (await (await fetch(`${ops.traceUrl}/open-banking/discovery/v2/outages`)).json()) as { data: Array<{ explanation: string }> }
    expect(discovery.data.map((o) => o.explanation)).toContain('Janela de manutenção pelo console (APIs: accounts/v2)')
    await page.context().close()
  }, 60_000)

  it('an operator disables accounts/v2: the gateway refuses it; enabling serves it again', async () => {
    const c = world.consentFor(tpp)
    const t = await world.token(tpp, { consentId: c.consentId })
    const account = `${gw.url}/open-banking/accounts/v2/accounts/acc-1`
    expect((await world.call(account, { agent: tpp.agent, token: t })).status).toBe(200)
    const { page } = await open()
    await signIn(page, await admin.user(['operator']))
    await page.getByRole('link', { name: 'Catálogo de APIs' }).click()
    await page.getByRole('button', { name: 'Desabilitar accounts/v2' }).click()
    await page.getByLabel('Observação (obrigatória)').fill('Incidente no core')
    await page.getByRole('button', { name: 'Confirmar' }).click()
    await page.getByRole('status').filter({ hasText: 'Versão alterada.' }).waitFor()
    const refused = await waitFor(async () => { const r = await world.call(account, { agent: tpp.agent, token: t }); return r.status === 404 ? r : undefined }, { what: 'the gateway to refuse accounts/v2' })
    expect(refused.body.errors?.[0]?.code).toBe('API_VERSION_NOT_OFFERED')
    await page.getByRole('button', { name: 'Habilitar accounts/v2' }).click()
    await page.getByLabel('Observação (obrigatória)').fill('Core normalizado')
    await page.getByRole('button', { name: 'Confirmar' }).click()
    await waitFor(async () => (await world.call(account, { agent: tpp.agent, token: t })).status === 200, { what: 'accounts/v2 served again' })
    await page.context().close()
  }, 60_000)

  it('a security administrator suspends a client: its token request fails; reinstated, it gets tokens again', async () => {
    expect(await reg.token()).toBeTruthy()
    const { page } = await open()
    await signIn(page, await admin.user(['security_admin']))
    await page.getByRole('link', { name: 'Participantes e clientes' }).click()
    await page.getByRole('button', { name: `Suspender ${reg.clientId}` }).click()
    await page.getByLabel('Observação (obrigatória)').fill('Uso indevido')
    await page.getByRole('button', { name: 'Confirmar' }).click()
    await page.getByRole('status').filter({ hasText: 'Cliente alterado.' }).waitFor()
    await expect(reg.token()).rejects.toMatchObject({ error: 'invalid_client' })
    await page.getByRole('button', { name: `Reativar ${reg.clientId}` }).click()
    await page.getByLabel('Observação (obrigatória)').fill('Regularizado')
    await page.getByRole('button', { name: 'Confirmar' }).click()
    await expect.poll(() => reg.token().then(Boolean, () => false)).toBe(true)
    await page.context().close()
  }, 60_000)

  it('has no serious accessibility violation on the new pages, in pt-BR and in English', async () => {
    const all = await admin.user(['viewer', 'operator', 'consent_officer', 'security_admin', 'auditor'])
    const [paymentId] = await ops.pay(await ops.paymentConsent([3]), [3])
    for (const lang of [undefined, 'en'] as const) {
      const { page, csp } = await open(lang)
      await signIn(page, all, lang === 'en' ? LOGIN_EN : undefined)
      const pages = lang === 'en' ? ['Payments', 'Participants and clients', 'API catalog'] : ['Pagamentos', 'Participantes e clientes', 'Catálogo de APIs']
      for (const name of pages) {
        await page.getByRole('link', { name }).click()
        await page.getByRole('heading', { level: 1, name }).waitFor()
        await page.waitForLoadState('networkidle')
        expect(await axeViolations(page), `${name} (${lang ?? 'pt-BR'})`).toEqual([])
      }
      // The payments page with results and a payment's detail open.
      await page.getByRole('link', { name: pages[0] }).click()
      await page.getByLabel(lang === 'en' ? 'Value' : 'Valor').fill(ops.cpf)
      await page.getByRole('button', { name: lang === 'en' ? 'Search' : 'Buscar' }).click()
      await page.getByRole('button', { name: `${lang === 'en' ? 'Open' : 'Ver'} ${paymentId}` }).click()
      await page.getByRole('heading', { name: lang === 'en' ? 'Status history' : 'Histórico de situações' }).waitFor()
      expect(await axeViolations(page), `payment detail (${lang ?? 'pt-BR'})`).toEqual([])
      expect(csp).toEqual([])
      await page.context().close()
    }
  }, 90_000)
})
