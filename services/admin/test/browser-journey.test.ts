// The console against the whole platform, every service its own process as `make up` runs them: a consent made by a
// real TPP journey (onboarding in the sandbox directory, DCR, the consent created through the gateway, the customer's
// login and approval in the journey pages, the code exchanged for tokens) is found and revoked by the demo consent
// officer in Chromium, signed in with password and TOTP; the TPP's next call through the gateway is refused.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor, type TestTpp } from '@ponte/testkit'
import { dataJourney, type TppSession } from '../../gateway/test/e2e/journeys.ts'
import { onboardTpp, startE2eStack, type E2eStack } from '../../gateway/test/e2e/stack.ts'
import { DEMO_STAFF_PASSWORD, DEMO_STAFF_TOTP_SECRET } from '../src/domain/demo-staff.ts'
import { currentTotp } from '../src/domain/totp.ts'
import { launchChromium, openConsole } from './browser-helpers.ts'

const CPF = '76109277673'
const REDIRECT = 'https://tpp.example.com.br/callback'
let stack: E2eStack
let tpp: TestTpp | undefined
let browser: Browser

beforeAll(async () => {
  ;[stack, browser] = await Promise.all([startE2eStack(), launchChromium()])
}, 180_000)
afterAll(async () => {
  await browser?.close()
  await tpp?.close()
  await stack?.stop()
}, 60_000)

describe('the console against the platform', () => {
  it('revokes a consent a TPP obtained through the journey; the TPP is refused on its next call', async () => {
    const onboarded = await onboardTpp(stack, { name: 'Fintech Console', clientName: 'App Console', roles: ['DADOS'], redirectUris: [REDIRECT], webhookUris: ['https://tpp.example.com.br/webhook'] })
    tpp = onboarded.tpp
    const session: TppSession = { stack, tpp, config: await tpp.oidc(stack.authIssuer, onboarded.client.client_id), redirectUri: REDIRECT }
    const { consentId, tokens } = await dataJourney(session, CPF, ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'])
    const call = async () => {
      const res = await tpp!.fetch(`${stack.gatewayUrl}/open-banking/resources/v3/resources`, { headers: { authorization: `Bearer ${tokens.access_token}`, 'x-fapi-interaction-id': crypto.randomUUID() } })
      return { status: res.status, body: await res.json() as { errors?: Array<{ code: string }> } }
    }
    expect((await call()).status).toBe(200)

    // The demo consent officer (README), on the console as `make up` serves it (`localhost`: a secure context, so
    // Chromium keeps the console's Secure cookies over plain HTTP on loopback).
    const { page, csp } = await openConsole(browser, stack.adminUrl.replace('127.0.0.1', 'localhost'))
    await page.getByLabel('E-mail').fill('atendimento@ponte.demo')
    await page.getByLabel('Senha', { exact: true }).fill(DEMO_STAFF_PASSWORD)
    await page.getByRole('button', { name: 'Entrar' }).click()
    await page.getByLabel('Código').fill(currentTotp(DEMO_STAFF_TOTP_SECRET, new Date()))
    await page.getByRole('button', { name: 'Confirmar' }).click()
    await page.getByRole('navigation').waitFor()

    await page.getByLabel('ID do consentimento ou CPF do cliente').fill(consentId)
    await page.getByRole('button', { name: 'Buscar' }).click()
    await page.getByRole('button', { name: `Ver ${consentId}` }).click()
    await page.getByLabel('Observação (obrigatória)').fill('Cliente pediu pelo telefone')
    await page.getByRole('button', { name: 'Confirmar revogação' }).click()
    await page.getByRole('status').filter({ hasText: 'Consentimento revogado.' }).waitFor()
    await expect.poll(() => page.getByTestId('consent-status').textContent(), { timeout: 10_000 }).toBe('REJECTED')
    expect(csp).toEqual([])
    await page.context().close()

    // The revocation reaches the gateway through ponte.consent.v1: the same token is refused from then on.
    const refused = await waitFor(async () => {
      const r = await call()
      return r.status === 401 ? r : undefined
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the gateway to refuse the revoked consent' })
    expect(refused.body.errors?.[0]?.code).toBe('CONSENT_NOT_AUTHORISED')
  }, 180_000)
})
