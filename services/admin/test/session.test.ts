import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hash } from '@node-rs/argon2'
import { CONTENT_SECURITY_POLICY, PENDING_COOKIE, SESSION_COOKIE } from '../src/adapters/http-security.ts'
import { currentTotp } from '../src/domain/totp.ts'
import { ROLE_PERMISSIONS } from '../src/domain/roles.ts'
import { PASSWORD, cookieLine, cookieValue, startAdmin } from './helpers.ts'

let admin: Awaited<ReturnType<typeof startAdmin>>
beforeAll(async () => { admin = await startAdmin({ throttle: { perAccount: 3, perAddress: 6 } }) })
afterAll(async () => { await admin.close() })

async function passwordStep(email: string, password: string, address = '10.0.0.1') {
  return admin.app.inject({ method: 'POST', url: '/api/session/login', payload: { email, password }, remoteAddress: address })
}

describe('staff accounts', () => {
  it('stores argon2id hashes, never the password', async () => {
    const u = await admin.user(['viewer'])
    const { rows } = await admin.pool.query<{ password_hash: string }>('select password_hash from staff_users where user_id = $1', [u.userId])
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(rows[0]!.password_hash).not.toContain(PASSWORD)
  })

  it('enrols TOTP for every role that can change something, and not for read-only roles', async () => {
    for (const role of ['operator', 'consent_officer', 'security_admin'] as const) expect((await admin.user([role])).totpSecret).toMatch(/^[A-Z2-7]{32}$/)
    for (const role of ['viewer', 'auditor'] as const) expect((await admin.user([role])).totpSecret).toBeUndefined()
  })

  it('refuses a weak password and a database row that is not argon2id', async () => {
    await expect(admin.staff.create({ email: 'weak@bank.test', name: 'W', password: 'short1', roles: ['viewer'] })).rejects.toThrow(/12 to 256/)
    await expect(admin.pool.query(`insert into staff_users (user_id, email, name, password_hash, roles) values (gen_random_uuid(), 'x@bank.test', 'x', $1, '{viewer}')`,
      [await hash('whatever-12345', { algorithm: 0 })])).rejects.toThrow(/check constraint/)
  })
})

describe('login', () => {
  it('asks for the TOTP code after the password, then opens a session with strict cookies', async () => {
    const u = await admin.user(['consent_officer'])
    const first = await passwordStep(u.email, PASSWORD)
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ status: 'totp_required' })
    expect(cookieValue(first.headers['set-cookie'], SESSION_COOKIE)).toBeUndefined()
    const pendingLine = cookieLine(first.headers['set-cookie'], PENDING_COOKIE)!
    expect(pendingLine).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=300$/)
    const pending = cookieValue(first.headers['set-cookie'], PENDING_COOKIE)

    // The password alone opens nothing.
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: { cookie: `${PENDING_COOKIE}=${pending}` } })).statusCode).toBe(401)

    const second = await admin.app.inject({ method: 'POST', url: '/api/session/totp', payload: { code: currentTotp(u.totpSecret!, admin.clock.now()) }, headers: { cookie: `${PENDING_COOKIE}=${pending}` } })
    expect(second.statusCode).toBe(200)
    expect(second.json()).toMatchObject({ status: 'signed_in', user: { email: u.email, roles: ['consent_officer'], permissions: [...ROLE_PERMISSIONS.consent_officer].sort() } })
    const line = cookieLine(second.headers['set-cookie'], SESSION_COOKIE)!
    expect(line).toMatch(/^__Host-ponte-admin=[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/)
    const cookie = `${SESSION_COOKIE}=${cookieValue(second.headers['set-cookie'], SESSION_COOKIE)}`
    const me = await admin.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } })
    expect(me.statusCode).toBe(200)
    expect(me.json().user.email).toBe(u.email)
    expect(me.json().csrfToken).toBe(second.json().csrfToken)
    expect(JSON.stringify(me.json())).not.toContain(u.totpSecret)
    // Redis holds a hash of the cookie, not the cookie.
    expect(await admin.redis.keys(`${admin.prefix}:session:${cookie.split('=')[1]}`)).toEqual([])
  })

  it('refuses a wrong code, and a right code used twice', async () => {
    const u = await admin.user(['operator'])
    const pending = async () => cookieValue((await passwordStep(u.email, PASSWORD, '10.0.1.1')).headers['set-cookie'], PENDING_COOKIE)
    const p1 = await pending()
    const good = currentTotp(u.totpSecret!, admin.clock.now())
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0')
    const bad = await admin.app.inject({ method: 'POST', url: '/api/session/totp', payload: { code: wrong }, headers: { cookie: `${PENDING_COOKIE}=${p1}` }, remoteAddress: '10.0.1.1' })
    expect(bad.statusCode).toBe(401)
    expect(bad.json().errors[0].detail).toBe('e-mail, password or code is wrong')
    const ok = await admin.app.inject({ method: 'POST', url: '/api/session/totp', payload: { code: good }, headers: { cookie: `${PENDING_COOKIE}=${p1}` }, remoteAddress: '10.0.1.1' })
    expect(ok.statusCode).toBe(200)
    const p2 = await pending()
    const replay = await admin.app.inject({ method: 'POST', url: '/api/session/totp', payload: { code: good }, headers: { cookie: `${PENDING_COOKIE}=${p2}` }, remoteAddress: '10.0.1.1' })
    expect(replay.statusCode).toBe(401)
    const { rows } = await admin.pool.query("select outcome, detail from audit_log where actor_email = $1 and action = 'login' order by seq", [u.email])
    expect(rows.map((r) => [r.outcome, r.detail?.reason ?? null])).toEqual([['failure', 'wrong code'], ['success', null], ['failure', 'code already used']])
  })

  it('answers the same refusal for an unknown e-mail and a wrong password, and audits both', async () => {
    const u = await admin.user(['viewer'])
    const unknown = await passwordStep('nobody@bank.test', PASSWORD, '10.0.2.1')
    const wrong = await passwordStep(u.email, 'not-the-password-1', '10.0.2.2')
    expect([unknown.statusCode, wrong.statusCode]).toEqual([401, 401])
    expect(unknown.json().errors[0].detail).toBe(wrong.json().errors[0].detail)
    const { rows } = await admin.pool.query("select actor_email, address, outcome from audit_log where action = 'login' and address in ('10.0.2.1', '10.0.2.2') order by seq")
    expect(rows).toEqual([{ actor_email: 'nobody@bank.test', address: '10.0.2.1', outcome: 'failure' }, { actor_email: u.email, address: '10.0.2.2', outcome: 'failure' }])
  })

  it('throttles an account after its failures, from any address, even with the right password', async () => {
    const u = await admin.user(['viewer'])
    for (let i = 0; i < 3; i++) expect((await passwordStep(u.email, 'wrong-password-1', `10.1.0.${i}`)).statusCode).toBe(401)
    const locked = await passwordStep(u.email, PASSWORD, '10.1.0.99')
    expect(locked.statusCode).toBe(429)
    expect(locked.headers['retry-after']).toBe('60')
  })

  it('throttles an address that tries many accounts', async () => {
    for (let i = 0; i < 6; i++) expect((await passwordStep(`guess${i}@bank.test`, 'wrong-password-1', '10.2.0.1')).statusCode).toBe(401)
    const u = await admin.user(['viewer'])
    expect((await passwordStep(u.email, PASSWORD, '10.2.0.1')).statusCode).toBe(429)
    expect((await passwordStep(u.email, PASSWORD, '10.2.0.2')).statusCode).toBe(200)
  })

  it('refuses a disabled account', async () => {
    const u = await admin.user(['viewer'])
    await admin.staff.update(u.userId, { disabled: true })
    expect((await passwordStep(u.email, PASSWORD, '10.3.0.1')).statusCode).toBe(401)
  })
})

