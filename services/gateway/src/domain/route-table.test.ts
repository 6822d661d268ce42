import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { renderRoutes } from '../../scripts/generate-routes.ts'
import { parseRouteTable, routerPath } from './route-table.ts'

const committed = readFileSync(new URL('../routes.generated.json', import.meta.url), 'utf8')

describe('the generated route table', () => {
  test('is fresh: regenerating it from the specs and the NFR reference gives the committed file', () => {
    expect(renderRoutes()).toBe(committed)
  })

  test('parses, and carries what the specs and the NFR reference say', () => {
    const routes = parseRouteTable(JSON.parse(committed))
    const byKey = new Map(routes.map((r) => [r.key, r]))
    expect(byKey.get('GET /open-banking/accounts/v2/accounts/{accountId}/balances')).toMatchObject({
      service: 'connectors', access: 'protected', tokenKind: 'consent', scopes: ['accounts'], permissions: ['ACCOUNTS_BALANCES_READ'],
      resourceParam: 'accountId', resourceType: 'ACCOUNT', frequency: 'high', tpm: 2500, monthly: 420, version: '2.5.1',
    })
    expect(byKey.get('POST /open-banking/consents/v3/consents')).toMatchObject({ service: 'consent', tokenKind: 'client', scopes: ['consents'], tpm: null, monthly: null })
    expect(byKey.get('POST /open-banking/consents/v3/consents/{consentId}/extends')).toMatchObject({ tokenKind: 'consent', pathConsentParam: 'consentId', checkConsentStatus: false })
    expect(byKey.get('GET /open-banking/resources/v3/resources')).toMatchObject({ permissions: ['RESOURCES_READ'], tpm: null })
    expect(byKey.get('GET /open-banking/channels/v2/branches')).toMatchObject({ access: 'open-data', tpm: 500 })
    // The regulator's endpoints: served by trace, public like open data, no limit in the NFR reference.
    for (const key of ['GET /open-banking/admin/v2/metrics', 'GET /open-banking/discovery/v2/status', 'GET /open-banking/discovery/v2/outages'])
      expect(byKey.get(key), key).toMatchObject({ service: 'trace', access: 'open-data', tpm: null, monthly: null, p95SlaMs: 4000 })
    expect(byKey.get('GET /open-banking/customers/v2/personal/qualifications')?.permissions).toEqual(['CUSTOMERS_PERSONAL_ADITTIONALINFO_READ'])
    expect(byKey.get('GET /open-banking/accounts/v2/accounts/{accountId}/transactions')?.paginated).toBe(true)
    // Payments: consents to consent, pix payments to connectors; signed bodies where the spec says application/jwt.
    expect(byKey.get('POST /open-banking/payments/v4/consents')).toMatchObject({
      service: 'consent', tokenKind: 'client', scopes: ['payments'], strictTokenKind: true, signedRequest: true, signedResponse: true, idempotencyKey: true, tpm: null, monthly: null, frequency: 'high',
    })
    expect(byKey.get('GET /open-banking/payments/v5/consents/{consentId}')).toMatchObject({ service: 'consent', tokenKind: 'client', signedResponse: true })
    expect(byKey.get('GET /open-banking/payments/v5/consents/{consentId}')?.signedRequest).toBeUndefined()
    expect(byKey.get('POST /open-banking/payments/v5/pix/payments')).toMatchObject({
      service: 'connectors', tokenKind: 'consent', paymentConsent: true, scopes: ['payments'], permissions: [], signedRequest: true, signedResponse: true, idempotencyKey: true,
    })
    expect(byKey.get('PATCH /open-banking/payments/v4/pix/payments/consents/{consentId}')).toMatchObject({ service: 'connectors', tokenKind: 'client', signedRequest: true, signedResponse: true })
    // v5's cancel-all answers 202 with no body: nothing to sign.
    expect(byKey.get('PATCH /open-banking/payments/v5/consents/{consentId}/pix/payments')).toMatchObject({ service: 'connectors', signedRequest: true, idempotencyKey: true })
    expect(byKey.get('PATCH /open-banking/payments/v5/consents/{consentId}/pix/payments')?.signedResponse).toBeUndefined()
    expect(byKey.get('GET /open-banking/payments/v5/consents/{consentId}/pix/payments')).toMatchObject({ service: 'connectors', tokenKind: 'client', signedResponse: true })
    // Every consent-bound data route names its permission.
    for (const r of routes) if (r.tokenKind === 'consent' && !r.pathConsentParam && !r.paymentConsent) expect(r.permissions.length, r.key).toBeGreaterThan(0)
  })

  test('router paths use the router syntax', () => {
    expect(routerPath('/a/{id}/b/{billId}')).toBe('/a/:id/b/:billId')
  })
})
