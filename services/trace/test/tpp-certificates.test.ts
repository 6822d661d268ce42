// TPP certificates expiring within ALERT_CERTIFICATE_DAYS alert, read from the directory connector's
// `GET /internal/certificates/expiry` (here a stand-in at the HTTP boundary, service token checked; the directory's own
// test checks that listing against real sandbox keystores) through the internal client main.ts uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ParticipantCertificates } from '@ponte/contracts'
import { createInternalClient, createServer, requireServiceToken, type PonteServer } from '@ponte/platform'
import { listen, testLogger, testServiceAuth } from '@ponte/testkit'
import { createAlerting, type Alerting } from '../src/adapters/alerting.ts'
import { loadSlaLookup } from '../src/adapters/nfr-sla.ts'
import { startTrace, type TraceTest } from './support.ts'

const NOW = new Date('2026-12-07T12:00:00Z')
const DAY = 86_400_000
const SOON = 'certificate-expiry:tpp ss-1 key k-1 (organisation org-1): CN=tpp-one.example.com.br'
const LATER = 'certificate-expiry:tpp ss-2 key k-2 (organisation org-2): CN=tpp-two.example.com.br'

describe('TPP certificate expiry alerts', () => {
  let t: TraceTest
  let alerting: Alerting
  let directory: PonteServer
  let client: ReturnType<typeof createInternalClient>
  const listing = {
    status: 200,
    body: {
      certificates: [
        { organisationId: 'org-1', softwareStatementId: 'ss-1', jwksUri: 'https://keystore.example/org-1/ss-1/transport.jwks', kid: 'k-1', subjectDn: 'CN=tpp-one.example.com.br', notAfter: new Date(NOW.getTime() + 20 * DAY).toISOString() },
        { organisationId: 'org-2', softwareStatementId: 'ss-2', jwksUri: 'https://keystore.example/org-2/ss-2/transport.jwks', kid: 'k-2', subjectDn: 'CN=tpp-two.example.com.br', notAfter: new Date(NOW.getTime() + 200 * DAY).toISOString() },
      ],
      unreadable: [] as Array<{ organisationId: string; softwareStatementId: string; jwksUri: string; error: string }>,
    },
  }
  beforeAll(async () => {
    t = await startTrace('trace_tpp_certs', NOW)
    const { logger } = testLogger('tpp-certificates')
    const auth = testServiceAuth()
    directory = createServer({ logger })
    directory.register(async (i) => {
      i.addHook('onRequest', requireServiceToken(auth.verifier('directory')))
      i.get('/internal/certificates/expiry', async (_req, reply) => reply.code(listing.status).send(listing.status === 200 ? listing.body : { errors: [{ code: 'UNAVAILABLE', title: 'x', detail: 'x' }], meta: { requestDateTime: NOW.toISOString() } }))
    })
    client = createInternalClient({ baseUrl: await listen(directory), audience: 'directory', issuer: auth.issuer('trace') })
    alerting = createAlerting({
      pool: t.pool, availability: t.availability, logger, slaOf: loadSlaLookup(), outboxSchemas: [], certificateFiles: [],
      thresholds: { availabilityTarget: 0.95, windowMinutes: 15, minCalls: 20, errorShare: 0.05, throttleShare: 0.05, overloadShare: 0.005, outboxBacklog: 1_000, consumerLag: 10_000, certificateDays: 30 },
      participantCertificates: () => client.call('GET', '/internal/certificates/expiry', ParticipantCertificates),
    })
  })
  afterAll(async () => {
    await client?.close()
    await directory?.close()
    await t?.close()
  })

  it('fires for a TPP certificate expiring within 30 days, holds while the directory cannot say, resolves once renewed', async () => {
    const first = await alerting.evaluate(NOW)
    expect(first.fired).toEqual([SOON]) // 20 days left; the other has 200
    const firing = await t.app.inject({ method: 'GET', url: '/internal/alerts?state=firing', headers: await t.asAdmin() })
    expect(firing.json().alerts).toEqual([expect.objectContaining({ alertKey: SOON, rule: 'certificate-expiry', value: 20, threshold: 30 })])

    // The directory is down: nothing is known, nothing resolves.
    listing.status = 503
    expect(await alerting.evaluate(new Date(NOW.getTime() + 60_000))).toEqual({ skipped: false, fired: [], resolved: [] })
    // Its keystore cannot be read: the same.
    listing.status = 200
    const readable = listing.body.certificates
    listing.body = { certificates: readable.filter((c) => c.softwareStatementId !== 'ss-1'), unreadable: [{ organisationId: 'org-1', softwareStatementId: 'ss-1', jwksUri: readable[0]!.jwksUri, error: 'timeout' }] }
    expect(await alerting.evaluate(new Date(NOW.getTime() + 120_000))).toEqual({ skipped: false, fired: [], resolved: [] })

    // Renewed under the same key: a year left → resolved.
    listing.body = { certificates: readable.map((c) => (c.softwareStatementId === 'ss-1' ? { ...c, notAfter: new Date(NOW.getTime() + 365 * DAY).toISOString() } : c)), unreadable: [] }
    const renewed = await alerting.evaluate(new Date(NOW.getTime() + 180_000))
    expect(renewed).toEqual({ skipped: false, fired: [], resolved: [SOON] })
    const history = await t.app.inject({ method: 'GET', url: `/internal/alerts/history?alertKey=${encodeURIComponent(SOON)}`, headers: await t.asAdmin() })
    expect(history.json().history.map((h: { state: string }) => h.state)).toEqual(['resolved', 'firing'])
  })

  it('a certificate that disappears from the listing (the key was replaced) resolves its alert', async () => {
    listing.body = { certificates: listing.body.certificates.map((c) => (c.softwareStatementId === 'ss-2' ? { ...c, notAfter: new Date(NOW.getTime() + 10 * DAY).toISOString() } : c)), unreadable: [] }
    expect((await alerting.evaluate(new Date(NOW.getTime() + 240_000))).fired).toEqual([LATER])
    listing.body = { certificates: listing.body.certificates.filter((c) => c.softwareStatementId !== 'ss-2'), unreadable: [] }
    expect((await alerting.evaluate(new Date(NOW.getTime() + 300_000))).resolved).toEqual([LATER])
  })
})
