/**
 * The customer's side of the first hour, in Debian's Chromium (playwright-core, no downloaded browser): open the URL
 * a `consent` command printed, log in, give the TOTP code when asked, tick the offered accounts (or the first debtor
 * account), press Autorizar, and return the address the browser lands on (the TPP's redirect URI, with the fragment).
 */
import { createHmac } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`)
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
}

/** RFC 6238 (SHA-1, 30 s, 6 digits) of a base32 secret: what `oathtool --totp -b SECRET` prints. */
export function totp(secretBase32: string, now = Date.now()): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secretBase32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)))
  const h = createHmac('sha1', key).update(counter).digest()
  const o = h[h.length - 1]! & 0xf
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

export interface Customer { cpf: string; password: string; totpSecret?: string }

/** Drives the bank's pages from `url` until the browser reaches `redirectUri`; that address (with its fragment). */
export async function authoriseInBrowser(browser: Browser, url: string, redirectUri: string, customer: Customer): Promise<{ landed: string; pages: string[] }> {
  // The development CA is not in Chromium's store: its certificates are accepted in this context only.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'pt-BR' })
  const pages: string[] = []
  try {
    const page = await context.newPage()
    // The TPP's redirect URI is not served here (its host does not resolve): the address the browser is sent to, with
    // its fragment, is the bank's redirect's Location.
    let landed: string | undefined
    page.on('response', (res) => {
      const location = res.headers().location
      if (res.status() >= 300 && res.status() < 400 && location?.startsWith(redirectUri)) landed = location
    })
    await page.goto(url)
    for (let step = 0; step < 8; step++) {
      if (landed) return { landed, pages }
      const here = page.url()
      const title = await page.title()
      pages.push(title)
      if (await page.locator('input[name="cpf"]').count()) {
        await page.fill('input[name="cpf"]', customer.cpf)
        await page.fill('input[name="senha"]', customer.password)
      } else if (await page.locator('input[name="codigo"]').count()) {
        if (!customer.totpSecret) throw new Error('the bank asks for a TOTP code and the customer has no secret')
        await page.fill('input[name="codigo"]', totp(customer.totpSecret))
      } else if (await page.locator('button[value="authorise"]').count()) {
        for (const box of await page.locator('input[type="checkbox"][name="resource"]').all()) await box.check()
        const radio = page.locator('input[type="radio"][name="debtorAccount"]')
        if (await radio.count()) await radio.first().check()
        await Promise.all([page.waitForURL((u) => u.href !== here).catch(() => undefined), page.click('button[value="authorise"]')])
        continue
      } else {
        throw new Error(`unexpected page "${title}" at ${here}: ${(await page.locator('body').innerText()).slice(0, 400)}`)
      }
      await Promise.all([page.waitForURL((u) => u.href !== here).catch(() => undefined), page.click('button[type="submit"]')])
      if (!landed && page.url() === here) throw new Error(`the page "${title}" did not move on: ${(await page.locator('body').innerText()).slice(0, 400)}`)
    }
    throw new Error(`did not reach ${redirectUri} after ${pages.join(' → ')}`)
  } finally {
    await context.close()
  }
}
