// docs/tpp-first-hour.md, run as written: the platform started as `make up` starts it (each service its own process,
// services/gateway/test/e2e/stack.ts), then every `pnpm ponte tpp` command of the page's bash blocks in order, as a
// developer types them (`node scripts/ponte.ts`, the same entry `pnpm ponte` runs), the browser steps in Debian's
// Chromium with the demo customer the page names. Placeholders (`<accountId>`, `<the address the browser landed on>`)
// are filled from what the earlier commands printed, as the page tells the reader to.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { repoRoot, specValidator } from '@ponte/testkit'
import { startE2eStack, type E2eStack } from '../../../services/gateway/test/e2e/stack.ts'
import { authoriseInBrowser, launchChromium } from './support/browser.ts'

const run = promisify(execFile)
const doc = readFileSync(`${repoRoot}docs/tpp-first-hour.md`, 'utf8')

/** The `pnpm ponte tpp …` lines of the page's bash blocks, in order. */
export function documentedCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!)
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.startsWith('pnpm ponte tpp '))
}

/** Shell words of a command line (double and single quotes, no expansion). */
function words(line: string): string[] {
  const out: string[] = []
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!)
  return out
}

/** The demo customer the page logs in as, and the TOTP secret it gives. */
const customer = {
  cpf: /CPF `(\d{11})` and password `([^`]+)`/.exec(doc)![1]!,
  password: /CPF `(\d{11})` and password `([^`]+)`/.exec(doc)![2]!,
  totpSecret: /oathtool --totp -b (\w+)/.exec(doc)![1]!,
}

describe('docs/tpp-first-hour.md, command by command, against the platform as `make up` runs it', () => {
  let stack: E2eStack
  let browser: Browser
  const bundle = mkdtempSync(join(tmpdir(), 'ponte-first-hour-'))

  beforeAll(async () => {
    ;[stack, browser] = await Promise.all([startE2eStack(), launchChromium()])
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await stack?.stop()
    rmSync(bundle, { recursive: true, force: true })
  }, 60_000)

  it('lists the whole journey', () => {
    const subs = documentedCommands(doc).map((c) => words(c)[3])
    expect(subs).toEqual(['onboard', 'register', 'consent', 'callback', 'call', 'call', 'call', 'payment-consent', 'callback', 'pay', 'call', 'call'])
  })

  it('runs every documented command in order: onboard → register → consent → browser → callback → calls → payment consent → browser with TOTP → callback → pay → revoke', async () => {
    const transcript: string[] = []
    onTestFailed(() => {
      console.error(transcript.join('\n').slice(-8000))
      for (const name of ['auth-server', 'gateway', 'consent', 'connectors']) {
        const lines = stack.output(name).filter((l) => !l.includes('"level":"info"')).slice(-10)
        if (lines.length) console.error(`--- ${name}\n${lines.join('\n')}`)
      }
    })
    const env = { ...process.env, DIRECTORY_SANDBOX_URL: stack.sandboxUrl, FORCE_COLOR: '0' }
    const outputs: string[] = []
    let landed: string | undefined
    /** The first `"name": "value"` an earlier command printed. */
    const printed = (name: string) => {
      for (const o of outputs) {
        const m = new RegExp(`"${name}": "([^"]+)"`).exec(o)
        if (m) return m[1]!
      }
      throw new Error(`no ${name} printed before it is needed`)
    }
    const validators = { accounts: specValidator('accounts-v2.5.1.yaml'), resources: specValidator('resources-v3.1.0.yaml') }

    for (const line of documentedCommands(doc)) {
      const args = words(line).slice(2).map((w) => w
        .replace(/^\.\/my-tpp$/, bundle)
        .replace('<the address the browser landed on>', () => {
          if (!landed) throw new Error(`${line}: no browser step before it`)
          return landed
        })
        .replace(/<(\w+)>/g, (_m, name: string) => printed(name)))
      transcript.push(`$ ${line}`)
      if (args[1] === 'callback' && landed) {
        // First an address whose state is not the pending one: refused, and the pending authorisation is kept.
        const forged = landed.replace(/([#&]state=)[^&]+/, '$1forged-state')
        const refused = await run(process.execPath, [`${repoRoot}scripts/ponte.ts`, 'tpp', 'callback', '--bundle', bundle, forged], { cwd: repoRoot, env })
          .then(() => undefined, (err: { stderr?: string }) => err.stderr ?? 'refused')
        expect(refused, 'a callback with another state').toMatch(/the state in the address is not the pending authorisation's/)
      }
      const { stdout } = await run(process.execPath, [`${repoRoot}scripts/ponte.ts`, ...args], { cwd: repoRoot, env, maxBuffer: 16 << 20, timeout: 120_000 })
        .catch((err: { stdout?: string; stderr?: string; message: string }) => {
          transcript.push(err.stdout ?? '', err.stderr ?? '')
          throw new Error(`${line} failed: ${err.stderr || err.message}`)
        })
      transcript.push(stdout)
      outputs.push(stdout)
      const sub = args[1]
      if (sub === 'onboard') expect(stdout).toContain('TPP onboarded in the sandbox directory')
      if (sub === 'register') {
        expect(stdout).toMatch(/< 201 Created/)
        const state = JSON.parse(readFileSync(join(bundle, 'tpp-state.json'), 'utf8')) as { client: { clientId: string; registrationAccessToken: string } }
        expect(stdout).toContain(`client_id                  ${state.client.clientId}`)
        expect(state.client.registrationAccessToken).toMatch(/\S{20,}/)
        // The state holds tokens and the PKCE verifier: its owner's only.
        expect(statSync(join(bundle, 'tpp-state.json')).mode & 0o777).toBe(0o600)
      }
      if (sub === 'consent' || sub === 'payment-consent') {
        expect(stdout).toMatch(sub === 'consent' ? /< 201 Created[\s\S]*"status": "AWAITING_AUTHORISATION"/ : /signed answer: PS256 by the bank's key .* verified[\s\S]*"status": "AWAITING_AUTHORISATION"/)
        const url = /^https:\/\/\S+\/auth\?request_uri=\S+$/m.exec(stdout)?.[0]
        expect(url, 'the URL to open in the browser').toBeDefined()
        // The browser step of the page: the demo customer logs in (and gives the TOTP code when asked) and authorises.
        const result = await authoriseInBrowser(browser, url!, 'https://tpp.example/cb', customer)
        transcript.push(`(browser: ${result.pages.join(' → ')} → ${result.landed.slice(0, 60)}…)`)
        expect(result.pages).toEqual(sub === 'consent'
          ? ['Entrar · Banco Ponte', 'Revise o compartilhamento · Banco Ponte']
          : ['Entrar · Banco Ponte', 'Confirme com seu código · Banco Ponte', 'Revise o pagamento · Banco Ponte'])
        landed = result.landed
      }
      if (sub === 'callback') {
        expect(stdout).toContain('the id_token was decrypted (RSA-OAEP, A256GCM) and verified')
        expect(stdout).toMatch(outputs.length > 6 ? /"acr": "urn:brasil:openbanking:loa3"/ : /"acr": "urn:brasil:openbanking:loa2"/)
        landed = undefined
      }
      if (sub === 'call') {
        const status = /^< (\d{3}) /m.exec(stdout)?.[1]
        expect(status, line).toMatch(/^20[04]$/)
        // The answers printed are the bank's, valid against the official specs.
        const body = /^< 200 [^\n]*\n(?: {2}[a-z-]+: [^\n]*\n)*([\s\S]*)$/m.exec(stdout)?.[1]
        if (line.includes('GET /open-banking/accounts/v2/accounts')) validators.accounts.assert('GET', '/accounts', 200, JSON.parse(body!))
        if (line.includes('resources/list-resources.json')) validators.resources.assert('GET', '/resources', 200, JSON.parse(body!))
        if (line.includes('balances.json')) validators.accounts.assert('GET', '/accounts/{accountId}/balances', 200, JSON.parse(body!))
        if (line.includes('/pix/payments/')) expect(stdout).toMatch(/"status": "ACSC"/)
        if (line.includes('revoke-consent.json')) expect(status).toBe('204')
      }
      if (sub === 'pay') expect(stdout).toMatch(/^Payment \S+: ACSC\.$/m)
    }
  }, 240_000)

  it('bulk onboarding writes one bundle per TPP and reports its progress in plain lines when not on a terminal', async () => {
    const out = join(bundle, 'bulk')
    const res = await run(process.execPath, [`${repoRoot}scripts/ponte.ts`, 'tpp', 'onboard', '--name', 'Carga', '--redirect-uri', 'https://tpp.example/cb', '--out', out, '--count', '3'], {
      cwd: repoRoot, env: { ...process.env, DIRECTORY_SANDBOX_URL: stack.sandboxUrl }, timeout: 120_000,
    })
    const lines = res.stderr.split('\n').filter(Boolean)
    expect(lines[0]).toBe(`onboard: onboarding 3 TPPs in ${stack.sandboxUrl} 0/3 TPPs (0%) …`)
    expect(lines.at(-1)).toMatch(/^onboard: onboarding 3 TPPs in \S+ 3\/3 TPPs \(100%\), [\d.,]+ TPPs\/s, done in \d+ s$/)
    const rows = res.stdout.split('\n').filter((l) => /^ {2}00[1-3] {2}/.test(l))
    expect(rows).toHaveLength(3)
    const orgs = new Set<string>()
    for (const n of ['001', '002', '003']) {
      const ss = JSON.parse(readFileSync(join(out, n, 'software-statement.json'), 'utf8')) as { organisationId: string }
      orgs.add(ss.organisationId)
      expect(statSync(join(out, n, 'transport.key.pem')).mode & 0o777).toBe(0o600)
    }
    expect(orgs.size).toBe(3)
  }, 120_000)
})
