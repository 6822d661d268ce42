import { randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { testServiceAuth, waitFor } from '@ponte/testkit'
import { startAdmin } from './helpers.ts'
import { ENDPOINT, startOpsUpstreams } from './ops-upstreams.ts'

// The dashboard, traces and keys pages' API against the real trace service and the real auth-server, started as
// processes on their own schemas; the console reaches them only through their internal APIs with service tokens.
const auth = testServiceAuth()
let admin: Awaited<ReturnType<typeof startAdmin>>
let up: Awaited<ReturnType<typeof startOpsUpstreams>>

beforeAll(async () => {
  up = await startOpsUpstreams(auth)
  admin = await startAdmin({ auth, traceUrl: up.traceUrl, authServerUrl: up.authUrl, authServerCa: up.ca, dashboardCacheMs: 5_000 })
}, 120_000)
afterAll(async () => {
  await admin?.close()
  await up?.close()
})

describe('dashboard', () => {
  it('shows the last hour from trace: calls per minute, shares, p95 per tier, availability and the firing alert', async () => {
    const viewer = await admin.login(await admin.user(['viewer']))
    const read = async () => {
      const res = await admin.app.inject({ method: 'GET', url: '/api/dashboard', headers: viewer.headers })
      expect(res.statusCode, res.body).toBe(200)
      return res.json()
    }
    // Trace evaluates its alert rules every second here; the error share (10 of 30) fires.
    let d = await read()
    await waitFor(async () => {
      admin.clock.advance(6_000)
      d = await read()
      return d.alerts.some((a: { rule: string }) => a.rule === 'error-share')
    }, { timeoutMs: 20_000 })
    expect(d.totals).toMatchObject({ calls: 30, errors: 10, s429: 0 })
    expect(d.shares.errors).toBeCloseTo(1 / 3, 6)
    expect(d.minutes.reduce((n: number, m: { calls: number }) => n + m.calls, 0)).toBe(30)
    expect(d.tiers.find((t: { slaMs: number }) => t.slaMs === 4_000)).toMatchObject({ calls: 30, overShare: 0 })
    expect(d.availability.general).toBeLessThan(1)
    expect(d.alerts.find((a: { rule: string }) => a.rule === 'error-share').subject).toContain(ENDPOINT)

    // One answer serves every session for the cache period, then trace is read again.
    const again = await read()
    expect(again.generatedAt).toBe(d.generatedAt)
    admin.clock.advance(6_000)
    expect((await read()).generatedAt).not.toBe(d.generatedAt)
  })

  it('is refused to a role without dashboard:read', async () => {
    const auditor = await admin.login(await admin.user(['auditor']))
    expect((await admin.app.inject({ method: 'GET', url: '/api/dashboard', headers: auditor.headers })).statusCode).toBe(403)
  })
})

describe('traces', () => {
  it('finds calls by interaction id, by organisation and status class, and shows a call with its story', async () => {
    const viewer = await admin.login(await admin.user(['viewer']))
    const get = (url: string) => admin.app.inject({ method: 'GET', url, headers: viewer.headers })
    const byInteraction = await get(`/api/traces?interactionId=${up.target.interactionId}`)
    expect(byInteraction.statusCode, byInteraction.body).toBe(200)
    expect(byInteraction.json().calls.map((c: { eventId: string }) => c.eventId)).toEqual([up.target.eventId])
    const errors = (await get(`/api/traces?organisationId=${up.organisationId}&statusClass=5xx&limit=4`)).json()
    expect(errors.calls).toHaveLength(4)
    expect(errors.calls.every((c: { status: number }) => c.status === 500)).toBe(true)
    const next = (await get(`/api/traces?organisationId=${up.organisationId}&statusClass=5xx&limit=50&cursor=${encodeURIComponent(errors.nextCursor)}`)).json()
    expect(next.calls).toHaveLength(6)
    expect((await get(`/api/traces?consentId=${encodeURIComponent(up.consentId)}&status=500`)).json().calls).toHaveLength(1)
    const detail = await get(`/api/traces/${up.target.eventId}`)
    expect(detail.json()).toMatchObject({ call: { interactionId: up.target.interactionId, consentId: up.consentId }, story: [{ type: 'consent.authorised', consentId: up.consentId }] })
    expect((await get(`/api/traces/${randomUUID()}`)).statusCode).toBe(404)
    expect((await get('/api/traces?interactionId=not-a-uuid')).statusCode).toBe(400)
  })
})

describe('keys', () => {
  const jwks = async () => {
    const dispatcher = new Agent({ connect: { ca: up.ca } })
    try {
      const res = await request(`${up.authUrl}/jwks`, { dispatcher })
      return ((await res.body.json()) as { keys: Array<{ kid: string; use: string }> }).keys.map((k) => k.kid)
    } finally {
      await dispatcher.close()
    }
  }

  it('shows the auth-server keys and rotates them: new keys active and published, the old ones published for the grace period, audited', async () => {
    const secadmin = await admin.login(await admin.user(['security_admin']))
    const before = await admin.app.inject({ method: 'GET', url: '/api/keys', headers: secadmin.headers })
    expect(before.statusCode, before.body).toBe(200)
    const keys0 = before.json()
    expect(keys0).toMatchObject({ maxAgeDays: 90, rotationDue: false })
    expect(keys0.keys.map((k: { use: string; status: string }) => `${k.use}:${k.status}`).sort()).toEqual(['enc:active', 'sig:active'])
    const oldSig = keys0.keys.find((k: { use: string }) => k.use === 'sig').kid

    const rotated = await admin.app.inject({ method: 'POST', url: '/api/keys/rotate', headers: secadmin.headers, payload: { graceSeconds: 3_600 } })
    expect(rotated.statusCode, rotated.body).toBe(200)
    const r = rotated.json()
    expect(r.added).toHaveLength(2)
    expect(r.retiring.sort()).toEqual(keys0.keys.map((k: { kid: string }) => k.kid).sort())
    const newSig = r.keys.find((k: { use: string; status: string }) => k.use === 'sig' && k.status === 'active').kid
    expect(r.keys.find((k: { kid: string }) => k.kid === oldSig)).toMatchObject({ status: 'retiring', retireAt: expect.any(String) })
    // The auth-server that answered reloaded at once: its JWKS publishes the new signing key and, for now, the old one.
    const published = await jwks()
    expect(published).toContain(newSig)
    expect(published).toContain(oldSig)

    const { rows } = await admin.pool.query("select outcome, before, after, detail from audit_log where action = 'keys.rotate' order by seq desc limit 1")
    expect(rows[0]).toMatchObject({ outcome: 'success', before: { active: expect.arrayContaining([oldSig]) }, after: { active: expect.arrayContaining([newSig]) }, detail: { graceSeconds: 3_600 } })
  })

  it('is refused to a viewer, and the auth-server refuses a rotation asked by another service', async () => {
    const viewer = await admin.login(await admin.user(['viewer']))
    expect((await admin.app.inject({ method: 'GET', url: '/api/keys', headers: viewer.headers })).statusCode).toBe(403)
    expect((await admin.app.inject({ method: 'POST', url: '/api/keys/rotate', headers: viewer.headers, payload: {} })).statusCode).toBe(403)
    const dispatcher = new Agent({ connect: { ca: up.ca } })
    try {
      const res = await request(`${up.authUrl}/internal/keys/rotate`, {
        method: 'POST', dispatcher, body: '{}', headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await auth.issuer('gateway').sign('auth-server') },
      })
      expect(res.statusCode).toBe(403)
      await res.body.dump()
    } finally {
      await dispatcher.close()
    }
  })
})
