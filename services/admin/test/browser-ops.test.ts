import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, testServiceAuth } from '@ponte/testkit'
import type { StaffUser } from '../src/adapters/staff-store.ts'
import { startAdmin } from './helpers.ts'
import { axeViolations, EN_LABELS, launchChromium, openConsole, signInAs, webDir, PT_LABELS } from './browser-helpers.ts'
import { ENDPOINT, startOpsUpstreams } from './ops-upstreams.ts'

// The dashboard, traces and keys pages in Debian's Chromium, against the real trace service and auth-server.
const auth = testServiceAuth()
let admin: Awaited<ReturnType<typeof startAdmin>>
let up: Awaited<ReturnType<typeof startOpsUpstreams>>
let browser: Browser
let base = ''

beforeAll(async () => {
  ;[up, browser] = await Promise.all([startOpsUpstreams(auth), launchChromium()])
  admin = await startAdmin({ auth, traceUrl: up.traceUrl, authServerUrl: up.authUrl, authServerCa: up.ca, webDir })
  // `localhost` is a secure context, so Chromium keeps the Secure `__Host-` cookies over plain HTTP.
  base = (await listen(admin.app)).replace('127.0.0.1', 'localhost')
}, 120_000)
afterAll(async () => {
  await browser?.close()
  await admin?.close()
  await up?.close()
})

const open = (lang?: 'en') => openConsole(browser, base, lang)
const signIn = (page: Page, u: StaffUser, labels = PT_LABELS) => signInAs(page, admin.clock, u, labels)

describe('the operations pages in a browser', () => {
  it('shows a viewer the dashboard with its chart, then finds a call by interaction id and opens its story', async () => {
    const { page, csp } = await open()
    await signIn(page, await admin.user(['viewer']))
    await page.getByRole('link', { name: 'Painel' }).click()
    await page.getByRole('heading', { level: 1, name: 'Painel' }).waitFor()
    await expect.poll(() => page.locator('dd').first().textContent(), { timeout: 10_000 }).toBe('30')
    // The chart drew one bar per minute with calls.
    await expect.poll(() => page.locator('figure .recharts-bar-rectangle').count(), { timeout: 10_000 }).toBeGreaterThan(0)
    expect(await page.getByTestId('sla-tiers').getByRole('row', { name: /4\.000 ms/ }).textContent()).toContain('dentro da meta')
    // Rejections and errors: 10 of 30 calls were 500s.
    expect(await page.locator('dl').textContent()).toContain('33,33%')

    await page.getByRole('link', { name: 'Rastreamento' }).click()
    await page.getByLabel('ID de interação (x-fapi-interaction-id)').fill(up.target.interactionId)
    await page.getByRole('button', { name: 'Buscar chamadas' }).click()
    await page.getByRole('button', { name: `Ver ${up.target.interactionId}` }).click()
    await page.getByRole('heading', { name: 'Detalhe da chamada' }).waitFor()
    expect(await page.getByTestId('trace-consentId').textContent()).toBe(up.consentId)
    expect(await page.getByTestId('trace-story').textContent()).toContain('consent.authorised')
    // A search by organisation and status lists that organisation's ten 500s.
    await page.getByLabel('ID de interação (x-fapi-interaction-id)').fill('')
    await page.getByLabel('Organização').fill(up.organisationId)
    await page.getByLabel('Status HTTP').fill('500')
    await page.getByRole('button', { name: 'Buscar chamadas' }).click()
    await expect.poll(() => page.getByTestId('trace-results').locator('tbody tr').count(), { timeout: 10_000 }).toBe(10)
    expect(csp).toEqual([])
    await page.context().close()
  })

  it('lets a security administrator rotate the auth-server keys, and shows a viewer no keys page', async () => {
    const { page, csp } = await open()
    await signIn(page, await admin.user(['security_admin']))
    await page.getByRole('link', { name: 'Chaves' }).click()
    const rows = page.getByTestId('keys').locator('tbody tr')
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2)
    await page.getByLabel('Período de transição (horas)').fill('2')
    await page.getByRole('button', { name: 'Trocar chaves agora' }).click()
    await page.getByRole('status').filter({ hasText: 'Chaves trocadas.' }).waitFor()
    expect(await page.getByTestId('keys').locator('tbody tr[data-status="active"]').count()).toBe(2)
    expect(await page.getByTestId('keys').locator('tbody tr[data-status="retiring"]').count()).toBe(2)
    expect(csp).toEqual([])
    await page.context().close()

    const viewer = await open()
    await signIn(viewer.page, await admin.user(['viewer']))
    expect(await viewer.page.getByRole('link', { name: 'Chaves' }).count()).toBe(0)
    await viewer.page.context().close()
  })

  it('has no serious accessibility violation on the dashboard, traces and keys pages, in pt-BR and in English', async () => {
    const u = await admin.user(['viewer', 'security_admin'])
    for (const lang of [undefined, 'en'] as const) {
      const { page, csp } = await open(lang)
      await signIn(page, u, lang === 'en' ? EN_LABELS : PT_LABELS)
      const names = lang === 'en' ? { dashboard: 'Dashboard', traces: 'Traces', keys: 'Keys', search: 'Search calls', open: 'Open', endpoint: 'Endpoint (template)' } : { dashboard: 'Painel', traces: 'Rastreamento', keys: 'Chaves', search: 'Buscar chamadas', open: 'Ver', endpoint: 'Endpoint (modelo)' }
      for (const name of [names.dashboard, names.traces, names.keys]) {
        await page.getByRole('link', { name }).click()
        await page.getByRole('heading', { level: 1, name }).waitFor()
        if (name === names.traces) {
          // The page with results and a call's detail open.
          await page.getByLabel(names.endpoint).fill(ENDPOINT)
          await page.getByRole('button', { name: names.search }).click()
          await page.getByRole('button', { name: `${names.open} ${up.target.interactionId}` }).click()
          await page.getByTestId('trace-story').waitFor()
        }
        await page.waitForLoadState('networkidle')
        expect(await axeViolations(page), `${name} (${lang ?? 'pt-BR'})`).toEqual([])
      }
      expect(csp).toEqual([])
      await page.context().close()
    }
  })
})
