import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { StaffUser } from '../src/adapters/staff-store.ts'
import { currentTotp } from '../src/domain/totp.ts'
import { PASSWORD } from './helpers.ts'

// The built console in Debian's Chromium. `make install` builds web/dist; CI installs chromium (.ci/run).
export const webDir = fileURLToPath(new URL('../web/dist', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** The pt-BR labels of the login form; English ones for `?lang=en`. */
export const LOGIN_EN = { email: 'E-mail', password: 'Password', code: 'Code', submit: 'Sign in', confirm: 'Confirm' }

/** Chromium, once web/dist and the browser are there. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(`${webDir}/index.html`)) throw new Error('services/admin/web/dist is missing: run make install')
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`)
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}

/** What the browser tests do on the console served at `base` (both read once started), whose TOTP clock is `clock`. */
export function consoleBrowser(browser: () => Browser, base: () => string, clock: { now(): Date; advance(ms: number): void }) {
  /** A fresh browser context; collects CSP violations reported on the console. */
  async function open(lang?: 'en'): Promise<{ page: Page; csp: string[] }> {
    const context = await browser().newContext()
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    const csp: string[] = []
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) csp.push(m.text()) })
    await page.goto(`${base()}/${lang ? `?lang=${lang}` : ''}`)
    return { page, csp }
  }

  async function signIn(page: Page, u: StaffUser, labels = { email: 'E-mail', password: 'Senha', code: 'Código', submit: 'Entrar', confirm: 'Confirmar' }) {
    await page.getByLabel(labels.email).fill(u.email)
    await page.getByLabel(labels.password, { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: labels.submit }).click()
    if (u.totpSecret) {
      await page.getByLabel(labels.code).fill(currentTotp(u.totpSecret, clock.now()))
      await page.getByRole('button', { name: labels.confirm }).click()
    }
    await page.getByRole('navigation').or(page.getByRole('alert')).first().waitFor()
    const alert = page.getByRole('alert')
    if (await alert.count()) throw new Error(`sign-in refused: ${await alert.textContent()}`)
    // Each TOTP step is accepted once per account: later sign-ins happen at a later step.
    if (u.totpSecret) clock.advance(90_000)
  }

  /** axe-core on the current page: the serious and critical violations. */
  async function axeViolations(page: Page): Promise<string[]> {
    await page.evaluate(axeSource)
    const result = await page.evaluate(async () => {
      const g = globalThis as unknown as { document: unknown; axe: { run(ctx: unknown, o: object): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown; failureSummary?: string }> }> }> } }
      return g.axe.run(g.document, { resultTypes: ['violations'] })
    })
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} ${JSON.stringify(v.nodes.map((n) => [n.target, n.failureSummary]))}`)
  }

  return { open, signIn, axeViolations }
}
