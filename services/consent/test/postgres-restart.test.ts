import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator, startPrivatePostgres, waitFor, type PrivatePostgres } from '@ponte/testkit'
import { ACCOUNTS, CPF, startConsentApp, type TestConsentApp } from './helpers.ts'

const spec = specValidator('consents-v3.3.1.yaml')

interface Answer { status: number; body: { data?: { consentId: string }; errors?: Array<{ code: string }>; meta?: unknown }; retryAfter?: string; at: number }

// A primary restart (docs/operations/postgres.md#a-primary-restart) on a PostgreSQL of this test's own (initdb in a
// temp dir, its own port; the shared server is never touched): consents keep being created while the server stops
// (fast shutdown: sessions ended, open transactions rolled back) and starts again.
describe('a PostgreSQL restart under load', () => {
  let server: PrivatePostgres
  let t: TestConsentApp
  beforeAll(async () => {
    server = await startPrivatePostgres()
    t = await startConsentApp({ prefix: 'consent_restart', databaseUrl: server.url() })
  }, 60_000)
  afterAll(async () => {
    await t?.close()
    await server?.stop()
  })

  it('answers 503 in the OFB envelope while it is down, reconnects by itself, and leaves nothing half-written', async () => {
    const answers: Answer[] = []
    let stop = false
    const worker = async () => {
      while (!stop) {
        const res = await t.app.inject({
          method: 'POST', url: '/open-banking/consents/v3/consents', headers: await t.tpp(),
          payload: { data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: ACCOUNTS } },
        })
        answers.push({ status: res.statusCode, body: res.json(), at: Date.now(), ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) })
        if (res.statusCode !== 201) await new Promise((r) => setTimeout(r, 25))
      }
    }
    const load = Array.from({ length: 4 }, worker)
    try {
      await waitFor(() => answers.filter((a) => a.status === 201).length >= 20 || undefined, { timeoutMs: 20_000, what: 'consents before the restart' })
      await server.restart({ downMs: 1_000 })
      const upAt = Date.now()
      // The same app and pool, never rebuilt: creations succeed again once the server is back.
      await waitFor(() => answers.some((a) => a.at > upAt && a.status === 201) || undefined, { timeoutMs: 20_000, what: 'a consent after the restart' })
    } finally {
      stop = true
      await Promise.all(load)
    }

    const refused = answers.filter((a) => a.status !== 201)
    expect(refused.length).toBeGreaterThan(0)
    for (const r of refused) {
      expect(r.status, JSON.stringify(r.body)).toBe(503)
      expect(r.body.errors?.[0]?.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(r.retryAfter).toBe('1')
      // The official error envelope (errors[] + meta; the spec lists it under its 5xx answers).
      spec.assert('post', '/consents', 500, r.body)
    }
    // Nothing half-written: every created consent is stored with exactly its one creation event, and every stored
    // consent and event belong together (a rolled-back creation left neither).
    const created = answers.filter((a) => a.status === 201).map((a) => a.body.data!.consentId)
    const { rows: stored } = await t.pool.query<{ consent_id: string }>('select consent_id from consents')
    const { rows: events } = await t.pool.query<{ key: string; n: number }>(`select key, count(*)::int as n from outbox group by key`)
    expect(stored.map((r) => r.consent_id)).toEqual(expect.arrayContaining(created))
    expect(events.map((e) => e.key).sort()).toEqual(stored.map((r) => r.consent_id).sort())
    expect(events.every((e) => e.n === 1)).toBe(true)
  }, 90_000)
})
