// The whole data-sharing journey against the real services, each its own process started the way `make up` starts
// it (test/e2e/stack.ts), every regulated call through the gateway over mTLS with the TPP's certificate:
// onboard a TPP in the sandbox directory → DCR with a fresh SSA → client_credentials → POST consent → PAR with a
// signed request object → login and approve in the journey pages → code + encrypted id_token → token → every data API
// the consent covers (each response 200 and valid against the official spec) → DELETE the consent → the next call with
// the old access token is refused once ponte.consent.v1 reaches the gateway → the refresh token is refused.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import * as oidc from 'openid-client'
import { createPool } from '@ponte/platform'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { specValidator, testInfra, waitFor, type TestTpp } from '@ponte/testkit'
import { Browser, checkboxValues, formValue } from '../../auth-server/test/support/harness.ts'
import { onboardTpp, startE2eStack, type E2eStack } from './e2e/stack.ts'

const CPF = '76109277673'
const PASSWORD = 'P@ssw0rd-demo'
const REDIRECT = 'https://tpp.example.com.br/callback'
const PERMISSIONS = [
  'ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'ACCOUNTS_OVERDRAFT_LIMITS_READ',
  'CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ',
  'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ',
  'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ',
  'LOANS_READ', 'LOANS_WARRANTIES_READ', 'LOANS_SCHEDULED_INSTALMENTS_READ', 'LOANS_PAYMENTS_READ',
  'RESOURCES_READ',
]

/** Routed by the gateway but served by no service (services/connectors/README.md: the reference core has none). */
const NOT_SERVED = ['GET /open-banking/accounts/v2/accounts/{accountId}/reserved-balances']

/** A row of the gateway's route table (the one file the gateway routes from). */
interface Route { method: string; path: string; specFile: string; specPath: string; version: string; service: string; tokenKind?: string; paymentConsent?: boolean; permissions: string[] }
const routes = JSON.parse(readFileSync(new URL('../src/routes.generated.json', import.meta.url), 'utf8')) as Route[]
const consents = specValidator('consents-v3.3.1.yaml')

type Json = Record<string, unknown> & { data: unknown; links?: { self?: string } }
interface Answer { status: number; headers: Headers; body: Json; interactionId: string }

