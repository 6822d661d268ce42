import { randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePorts } from '@ponte/testkit'
import { buildApp } from '../src/app.ts'
import { createSsoClient } from '../src/adapters/sso.ts'
import { currentTotp } from '../src/domain/totp.ts'
import { startAdmin } from './helpers.ts'
import { axeViolations, launchChromium, webDir } from './browser-helpers.ts'
import { startOpenIdProvider, type OpAccount } from './openid-provider.ts'

// Single sign-on against a real OpenID Provider (oidc-provider) started here, through the real login flow in
// Debian's Chromium: the console's button, the provider's login page, the callback, the console signed in.
const CLIENT = { id: 'ponte-console', secret: 'console-secret-0123456789' }

let admin: Awaited<ReturnType<typeof startAdmin>>
let op: Awaited<ReturnType<typeof startOpenIdProvider>>
let browser: Browser
let base = ''
const people: Record<string, OpAccount> = {}

function person(key: string, over: Partial<OpAccount>): OpAccount {
  const sub = `idp-${key}-${randomUUID().slice(0, 8)}`
  people[key] = { sub, email: `${sub}@bank.test`, emailVerified: true, name: `Person ${key}`, roles: ['viewer'], amr: ['pwd'], ...over }
  return people[key]
}

beforeAll(async () => {
  const [adminPort, opPort] = await freePorts(2)
  base = `http://localhost:${adminPort}`
  const redirectUri = `${base}/api/session/sso/callback`
  person('mfa', { roles: ['viewer', 'security_admin', 'not-a-console-role'], amr: ['pwd', 'otp'] })
  person('local', { roles: ['operator'] })
  person('noroles', { roles: ['bank-teller'] })
  person('onefactor', { roles: ['security_admin'] })
  op = await startOpenIdProvider({ port: opPort!, clientId: CLIENT.id, clientSecret: CLIENT.secret, redirectUri, accounts: Object.values(people) })
  admin = await startAdmin({
    webDir,
    sso: {
      issuer: op.issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret, redirectUri, scopes: 'openid email profile', rolesClaim: 'ponte_roles', roleMap: {},
      mfaAcrValues: [], linkByEmail: true, createUsers: true, allowInsecure: true,
    },
  })
  await admin.app.listen({ host: '127.0.0.1', port: adminPort! })
  browser = await launchChromium()
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await admin?.close()
  await op?.close()
})

/** Opens the console, chooses single sign-on, and signs in at the provider as `who`. */
async function ssoLogin(who: OpAccount): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  page.setDefaultTimeout(10_000)
  await page.goto(`${base}/`)
  await page.getByRole('link', { name: 'Entrar com o provedor de identidade do banco' }).click()
  await page.getByLabel('IdP user').fill(who.sub)
  await page.getByRole('button', { name: 'Continue to the console' }).click()
  await page.waitForURL((u) => u.href.startsWith(base))
  return page
}

/** A change that needs a session opened with a second factor (`staff:write`), made from the page. */
async function createStaffFromPage(page: Page): Promise<number> {
  return page.evaluate(async (email) => {
    const s = (await (await fetch('/api/session')).json()) as { csrfToken: string }
    const res = await fetch('/api/staff', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: JSON.stringify({ email, name: 'New', password: 'a-long-password-1', roles: ['viewer'] }) })
    return res.status
  }, `new-${randomUUID()}@bank.test`)
}

async function staffRow(email: string) {
  const { rows } = await admin.pool.query<{ user_id: string; roles: string[]; sso_issuer: string | null; sso_subject: string | null; password_hash: string | null }>(
    'select user_id, roles, sso_issuer, sso_subject, password_hash from staff_users where email = $1', [email])
  return rows[0]
}

async function lastLogin(email: string) {
  const { rows } = await admin.pool.query<{ action: string; outcome: string; detail: Record<string, unknown>; before: unknown; after: unknown }>(
    "select action, outcome, detail, before, after from audit_log where actor_email = $1 and action like 'login%' order by seq desc limit 1", [email])
  return rows[0]
}

