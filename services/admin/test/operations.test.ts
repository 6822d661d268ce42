import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { specValidator } from '@ponte/testkit'
import { startAdmin } from './helpers.ts'
import { startOperations } from './operations-support.ts'

// The payments and scheduled-outage routes of the console against the real consent, connectors and trace.
const v4 = specValidator('payments-v4.0.1.yaml')
let ops: Awaited<ReturnType<typeof startOperations>>
let admin: Awaited<ReturnType<typeof startAdmin>>

beforeAll(async () => {
  ops = await startOperations('admin_ops')
  admin = await startAdmin({ auth: ops.auth, consentUrl: ops.consentUrl, connectorsUrl: ops.connectorsUrl, traceUrl: ops.traceUrl })
}, 90_000)
afterAll(async () => {
  await admin?.close()
  await ops?.close()
})

describe('payments', () => {
  it('finds payments and payment consents by CPF (masked, audited), consent id, payment id and organisation', async () => {
    const consent = await ops.paymentConsent([2, 3])
    const ids = await ops.pay(consent, [2, 3])
    const officer = await admin.login(await admin.user(['consent_officer']))
    const byCpf = await admin.app.inject({ method: 'GET', url: `/api/payments?cpf=${ops.cpf}`, headers: officer.headers })
    expect(byCpf.statusCode, byCpf.body).toBe(200)
    expect(byCpf.body).not.toContain(ops.cpf)
    expect(byCpf.json().payments.map((p: { paymentId: string }) => p.paymentId)).toEqual(expect.arrayContaining(ids))
    expect(byCpf.json().consents.map((c: { consentId: string }) => c.consentId)).toContain(consent.consentId)
    const [entry] = await admin.audit.search({ action: 'payments.search', limit: 1 })
    expect(entry).toMatchObject({ outcome: 'success', target: `***.${ops.cpf.slice(3, 6)}.${ops.cpf.slice(6, 9)}-**` })

    const byConsent = await admin.app.inject({ method: 'GET', url: `/api/payments?consentId=${encodeURIComponent(consent.consentId)}`, headers: officer.headers })
    expect(byConsent.json().payments).toHaveLength(2)
    expect(byConsent.json().consents[0]).toMatchObject({ consentId: consent.consentId, status: 'CONSUMED' })
    const byId = await admin.app.inject({ method: 'GET', url: `/api/payments?paymentId=${ids[0]}`, headers: officer.headers })
    expect(byId.json().payments).toMatchObject([{ paymentId: ids[0], status: 'SCHD' }])
    const byOrg = await admin.app.inject({ method: 'GET', url: `/api/payments?organisationId=org-tpp-1`, headers: officer.headers })
    expect(byOrg.json().payments.map((p: { paymentId: string }) => p.paymentId)).toEqual(expect.arrayContaining(ids))
    const two = await admin.app.inject({ method: 'GET', url: `/api/payments?paymentId=x&cpf=${ops.cpf}`, headers: officer.headers })
    expect(two.statusCode).toBe(400)

    const detail = await admin.app.inject({ method: 'GET', url: `/api/payment-consents/${encodeURIComponent(consent.consentId)}`, headers: officer.headers })
    expect(detail.statusCode, detail.body).toBe(200)
    expect(detail.body).not.toContain(ops.cpf)
    expect(detail.json().audit.map((e: { action: string }) => e.action)).toEqual(['created', 'authorised', 'consumed'])
    expect(detail.json().payments).toHaveLength(2)
  })

  it('cancels a scheduled payment with a note: CANC from the DETENTORA, the TPP sees it, the action is audited', async () => {
    const consent = await ops.paymentConsent([2])
    const [id] = await ops.pay(consent, [2])
    const u = await admin.user(['consent_officer'])
    const officer = await admin.login(u)
    const noNote = await admin.app.inject({ method: 'POST', url: `/api/payments/${id}/cancel`, headers: officer.headers, payload: { note: '' } })
    expect(noNote.statusCode).toBe(400)
    const res = await admin.app.inject({ method: 'POST', url: `/api/payments/${id}/cancel`, headers: officer.headers, payload: { note: 'Cliente ligou, protocolo 555' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().payment).toMatchObject({ paymentId: id, status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA' } })
    expect(res.body).not.toContain(ops.cpf)

    const tpp = await ops.f.app.inject({ method: 'GET', url: `/open-banking/payments/v4/pix/payments/${id}`, headers: await ops.f.headers() })
    v4.assert('get', '/pix/payments/{paymentId}', 200, tpp.json())
    expect(tpp.json().data).toMatchObject({ status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA', cancelledBy: { document: { identification: ops.cpf, rel: 'CPF' } } } })

    // The webhook connectors sent the TPP about it (stored by its webhook consumer), with its attempt.
    const { rows: [n] } = await ops.f.pool.query(
      `insert into webhook_notification (event_id, event_type, client_id, resource_kind, resource_id, api_version, base_uri, url, occurred_at, status, attempts, created_at)
       values (gen_random_uuid(), 'payment.status-changed', 'client-tpp-1', 'payment', $1, 'v4', 'https://tpp.example', 'https://tpp.example/open-banking/webhook/v1/payments/v4/pix/payments/' || $1, now(), 'DELIVERED', 1, now()) returning id`, [id])
    await ops.f.pool.query(`insert into webhook_attempt (notification_id, attempt, interaction_id, started_at, duration_ms, http_status) values ($1, 1, gen_random_uuid(), now(), 42, 202)`, [n.id])
    const detail = await admin.app.inject({ method: 'GET', url: `/api/payments/${id}`, headers: officer.headers })
    expect(detail.json().history.map((h: { status: string }) => h.status)).toEqual(['SCHD', 'CANC'])
    expect(detail.json().webhooks).toMatchObject([{ resourceId: id, status: 'DELIVERED', attempts: [{ attempt: 1, httpStatus: 202, durationMs: 42 }] }])
    const [entry] = await admin.audit.search({ action: 'payments.cancel', target: `payment:${id}`, limit: 1 })
    expect(entry).toMatchObject({ actorEmail: u.email, outcome: 'success', before: { status: 'SCHD' }, after: { status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO', cancelledFrom: 'DETENTORA' } }, detail: { note: 'Cliente ligou, protocolo 555' } })

    // Again: connectors' 422 passes through and the failure is audited.
    const again = await admin.app.inject({ method: 'POST', url: `/api/payments/${id}/cancel`, headers: officer.headers, payload: { note: 'de novo' } })
    expect(again.statusCode).toBe(422)
    expect(again.json().errors[0].code).toBe('PAGAMENTO_NAO_PERMITE_CANCELAMENTO')
    const [failed] = await admin.audit.search({ action: 'payments.cancel', target: `payment:${id}`, limit: 1 })
    expect(failed).toMatchObject({ outcome: 'failure', before: { status: 'CANC' } })
  })

  it('a viewer sees payments but is refused the cancel; the payment stays SCHD', async () => {
    const consent = await ops.paymentConsent([3])
    const [id] = await ops.pay(consent, [3])
    const viewer = await admin.login(await admin.user(['viewer']))
    const seen = await admin.app.inject({ method: 'GET', url: `/api/payments/${id}`, headers: viewer.headers })
    expect(seen.statusCode, seen.body).toBe(200)
    const forced = await admin.app.inject({ method: 'POST', url: `/api/payments/${id}/cancel`, headers: viewer.headers, payload: { note: 'forçado' } })
    expect(forced.statusCode).toBe(403)
    const [p] = await ops.f.payments.search({ paymentId: id!, limit: 1 })
    expect(p!.status).toBe('SCHD')
  })
})

describe('scheduled outages', () => {
  it('an operator registers an outage: discovery announces it; cancelling removes it; both audited', async () => {
    const u = await admin.user(['operator'])
    const operator = await admin.login(u)
    const startsAt = new Date(Date.now() + 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const endsAt = new Date(Date.now() + 3 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const created = await admin.app.inject({ method: 'POST', url: '/api/outages', headers: operator.headers, payload: { startsAt, endsAt, apis: ['accounts/v2'], explanation: 'Manutenção programada do core' } })
    expect(created.statusCode, created.body).toBe(201)
    const id = created.json().outageId as string
    const discovery = await (await fetch(`${ops.traceUrl}/open-banking/discovery/v2/outages`)).json() as { data: Array<{ explanation: string }> }
    expect(discovery.data.map((o) => o.explanation)).toContain('Manutenção programada do core (APIs: accounts/v2)')
    const list = await admin.app.inject({ method: 'GET', url: '/api/outages', headers: operator.headers })
    expect(list.json().outages.map((o: { outageId: string }) => o.outageId)).toContain(id)

    const tooSoon = await admin.app.inject({ method: 'POST', url: '/api/outages', headers: operator.headers, payload: { startsAt: new Date(Date.now() + 1_000).toISOString(), endsAt, explanation: 'x' } })
    expect(tooSoon.statusCode).toBe(422)

    const viewer = await admin.login(await admin.user(['viewer']))
    expect((await admin.app.inject({ method: 'DELETE', url: `/api/outages/${id}`, headers: viewer.headers })).statusCode).toBe(403)
    const cancelled = await admin.app.inject({ method: 'DELETE', url: `/api/outages/${id}`, headers: operator.headers })
    expect(cancelled.statusCode, cancelled.body).toBe(204)
    const after = await (await fetch(`${ops.traceUrl}/open-banking/discovery/v2/outages`)).json() as { data: Array<{ explanation: string }> }
    expect(after.data.map((o) => o.explanation)).not.toContain('Manutenção programada do core (APIs: accounts/v2)')
    const entries = await admin.audit.search({ actor: u.email, limit: 10 })
    expect(entries.map((e) => `${e.action} ${e.outcome}`)).toEqual(expect.arrayContaining(['outages.create success', 'outages.create failure', 'outages.cancel success']))
  })
})