// Run twice: one instance of every service, then two of each behind TCP balancers (scale-out: every instance shares
// the database, Redis and Kafka; nothing may depend on which instance a call reaches), the second time with every
// service querying PostgreSQL through PgBouncer in transaction mode, as a bank deploys it (no session state relied on).
describe.each([
  ['one instance of each', 1, false],
  ['two instances of each, PostgreSQL through PgBouncer in transaction mode', 2, true],
] as const)('end to end through the gateway: the whole journey against the services as processes, %s', (_how, instances, pgbouncer) => {
  let stack: E2eStack
  let tpp: TestTpp | undefined

  beforeAll(async () => {
    stack = await startE2eStack({ instances, pgbouncer })
  }, 120_000 * instances)

  afterAll(async () => {
    await tpp?.close()
    await stack?.stop()
  }, 60_000)

  /** A regulated call through the gateway with the TPP's certificate; checks the interaction id is echoed. */
  async function api(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
    const interactionId = randomUUID()
    const res = await tpp!.fetch(`${stack.gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`, 'x-fapi-interaction-id': interactionId,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    expect(res.headers.get('x-fapi-interaction-id'), `${method} ${path}`).toBe(interactionId)
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Json, interactionId }
  }

  it('onboards, registers, consents, authorises in the journey pages, reads every data API, revokes and is refused', async () => {
    // On failure, what each service said last (warnings and errors) is the first thing to read.
    onTestFailed(() => {
      for (const name of ['directory', 'consent', 'connectors', 'traffic', 'auth-server', 'gateway']) {
        const lines = stack.output(name).filter((l) => !l.includes('"level":"info"')).slice(-15)
        if (lines.length) console.error(`--- ${name}\n${lines.join('\n')}`)
      }
    })
    // 1–2. Onboard a TPP in the sandbox central directory, fetch a fresh SSA over mTLS with its transport certificate,
    // DCR at the auth-server over mTLS (it checks the SSA with the directory, which syncs the new organisation).
    const onboarded = await onboardTpp(stack, { name: 'Fintech Jornada', clientName: 'App Jornada', roles: ['DADOS'], redirectUris: [REDIRECT], webhookUris: ['https://tpp.example.com.br/webhook'] })
    tpp = onboarded.tpp
    const { client, statement: ss } = onboarded
    expect(client.jwks_uri).toBe(ss.jwksUri)
    const config = await tpp.oidc(stack.authIssuer, client.client_id!)

    // 3. client_credentials → the consent, created through the gateway for the demo customer.
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'consents' })
    const created = await api('POST', '/open-banking/consents/v3/consents', cc.access_token, { data: { loggedUser: { document: { identification: CPF, rel: 'CPF' } }, permissions: PERMISSIONS } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    consents.assert('POST', '/consents', 201, created.body)
    expect(created.headers.get('x-v')).toBe('3.3.1')
    const consent = created.body.data as { consentId: string; status: string; permissions: string[] }
    expect(consent.status).toBe('AWAITING_AUTHORISATION')
    expect([...consent.permissions].sort()).toEqual([...PERMISSIONS].sort())
    const consentId = consent.consentId

    // 4. PAR with a signed request object (PKCE S256), then the journey pages as a browser would drive them.
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: REDIRECT, scope: `openid consent:${consentId} accounts credit-cards-accounts loans customers resources`,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
      response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
    }, { key: await tpp.signingKey(), kid: String(ss.signing.privateJwk.kid) })
    const authUrl = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)
    // The customer's browser: TLS trusting the dev CA, no client certificate, redirects followed by hand.
    const { browser, close: closeBrowser } = Browser.trusting(stack.pki.caBundlePem)
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
    let offered: string[]
    try {
      const loginPage = await browser.follow(authUrl.toString(), REDIRECT)
      expect(loginPage.status, loginPage.body).toBe(200)
      const login = await browser.request(`${loginPage.url}/login`, { form: { csrf: formValue(loginPage.body, 'csrf'), cpf: CPF, senha: PASSWORD } })
      expect(login.status, login.body).toBe(303)
      const review = await browser.follow(login.location!, REDIRECT)
      expect(review.body).toContain('Autorizar')
      offered = checkboxValues(review.body)
      expect(offered.length).toBeGreaterThanOrEqual(3) // accounts, the credit card and the loan of the demo customer
      const confirm = await browser.request(`${review.url}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', resource: offered } })
      expect(confirm.status, confirm.body).toBe(303)
      const done = await browser.follow(confirm.location!, REDIRECT)
      expect(done.url.startsWith(REDIRECT)).toBe(true)
      const fragment = new URLSearchParams(new URL(done.url).hash.slice(1))
      expect(fragment.get('code')).toBeTruthy()
      expect(decodeProtectedHeader(fragment.get('id_token')!)).toMatchObject({ alg: 'RSA-OAEP', enc: 'A256GCM' })

      // 5. Token exchange (private_key_jwt over mTLS; the id_token is decrypted and checked by openid-client).
      tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
    } finally {
      await closeBrowser()
    }
    expect(tokens.claims()!.acr).toBe('urn:brasil:openbanking:loa2')
    expect(decodeJwt(tokens.access_token)).toMatchObject({ consent_id: consentId, client_id: client.client_id, aud: stack.gatewayUrl })
    expect(tokens.refresh_token).toBeTruthy()
    const access = tokens.access_token

    // The consent is now AUTHORISED (read through the gateway with the client's token).
    const read = await api('GET', `/open-banking/consents/v3/consents/${encodeURIComponent(consentId)}`, cc.access_token)
    expect(read.status, JSON.stringify(read.body)).toBe(200)
    consents.assert('GET', '/consents/{consentId}', 200, read.body)
    expect((read.body.data as { status: string }).status).toBe('AUTHORISED')

    // 6. Every data API the consent covers, through the gateway: the route table's consent-token routes of the
    // connectors whose permission was granted. Path ids come from the lists (accounts, cards, bills, contracts).
    const dataRoutes = routes.filter((r) => r.service === 'connectors' && r.tokenKind === 'consent' && !r.paymentConsent && r.permissions.every((p) => PERMISSIONS.includes(p)) &&
      !NOT_SERVED.includes(`${r.method} ${r.path}`))
    const ids: Record<string, string[]> = {}
    const served = new Set<string>()
    const get = async (route: Route, path: string): Promise<Json> => {
      const res = await api(route.method, path, access)
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200)
      expect(res.headers.get('x-v'), path).toBe(route.version)
      specValidator(route.specFile).assert(route.method, route.specPath, 200, res.body)
      expect(res.body.links?.self?.startsWith(`${stack.linksBaseUrl}${path.split('?')[0]}`), `${path}: ${res.body.links?.self}`).toBe(true)
      served.add(`${route.method} ${route.path}`)
      return res.body
    }
    const collect = (param: string, body: Json, key: string) => {
      ids[param] = [...(ids[param] ?? []), ...(body.data as Array<Record<string, string>>).map((x) => x[key]!)]
    }
    const byPath = (path: string) => dataRoutes.find((r) => r.path === path)!
    // Lists first (they give the ids), parents before children, so every template can be filled.
    collect('accountId', await get(byPath('/open-banking/accounts/v2/accounts'), '/open-banking/accounts/v2/accounts'), 'accountId')
    collect('creditCardAccountId', await get(byPath('/open-banking/credit-cards-accounts/v2/accounts'), '/open-banking/credit-cards-accounts/v2/accounts'), 'creditCardAccountId')
    collect('contractId', await get(byPath('/open-banking/loans/v2/contracts'), '/open-banking/loans/v2/contracts'), 'contractId')
    expect(ids.accountId!.length).toBeGreaterThan(0)
    expect(ids.creditCardAccountId!.length).toBeGreaterThan(0)
    expect(ids.contractId!.length).toBeGreaterThan(0)
    const billsRoute = byPath('/open-banking/credit-cards-accounts/v2/accounts/{creditCardAccountId}/bills')
    const bills: Array<[card: string, bill: string]> = []
    for (const card of ids.creditCardAccountId!) {
      const body = await get(billsRoute, billsRoute.path.replace('{creditCardAccountId}', encodeURIComponent(card)))
      for (const b of body.data as Array<{ billId: string }>) bills.push([card, b.billId])
    }
    expect(bills.length).toBeGreaterThan(0)
    for (const route of dataRoutes) {
      if (served.has(`${route.method} ${route.path}`)) continue
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)
      if (params.includes('billId')) {
        const [card, bill] = bills[0]!
        await get(route, route.path.replace('{creditCardAccountId}', encodeURIComponent(card)).replace('{billId}', encodeURIComponent(bill)))
      } else if (params.length === 1) {
        for (const id of ids[params[0]!] ?? []) await get(route, route.path.replace(`{${params[0]}}`, encodeURIComponent(id)))
      } else if (params.length === 0) {
        await get(route, route.path)
      }
    }
    // Nothing the consent covers was left out: resources, accounts (6), cards (7), personal registration (3), loans (5).
    expect([...served].sort()).toEqual(dataRoutes.map((r) => `${r.method} ${r.path}`).sort())
    expect(served.size).toBeGreaterThanOrEqual(22)
    // The resources listed are exactly those the customer picked.
    const resources = await api('GET', '/open-banking/resources/v3/resources', access)
    expect((resources.body.data as Array<{ type: string; resourceId: string }>).map((r) => `${r.type}|${r.resourceId}`).sort()).toEqual([...offered].sort())
    // Business registration data is not in this consent: refused by the gateway, before any upstream.
    const business = await api('GET', '/open-banking/customers/v2/business/identifications', access)
    expect(business.status).toBe(403)
    expect((business.body as unknown as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('PERMISSION_NOT_GRANTED')

    // The refresh token works while the consent is authorised (and is not rotated: FAPI-BR).
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!)
    expect(decodeJwt(refreshed.access_token).consent_id).toBe(consentId)
    expect((await api('GET', '/open-banking/resources/v3/resources', refreshed.access_token)).status).toBe(200)

    // 7. The TPP revokes the consent through the gateway.
    const revoked = await api('DELETE', `/open-banking/consents/v3/consents/${encodeURIComponent(consentId)}`, cc.access_token)
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(204)
    // ponte.consent.v1 reaches the gateway (its own consumer group): the old access token stops working.
    const probe = `/open-banking/accounts/v2/accounts/${encodeURIComponent(ids.accountId![0]!)}`
    const refused = await waitFor(async () => {
      const res = await api('GET', probe, access)
      return res.status === 200 ? undefined : res
    }, { timeoutMs: 10_000, intervalMs: 100, what: 'the revoked consent to be refused by the gateway' })
    expect(refused.status, JSON.stringify(refused.body)).toBe(401)
    expect((refused.body as unknown as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('CONSENT_NOT_AUTHORISED')
    // Stays refused (no stale cache entry comes back), on every data API.
    expect((await api('GET', '/open-banking/loans/v2/contracts', access)).status).toBe(401)
    const after = await api('GET', `/open-banking/consents/v3/consents/${encodeURIComponent(consentId)}`, cc.access_token)
    expect(after.body.data).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'TPP', reason: { code: 'CUSTOMER_MANUALLY_REVOKED' } } })
    // So are the access token obtained by refresh, and the refresh token itself.
    expect((await api('GET', '/open-banking/resources/v3/resources', refreshed.access_token)).status).toBe(401)
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
    // With two instances, the balancers handed connections to both instances of every service that got more than one.
    let spread = 0
    for (const [name, list] of stack.balancers) {
      for (const b of list) {
        const counts = [...b.connections.values()]
        if (counts.reduce((x, y) => x + y, 0) < 2) continue
        expect(counts.every((n) => n > 0), `${name}: ${JSON.stringify([...b.connections])}`).toBe(true)
        spread++
      }
    }
    // The gateway, the auth-server and the services behind them all took connections on both instances.
    if (instances > 1) expect(spread).toBeGreaterThanOrEqual(4)
    // Through the pooler, every service's queries reached PostgreSQL as its own role (PgBouncer's server connections).
    if (pgbouncer) {
      const db = createPool({ url: testInfra().databaseUrl, schema: 'public', max: 1 })
      try {
        const { rows } = await db.query<{ usename: string }>('select distinct usename from pg_stat_activity where usename = any($1)', [stack.pooledRoles])
        expect(rows.map((r) => r.usename).sort()).toEqual([...stack.pooledRoles].sort())
      } finally {
        await db.end()
      }
    }
  }, 90_000 * instances)
})