describe('sessions', () => {
  it('ends at the absolute timeout however busy', async () => {
    const u = await admin.user(['viewer'])
    const s = await admin.login(u)
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(200)
    admin.clock.advance(28_800_000 + 1_000)
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(401)
  })

  it('ends when left idle', async () => {
    const idle = await startAdmin({ timeouts: { idleS: 1 } })
    try {
      const s = await idle.login(await idle.user(['viewer']))
      expect((await idle.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(200)
      const key = (await idle.redis.keys(`${idle.prefix}:session:*`))[0]!
      expect(await idle.redis.ttl(key)).toBe(1)
      await new Promise((r) => setTimeout(r, 2_100))
      expect((await idle.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(401)
    } finally {
      await idle.close()
    }
  })

  it('logs out one session, or every session of the member', async () => {
    const u = await admin.user(['viewer'])
    const a = await admin.login(u)
    const b = await admin.login(u)
    const c = await admin.login(u)
    const out = await admin.app.inject({ method: 'POST', url: '/api/session/logout', headers: a.headers })
    expect(out.statusCode).toBe(204)
    expect(cookieLine(out.headers['set-cookie'], SESSION_COOKIE)).toMatch(/^__Host-ponte-admin=; .*Max-Age=0$/)
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: a.headers })).statusCode).toBe(401)
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: b.headers })).statusCode).toBe(200)
    expect((await admin.app.inject({ method: 'POST', url: '/api/session/logout-all', headers: b.headers })).statusCode).toBe(204)
    for (const s of [b, c]) expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(401)
  })

  it('ends the sessions of an account when it is disabled', async () => {
    const u = await admin.user(['viewer'])
    const s = await admin.login(u)
    await admin.pool.query('update staff_users set disabled = true where user_id = $1', [u.userId])
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(401)
  })
})

describe('CSRF and headers', () => {
  it('refuses a state change without the session CSRF token, with a wrong one, or from another site', async () => {
    const s = await admin.login(await admin.user(['viewer']))
    const post = (headers: Record<string, string>) => admin.app.inject({ method: 'POST', url: '/api/session/logout', headers })
    expect((await post({ cookie: s.cookie })).statusCode).toBe(403)
    expect((await post({ cookie: s.cookie, 'x-csrf-token': `${s.csrf.slice(0, -1)}${s.csrf.endsWith('A') ? 'B' : 'A'}` })).json().errors[0].detail).toBe('missing or wrong CSRF token')
    expect((await post({ ...s.headers, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403)
    expect((await admin.app.inject({ method: 'GET', url: '/api/session', headers: s.headers })).statusCode).toBe(200)
    expect((await post(s.headers)).statusCode).toBe(204)
  })

  it('refuses a login posted as a form (only JSON is accepted)', async () => {
    const res = await admin.app.inject({ method: 'POST', url: '/api/session/login', payload: 'email=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(res.statusCode).toBe(415)
  })

  it('sends the security headers on every answer, errors included', async () => {
    for (const url of ['/api/session', '/api/nothing-here', '/healthz']) {
      const res = await admin.app.inject({ method: 'GET', url })
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
      expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains')
      expect(res.headers['x-frame-options']).toBe('DENY')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'")
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self';")
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline')
  })
})