describe('single sign-on with the bank\'s OpenID Provider', () => {
  it('creates the account with the roles of the claim and skips the TOTP when the provider asserts two factors', async () => {
    const who = people.mfa!
    const page = await ssoLogin(who)
    await page.getByRole('navigation').waitFor()
    expect(await page.getByRole('link', { name: 'Chaves' }).count()).toBe(1)
    const row = await staffRow(who.email)
    expect(row).toMatchObject({ roles: ['security_admin', 'viewer'], sso_issuer: op.issuer, sso_subject: who.sub, password_hash: null })
    expect(await lastLogin(who.email)).toMatchObject({ action: 'login', outcome: 'success', after: { roles: ['security_admin', 'viewer'] }, detail: { method: 'sso', link: 'created', mfa: true, amr: ['pwd', 'otp'] } })
    // The session was opened with a second factor: a change is accepted.
    expect(await createStaffFromPage(page)).toBe(201)
    await page.context().close()
  })

  it('links a local account by its verified e-mail and asks its TOTP code when the provider asserts one factor', async () => {
    const local = await admin.staff.create({ email: people.local!.email, name: 'Local', password: 'correct-horse-7-battery', roles: ['operator'] })
    const page = await ssoLogin(people.local!)
    await page.getByText('O provedor de identidade não confirmou um segundo fator').waitFor()
    expect(await axeViolations(page), 'code step after single sign-on').toEqual([])
    await page.getByLabel('Código').fill(currentTotp(local.totpSecret!, admin.clock.now()))
    await page.getByRole('button', { name: 'Confirmar' }).click()
    await page.getByRole('navigation').waitFor()
    admin.clock.advance(90_000)
    expect(new URL(page.url()).searchParams.has('sso')).toBe(false)
    expect(await staffRow(local.email)).toMatchObject({ user_id: local.userId, sso_subject: people.local!.sub })
    const { rows } = await admin.pool.query("select action, detail from audit_log where actor_id = $1 and action like 'login%' order by seq", [local.userId])
    expect(rows.map((r) => [r.action, r.detail.link ?? null, r.detail.next ?? null, r.detail.mfa ?? null])).toEqual([['login.sso', 'linked', 'totp', null], ['login', null, null, true]])
    await page.context().close()
  })

  it('opens a session that changes nothing for an account without TOTP when the provider asserts one factor', async () => {
    const page = await ssoLogin(people.onefactor!)
    await page.getByRole('navigation').waitFor()
    expect(await lastLogin(people.onefactor!.email)).toMatchObject({ outcome: 'success', detail: { link: 'created', mfa: false } })
    expect(await createStaffFromPage(page)).toBe(403)
    await page.context().close()
  })

  it('refuses an identity with no console role in the claim, and says so on the login page', async () => {
    const page = await ssoLogin(people.noroles!)
    await page.getByRole('alert').filter({ hasText: 'O login pelo provedor de identidade não foi aceito.' }).waitFor()
    expect(await axeViolations(page), 'login page with single sign-on').toEqual([])
    expect(await staffRow(people.noroles!.email)).toBeUndefined()
    expect(await lastLogin(people.noroles!.email)).toMatchObject({ outcome: 'failure', detail: { method: 'sso', roles: [], reason: expect.stringContaining('no console role') } })
    await page.context().close()
  })

  it('refuses a callback without the browser binding, goes back to the login page when the provider is down, and answers 404 when single sign-on is off', async () => {
    const res = await admin.app.inject({ method: 'GET', url: '/api/session/sso/callback?code=abc&state=def' })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/?sso=failed')
    const start = await admin.app.inject({ method: 'GET', url: '/api/session/sso/start' })
    expect(start.statusCode).toBe(303)
    const to = new URL(start.headers.location!)
    expect(to.origin).toBe(op.issuer)
    expect(to.searchParams.get('code_challenge_method')).toBe('S256')
    expect(to.searchParams.get('state')).toBeTruthy()
    expect(String(start.headers['set-cookie'])).toMatch(/^__Host-ponte-admin-sso=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=300$/)

    // A provider that cannot be reached sends the browser back to the login page, audited.
    const down = buildApp({ ...admin.deps, sso: createSsoClient({ ...admin.deps.sso!.settings, issuer: 'http://127.0.0.1:9' }, admin.redis, admin.prefix) })
    await down.ready()
    const refused = await down.inject({ method: 'GET', url: '/api/session/sso/start' })
    expect([refused.statusCode, refused.headers.location]).toEqual([303, '/?sso=failed'])
    await down.close()
    const { rows } = await admin.pool.query("select detail from audit_log where action = 'login' and detail->>'step' = 'start' order by seq desc limit 1")
    expect(rows[0].detail).toMatchObject({ method: 'sso', issuer: 'http://127.0.0.1:9', reason: expect.stringContaining('could not be discovered') })

    const off = buildApp({ ...admin.deps, sso: undefined })
    await off.ready()
    expect((await off.inject({ method: 'GET', url: '/api/session/sso' })).json()).toEqual({ enabled: false })
    expect((await off.inject({ method: 'GET', url: '/api/session/sso/start' })).statusCode).toBe(404)
    await off.close()
  })
})
