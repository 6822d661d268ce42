import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aCall, startTrace, stored, type TraceTest } from './support.ts'

describe('call search (internal API)', () => {
  let t: TraceTest
  let headers: Record<string, string>
  const target = aCall({
    receivedAt: '2026-12-06T10:00:00.000Z', organisationId: 'org-a', clientId: 'client-a', consentId: 'urn:bank:consent-a', paymentId: 'pay-a',
    endpoint: '/open-banking/accounts/v2/accounts/{accountId}', status: 404, errorCode: 'NAO_ENCONTRADO cpf 76109277673', traceId: 'a'.repeat(32),
  })
  const targetId = randomUUID()
  beforeAll(async () => {
    t = await startTrace('trace_search')
    headers = await t.asAdmin()
    const others = Array.from({ length: 30 }, (_, i) => stored(aCall({ receivedAt: new Date(Date.parse('2026-12-06T09:00:00Z') + i * 60_000).toISOString(), status: i % 3 === 0 ? 500 : 200 })))
    await t.store.ingest([stored(target, targetId), ...others], [
      { eventId: randomUUID(), topic: 'ponte.consent.v1', type: 'consent.authorised', occurredAt: new Date('2026-12-06T09:59:00Z'), consentId: 'urn:bank:consent-a', detail: { kind: 'data', clientId: 'client-a' } },
      { eventId: randomUUID(), topic: 'ponte.audit.v1', type: 'audit.entry', occurredAt: new Date('2026-12-06T10:00:01Z'), interactionId: target.interactionId, detail: { note: 'customer 76109277673' } },
      { eventId: randomUUID(), topic: 'ponte.consent.v1', type: 'consent.created', occurredAt: new Date('2026-12-06T09:00:00Z'), consentId: 'urn:bank:other', detail: {} },
    ])
  })
  afterAll(async () => { await t?.close() })

  const search = async (query: Record<string, string>) => {
    const res = await t.app.inject({ method: 'GET', url: `/internal/calls?${new URLSearchParams(query)}`, headers })
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { calls: Array<{ eventId: string; status: number }>; nextCursor: string | null }
  }

  it.each([
    ['interactionId', target.interactionId],
    ['consentId', 'urn:bank:consent-a'],
    ['paymentId', 'pay-a'],
    ['organisationId', 'org-a'],
    ['clientId', 'client-a'],
    ['endpoint', '/open-banking/accounts/v2/accounts/{accountId}'],
    ['status', '404'],
    ['statusClass', '4xx'],
  ])('finds the call by %s alone', async (field, value) => {
    const page = await search({ [field]: value })
    expect(page.calls.map((c) => c.eventId)).toEqual([targetId])
  })

  it('filters by time range and status class together, pages newest first with a cursor', async () => {
    const all = await search({ statusClass: '5xx', from: '2026-12-06T09:00:00Z', to: '2026-12-06T09:30:00Z' })
    expect(all.calls).toHaveLength(10)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page = await search({ statusClass: '5xx', from: '2026-12-06T09:00:00Z', to: '2026-12-06T09:30:00Z', limit: '3', ...(cursor ? { cursor } : {}) })
      seen.push(...page.calls.map((c) => c.eventId))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual(all.calls.map((c) => c.eventId))
    expect((await search({ from: '2026-12-06T09:10:00Z', to: '2026-12-06T09:12:00Z' })).calls).toHaveLength(2)
  })

  it('shows a call with its consent transitions, audit entries and trace id, without personal data', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/internal/calls/${targetId}`, headers })
    expect(res.statusCode).toBe(200)
    const detail = res.json()
    expect(detail.traceId).toBe('a'.repeat(32))
    expect(detail.call.endpoint).toBe('/open-banking/accounts/v2/accounts/{accountId}')
    expect(detail.story.map((s: { type: string }) => s.type)).toEqual(['consent.authorised', 'audit.entry'])
    expect(res.body).not.toContain('76109277673')
    expect((await t.app.inject({ method: 'GET', url: `/internal/calls/${randomUUID()}`, headers })).statusCode).toBe(404)
  })

  it('refuses calls without a service token and a cursor it did not issue', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/internal/calls' })).statusCode).toBe(401)
    const res = await t.app.inject({ method: 'GET', url: '/internal/calls?cursor=bm9wZQ', headers })
    expect(res.statusCode).toBe(400)
  })
})
