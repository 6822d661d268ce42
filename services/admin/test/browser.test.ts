import { randomUUID } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { listen, serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, type ServiceProcess, type TestSchema } from '@ponte/testkit'
import { startAdmin } from './helpers.ts'
import { consoleBrowser, launchChromium, LOGIN_EN, webDir } from './browser-support.ts'

// The built console in Debian's Chromium, against the admin app and a real consent service.
const CPF = '76109277673'
const auth = testServiceAuth()

let admin: Awaited<ReturnType<typeof startAdmin>>
let consent: ServiceProcess
let consentSchema: TestSchema
let browser: Browser
let base = ''

beforeAll(async () => {
  consentSchema = testSchema('consent_for_console')
  const env = { ...(await serviceTestEnv(auth.env)), DB_SCHEMA: consentSchema.name, PORT: '0', HOST: '127.0.0.1' }
  ;[consent, browser] = await Promise.all([startServiceProcess('consent', env), launchChromium()])
  admin = await startAdmin({ auth, consentUrl: consent.address, webDir })
  // `localhost` is a secure context, so Chromium keeps the Secure `__Host-` cookies over plain HTTP.
  base = (await listen(admin.app)).replace('127.0.0.1', 'localhost')
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await admin?.close()
  await consent?.stop()
  await consentSchema?.drop()
})

async function authorisedConsent(): Promise<string> {
  const created = await fetch(`${consent.address}/open-banking/consents/v3/consents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-fapi-interaction-id': randomUUID(), [SERVICE_TOKEN_HEADER]: await auth.issuer('gateway').sign('consent', { clientId: 'client-a', organisationId: 'org-a', scopes: ['consents'] }) },
    body: JSON.stringify({ data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'] } }),
  })
  const consentId = ((await created.json()) as { data: { consentId: string } }).data.consentId
  await fetch(`${consent.address}/internal/consents/${consentId}/authorise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await auth.issuer('auth-server').sign('consent') },
    body: JSON.stringify({ resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], authenticatedUser: { cpf: CPF } }),
  })
  return consentId
}

const { open, signIn, axeViolations } = consoleBrowser(() => browser, () => base, { now: () => admin.clock.now(), advance: (ms) => admin.clock.advance(ms) })

describe('the console in a browser', () => {
  it('logs a consent officer in with password and TOTP, finds a consent by CPF and revokes it with a note', async () => {
    const consentId = await authorisedConsent()
    const officer = await admin.user(['consent_officer'])
    const { page, csp } = await open()
    await signIn(page, officer)
    await page.getByLabel('ID do consentimento ou CPF do cliente').fill('761.092.776-73')
    await page.getByRole('button', { name: 'Buscar' }).click()
    await expect.poll(() => page.getByRole('cell', { name: '***.092.776-**' }).count()).toBeGreaterThan(0)
    expect(await page.content()).not.toContain(CPF)
    await page.getByRole('button', { name: `Ver ${consentId}` }).click()
    await page.getByLabel('Observação (obrigatória)').fill('Cliente pediu pelo telefone')
    await page.getByRole('button', { name: 'Confirmar revogação' }).click()
    await page.getByRole('status').filter({ hasText: 'Consentimento revogado.' }).waitFor()
    await expect.poll(() => page.getByTestId('consent-status').textContent()).toBe('REJECTED')
    const after = await fetch(`${consent.address}/internal/consents/${consentId}`, { headers: { [SERVICE_TOKEN_HEADER]: await auth.issuer('admin').sign('consent') } })
    expect(await after.json()).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'USER', reason: 'CUSTOMER_MANUALLY_REVOKED', additionalInformation: 'Cliente pediu pelo telefone' } })
    expect(csp).toEqual([])
    await page.context().close()
  })

  it('shows a viewer no revoke button, and the API refuses the call when forced from the page', async () => {
    const consentId = await authorisedConsent()
    const viewer = await admin.user(['viewer'])
    const { page } = await open()
    await signIn(page, viewer)
    await page.getByLabel('ID do consentimento ou CPF do cliente').fill(consentId)
    await page.getByRole('button', { name: 'Buscar' }).click()
    await page.getByRole('button', { name: `Ver ${consentId}` }).click()
    await page.getByRole('heading', { name: 'Ciclo de vida' }).waitFor()
    expect(await page.getByRole('button', { name: 'Confirmar revogação' }).count()).toBe(0)
    expect(await page.getByLabel('Observação (obrigatória)').count()).toBe(0)
    const forced = await page.evaluate(async (id) => {
      const s = (await (await fetch('/api/session')).json()) as { csrfToken: string }
      const res = await fetch(`/api/consents/${encodeURIComponent(id)}/revoke`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: JSON.stringify({ reason: 'INTERNAL_SECURITY_REASON', note: 'forced' }),
      })
      return res.status
    }, consentId)
    expect(forced).toBe(403)
    expect(await page.getByTestId('consent-status').textContent()).toBe('AUTHORISED')
    await page.context().close()
  })

  it('has no serious accessibility violation on any page, in pt-BR and in English', async () => {
    const all = await admin.user(['viewer', 'operator', 'consent_officer', 'security_admin', 'auditor'])
    for (const lang of [undefined, 'en'] as const) {
      const { page, csp } = await open(lang)
      expect(await page.getAttribute('html', 'lang')).toBe(lang ?? 'pt-BR')
      expect(await axeViolations(page), `login ${lang ?? 'pt-BR'}`).toEqual([])
      await signIn(page, all, lang === 'en' ? LOGIN_EN : undefined)
      const pages = lang === 'en' ? ['Consents', 'Traffic limits', 'Staff', 'Audit trail'] : ['Consentimentos', 'Limites de tráfego', 'Equipe', 'Trilha de auditoria']
      for (const name of pages) {
        await page.getByRole('link', { name }).click()
        await page.getByRole('heading', { level: 1, name }).waitFor()
        await page.waitForLoadState('networkidle')
        expect(await axeViolations(page), `${name} (${lang ?? 'pt-BR'})`).toEqual([])
      }
      expect(csp).toEqual([])
      await page.context().close()
    }
  }, 60_000)
})
