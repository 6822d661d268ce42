import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientStatusChanged, topics } from '@ponte/contracts'
import { SERVICE_TOKEN_HEADER } from '@ponte/platform'
import { testServiceAuth, type TestTpp } from '@ponte/testkit'
import type { AuthServerHarness } from './support/harness.ts'
import { startWithRegisteredClient } from './support/registered-client.ts'

// A security administrator suspends a registered client from the admin console: the auth-server refuses it from the
// next request on, tells the gateway through ponte.client.v1 (outbox), and serves it again once reinstated.
describe('client suspension (internal API for the admin console)', () => {
  const auth = testServiceAuth()
  let w: Awaited<ReturnType<typeof startWithRegisteredClient>>
  let h: AuthServerHarness
  let tpp: TestTpp
  let clientId: string
  beforeAll(async () => {
    w = await startWithRegisteredClient(auth, 'auth_suspension')
    ;({ h, tpp, clientId } = w)
  })
  afterAll(async () => { await w?.close() })

  const internal = async (method: string, path: string, body?: unknown, caller = 'admin') => {
    const res = await h.browserFetch(`${h.issuer}${path}`, {
      method, headers: { [SERVICE_TOKEN_HEADER]: await auth.issuer(caller).sign('auth-server'), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { clients?: Array<Record<string, unknown>> } }
  }
  const token = () => w.token()

  it('lists the registered client with its organisation and software statement', async () => {
    const list = await internal('GET', '/internal/clients')
    expect(list.status).toBe(200)
    expect(list.body.clients).toContainEqual(expect.objectContaining({ clientId, organisationId: tpp.orgId, softwareStatementId: tpp.softwareId, active: true, suspension: null }))
  })

  it('suspend → the token request fails at once and ponte.client.v1 is enqueued; reinstate → tokens again', async () => {
    expect(await token()).toBeTruthy()
    const suspended = await internal('POST', `/internal/clients/${clientId}/suspend`, { note: 'Chave comprometida', by: 'sec@bank.test' })
    expect(suspended.status).toBe(200)
    await expect(token()).rejects.toMatchObject({ error: 'invalid_client' })
    const { rows } = await h.pool.query(`select topic, key, payload from outbox where key = $1 order by seq`, [clientId])
    expect(rows.map((r) => r.topic)).toEqual([topics.client])
    expect(ClientStatusChanged.parse(rows[0]!.payload).data).toMatchObject({ clientId, organisationId: tpp.orgId, suspended: true, changedBy: 'sec@bank.test', note: 'Chave comprometida' })
    const list = await internal('GET', '/internal/clients')
    expect(list.body.clients).toContainEqual(expect.objectContaining({ clientId, active: false, suspension: expect.objectContaining({ by: 'sec@bank.test', note: 'Chave comprometida' }) }))
    expect((await internal('GET', `/internal/clients/${clientId}/webhook`)).body.active).toBe(false)
    expect((await internal('POST', `/internal/clients/${clientId}/suspend`, { note: 'again', by: 'sec@bank.test' })).status).toBe(422)

    expect((await internal('POST', `/internal/clients/${clientId}/reinstate`, { note: 'Chave trocada', by: 'sec@bank.test' })).status).toBe(200)
    expect(await token()).toBeTruthy()
    const events = await h.pool.query(`select payload from outbox where key = $1 order by seq`, [clientId])
    expect(events.rows.map((r) => ClientStatusChanged.parse(r.payload).data.suspended)).toEqual([true, false])
  })

  it('refuses other callers, an unknown client and a missing note', async () => {
    expect((await internal('POST', `/internal/clients/${clientId}/suspend`, { note: 'x y z', by: 'a' }, 'connectors')).status).toBe(403)
    expect((await internal('GET', '/internal/clients', undefined, 'gateway')).status).toBe(403)
    expect((await internal('POST', '/internal/clients/nobody/suspend', { note: 'x y z', by: 'a' })).status).toBe(404)
    expect((await internal('POST', `/internal/clients/${clientId}/suspend`, { note: '', by: 'a' })).status).toBe(400)
    expect(await token()).toBeTruthy()
  })
})
