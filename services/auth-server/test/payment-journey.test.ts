import { decodeJwt, generateKeyPair, type CryptoKey as JoseKey } from 'jose'
import * as oidc from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientWebhookInfo } from '@ponte/contracts'
import { createDevCa, type DevCa } from '@ponte/pki'
import { createTestTpp, listen, testLogger, testSchema, testServiceAuth, type TestTpp } from '@ponte/testkit'
import { aConsent, aPaymentConsent, connectorsStandIn, consentStandIn, directoryStandIn, type ConnectorsState, type ConsentState, type DirectoryState } from './support/stand-ins.ts'
import { Browser, formValue, radioValues, signSsa, startAuthServer, startKeystore, type AuthServerHarness, type Keystore } from './support/harness.ts'

const CPF = '76109277673'
const CNPJ = '12345678000195'
const REDIRECT = 'https://tpp.example.com/cb'
const WEBHOOKS = ['https://tpp.example.com/webhook', 'https://hooks.tpp.example.com/ofb']
const PAYMENT_ROLES = [{ role: 'DADOS', status: 'Active' }, { role: 'PAGTO', status: 'Active' }]
const CHECKING = { ispb: '12345678', issuer: '0001', number: '000123456', accountType: 'CACC' as const }
const SAVINGS = { ispb: '12345678', issuer: '0001', number: '000543210', accountType: 'SVGS' as const }

describe('auth-server: payment consents (LoA3 with TOTP, payment review, debtor account) and webhook URIs', () => {
  const schema = testSchema('auth_pay')
  const { logger } = testLogger('auth-server-test')
  const auth = testServiceAuth()
  const directoryState: DirectoryState = { ssaKey: undefined as unknown as JoseKey, organisations: new Map() }
  const consentState: ConsentState = { consents: new Map(), payments: new Map(), paymentAuthorisations: [] }
  const connectorsState: ConnectorsState = {
    customers: new Map([[CPF, { password: 'senha-forte-1', name: 'Ana Souza', businesses: [{ cnpj: CNPJ, name: 'Souza Ltda' }], resources: [
      { type: 'ACCOUNT', resourceId: 'acc-001', label: 'Conta corrente', maskedNumber: '•••• 3456', paymentAccount: CHECKING },
      { type: 'ACCOUNT', resourceId: 'acc-002', label: 'Conta poupança', maskedNumber: '•••• 3210', paymentAccount: SAVINGS },
      { type: 'ACCOUNT', resourceId: 'acc-003', label: 'Conta sem Pix', maskedNumber: '•••• 0000' },
      { type: 'CREDIT_CARD_ACCOUNT', resourceId: 'card-1', label: 'Cartão', maskedNumber: '•••• 4444' },
    ] }]]),
    totpCodes: new Map(),
    totpCalls: [],
  }
  let ca: DevCa
  let keystore: Keystore
  let h: AuthServerHarness
  let tpp: TestTpp
  let other: TestTpp
  let ssaKey: { publicKey: JoseKey; privateKey: JoseKey }
  const standIns: Array<{ close(): Promise<unknown> }> = []
  let client: { client_id: string; registration_access_token: string; registration_client_uri: string }
  const ssa = (t: TestTpp, over: Record<string, unknown> = {}) =>
    signSsa(ssaKey.privateKey as unknown as JoseKey, t, keystore, { software_statement_roles: PAYMENT_ROLES, software_api_webhook_uris: WEBHOOKS, ...over })
  const register = async (t: TestTpp, body: Record<string, unknown>) => {
    const res = await t.fetch(`${h.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  const webhookInfo = async (clientId: string, token = true) => {
    const headers: Record<string, string> = token ? { 'x-ponte-service-token': await auth.issuer('connectors').sign('auth-server') } : {}
    const res = await h.app.inject({ method: 'GET', url: `/internal/clients/${encodeURIComponent(clientId)}/webhook`, headers })
    return { status: res.statusCode, body: res.json() as Record<string, unknown> }
  }

  beforeAll(async () => {
    ca = await createDevCa()
    ssaKey = await generateKeyPair('PS256')
    directoryState.ssaKey = ssaKey.publicKey as unknown as JoseKey
    keystore = await startKeystore(ca)
    tpp = await createTestTpp(ca)
    other = await createTestTpp(ca)
    for (const t of [tpp, other]) directoryState.organisations.set(t.orgId, { name: `Org ${t.orgId.slice(0, 4)}`, cnpj: t.cnpj, status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }, { role: 'PAGTO', status: 'Active' }] })
    const dir = directoryStandIn(logger, auth.verifier('directory'), ca, directoryState)
    const con = consentStandIn(logger, auth.verifier('consent'), consentState)
    const conn = connectorsStandIn(logger, auth.verifier('connectors'), connectorsState)
    standIns.push(dir, con, conn)
    h = await startAuthServer({
      ca, schema, logger, issuer: auth.issuer('auth-server'), verifier: auth.verifier('auth-server'), jwksOrigins: [keystore.origin],
      directoryUrl: await listen(dir), consentUrl: await listen(con), connectorsUrl: await listen(conn),
    })
    const reg = await register(tpp, { software_statement: await ssa(tpp), redirect_uris: [REDIRECT], webhook_uris: WEBHOOKS })
    expect(reg.status, JSON.stringify(reg.body)).toBe(201)
    client = reg.body as typeof client
  })

  afterAll(async () => {
    await h?.close()
    for (const s of standIns) await s.close()
    await tpp?.close()
    await other?.close()
    keystore?.server.close()
    await schema.drop()
  })

  describe('webhook URIs (DCR/DCM) and the internal webhook route', () => {
    it('stores and echoes webhook_uris equal to the SSA\'s, and the internal route answers them with the organisation', async () => {
      const got = await tpp.fetch(client.registration_client_uri, { headers: { authorization: `Bearer ${client.registration_access_token}` } })
      expect((await got.json() as Record<string, unknown>).webhook_uris).toEqual(WEBHOOKS)
      const info = await webhookInfo(client.client_id)
      expect(info.status).toBe(200)
      expect(ClientWebhookInfo.parse(info.body)).toEqual({ clientId: client.client_id, organisationId: tpp.orgId, webhookUris: WEBHOOKS, active: true })
    })

    it('refuses webhook_uris that differ from the SSA\'s (a subset, another URI, a trailing slash) with 400 invalid_webhook_uris', async () => {
      for (const uris of [[WEBHOOKS[0]], [...WEBHOOKS, 'https://evil.example.com/hook'], ['https://other.example.com/hook', WEBHOOKS[1]], [`${WEBHOOKS[0]}/`, WEBHOOKS[1]]]) {
        const res = await register(other, { software_statement: await ssa(other), redirect_uris: [REDIRECT], webhook_uris: uris })
        expect([res.status, res.body.error], JSON.stringify(uris)).toEqual([400, 'invalid_webhook_uris'])
      }
      const none = await register(other, { software_statement: await ssa(other), redirect_uris: [REDIRECT] })
      expect(none.status).toBe(201)
      expect(none.body.webhook_uris).toBeUndefined()
      expect((await webhookInfo(String(none.body.client_id))).body).toMatchObject({ webhookUris: [], active: true })
    })

    it('DCM updates webhook_uris to a new SSA\'s set and refuses a mismatch; the internal route follows', async () => {
      const next = ['https://tpp.example.com/webhook-v2']
      const put = async (uris: string[]) => tpp.fetch(client.registration_client_uri, {
        method: 'PUT', headers: { authorization: `Bearer ${client.registration_access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ software_statement: await ssa(tpp, { software_api_webhook_uris: next }), redirect_uris: [REDIRECT], webhook_uris: uris }),
      })
      const bad = await put(WEBHOOKS)
      expect([bad.status, (await bad.json() as { error: string }).error]).toEqual([400, 'invalid_webhook_uris'])
      expect((await webhookInfo(client.client_id)).body.webhookUris).toEqual(WEBHOOKS)
      const ok = await put(next)
      expect(ok.status).toBe(200)
      expect((await ok.json() as Record<string, unknown>).webhook_uris).toEqual(next)
      expect((await webhookInfo(client.client_id)).body.webhookUris).toEqual(next)
      const back = await tpp.fetch(client.registration_client_uri, {
        method: 'PUT', headers: { authorization: `Bearer ${client.registration_access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ software_statement: await ssa(tpp), redirect_uris: [REDIRECT], webhook_uris: WEBHOOKS }),
      })
      expect(back.status).toBe(200)
    })

    it('answers active=false while the organisation is withdrawn, 404 for an unknown client, 401 without a service token', async () => {
      await h.pool.query('insert into withdrawn_organisations (org_id) values ($1)', [tpp.orgId])
      try {
        expect((await webhookInfo(client.client_id)).body).toMatchObject({ active: false, webhookUris: WEBHOOKS })
      } finally {
        await h.pool.query('delete from withdrawn_organisations where org_id = $1', [tpp.orgId])
      }
      expect((await webhookInfo(client.client_id)).body.active).toBe(true)
      const unknown = await webhookInfo('no-such-client')
      expect(unknown.status).toBe(404)
      expect(unknown.body.errors).toBeDefined()
      expect((await webhookInfo(client.client_id, false)).status).toBe(401)
    })
  })

  it('issues client_credentials tokens with scope payments to a client with the PAGTO role', async () => {
    const config = await tpp.oidc(h.issuer, client.client_id)
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'payments' })
    const at = decodeJwt(tokens.access_token)
    expect(at.scope).toBe('payments')
    expect((at.cnf as Record<string, string>)['x5t#S256']).toBe(tpp.certificate.x5tS256)
    expect(tokens.refresh_token).toBeUndefined()
  })

  /** PAR for a consent, then the login page; each step of the journey is driven by the test. */
  async function start(consentId: string, o: { scope?: string; uiLocales?: string } = {}) {
    const config = await tpp.oidc(h.issuer, client.client_id)
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: REDIRECT, scope: o.scope ?? `openid consent:${consentId} payments`, code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', state, nonce, response_mode: 'fragment',
      claims: JSON.stringify({ id_token: { acr: { essential: true }, cpf: { essential: true } } }),
      ...(o.uiLocales ? { ui_locales: o.uiLocales } : {}),
    }, { key: await tpp.signingKey(), kid: tpp.certificate.kid })
    const browser = new Browser(h.browserFetch)
    const page = await browser.follow((await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)).toString(), REDIRECT)
    const base = page.url.replace(/\/$/, '')
    const csrf = page.url.startsWith(REDIRECT) ? '' : formValue(page.body, 'csrf')
    const post = async (path: string, form: Record<string, string | string[]>) => browser.request(`${base}${path}`, { form: { csrf, ...form } })
    return {
      config, verifier, state, nonce, browser, base, loginPage: page.body, landed: page.url,
      login: (cpf = CPF, senha = 'senha-forte-1') => post('/login', { cpf, senha }),
      totp: (codigo: string) => post('/totp', { codigo }),
      /** Follows a redirect to the next page (or the TPP). */
      follow: (location: string) => browser.follow(location, REDIRECT),
      post: (url: string, form: Record<string, string | string[]>, pageBody: string) => browser.request(url, { form: { csrf: formValue(pageBody, 'csrf'), ...form } }),
    }
  }
  const fragment = (url: string) => new URLSearchParams(new URL(url).hash.slice(1))
  const put = (c: ReturnType<typeof aPaymentConsent>) => {
    consentState.consents.set(c.consent.consentId, c.consent)
    consentState.payments!.set(c.payment.consentId, c.payment)
    return c.payment.consentId
  }
  const radios = (html: string) => radioValues(html, 'debtorAccount')
  async function resetThrottle() {
    const keys = await h.redis.keys(`test:${schema.name}:*`)
    if (keys.length) await h.redis.del(...keys)
    h.throttleClock.offsetMs = 0
  }

  it('login → TOTP (wrong codes refused then throttled, the right one accepted once) → review with a debtor account to choose → Autorizar → code → token (acr loa3)', async () => {
    await resetThrottle()
    const consentId = put(aPaymentConsent({ clientId: client.client_id, cpf: CPF }))
    const j = await start(consentId)
    const afterPassword = await j.login()
    expect(afterPassword.status).toBe(200)
    expect(afterPassword.body).toContain('<label for="codigo">Código</label>')
    expect(afterPassword.body).toMatch(/<button[^>]*>Confirmar<\/button>/)
    expect(afterPassword.body).toContain('action="/interaction/')

    // Wrong codes: two free failures, then each one makes the CPF wait (said on the page); while it waits, the core is not asked.
    const calls = () => connectorsState.totpCalls!.length
    connectorsState.totpCodes!.set(CPF, '246810')
    for (const code of ['000000', '111111']) {
      const wrong = await j.totp(code)
      expect(wrong.status).toBe(401)
      expect(wrong.body).toContain('Código incorreto ou já usado')
      expect(wrong.body).not.toContain('data-until')
    }
    const third = await j.totp('222222')
    expect(third.status).toBe(401)
    expect(third.body).toMatch(/data-until="[^"]+"/)
    const before = calls()
    const held = await j.totp('246810')
    expect(held.status).toBe(429)
    expect(Number(held.headers['retry-after'])).toBeGreaterThan(0)
    expect(calls()).toBe(before)
    expect(consentState.paymentAuthorisations!.some((a) => a.consentId === consentId)).toBe(false)
    // The wait over, the right code is accepted, and only once.
    h.throttleClock.offsetMs = 60_000
    const right = await j.totp('246810')
    expect(right.status).toBe(303)
    expect(connectorsState.totpCalls!.at(-1)).toEqual({ cpf: CPF, code: '246810' })
    const replay = await j.totp('246810')
    expect(replay.status).toBeGreaterThanOrEqual(400)

    // The review page: amount, creditor with the document masked, date, and a radio group of the payable accounts.
    const review = await j.follow(right.location!)
    expect(review.status).toBe(200)
    expect(review.body).toContain('Revise o pagamento')
    expect(review.body).toMatch(/<p id="valor">R\$\s1\.234,56<\/p>/)
    expect(review.body).toContain('Mariana Costa Pereira · ***.982.247-**')
    expect(review.body).not.toContain('52998224725')
    expect(review.body).toContain('7 de dezembro de 2026')
    expect(radios(review.body)).toEqual(['acc-001', 'acc-002'])
    expect(review.body).toContain('<label for="conta-1">Conta poupança •••• 3210</label>')
    expect(review.body).toMatch(/<button[^>]*value="authorise"[^>]*>Autorizar<\/button>/)
    expect(review.body).toMatch(/<button[^>]*value="reject"[^>]*>Recusar<\/button>/)

    // Autorizar without an account: the page asks again; an account not offered is refused.
    const confirmUrl = `${review.url.replace(/\/$/, '')}/confirm`
    const none = await j.post(confirmUrl, { decision: 'authorise' }, review.body)
    expect(none.status).toBe(422)
    expect(none.body).toContain('Escolha a conta de onde sai o pagamento.')
    expect((await j.post(confirmUrl, { decision: 'authorise', debtorAccount: 'acc-003' }, review.body)).status).toBe(400)
    const ok = await j.post(confirmUrl, { decision: 'authorise', debtorAccount: 'acc-002' }, review.body)
    expect(ok.status).toBe(303)
    expect(consentState.paymentAuthorisations!.filter((a) => a.consentId === consentId).map((a) => a.body)).toEqual([{
      authenticatedUser: { cpf: CPF }, acr: 'urn:brasil:openbanking:loa3', debtorAccount: { resourceId: 'acc-002', account: SAVINGS },
    }])
    const cb = await j.follow(ok.location!)
    expect(fragment(cb.url).get('code')).toBeTruthy()

    const tokens = await oidc.authorizationCodeGrant(j.config, new URL(cb.url), { pkceCodeVerifier: j.verifier, expectedState: j.state, expectedNonce: j.nonce })
    expect(tokens.claims()!.acr).toBe('urn:brasil:openbanking:loa3')
    expect(tokens.claims()!.cpf).toBe(CPF)
    const at = decodeJwt(tokens.access_token)
    expect(String(at.scope).split(' ')).toEqual(expect.arrayContaining(['payments', `consent:${consentId}`]))
    expect(at.consent_id).toBe(consentId)
    expect((at.cnf as Record<string, string>)['x5t#S256']).toBe(tpp.certificate.x5tS256)
    // A refresh token while the consent is AUTHORISED; none works once it is CONSUMED.
    expect(tokens.refresh_token).toBeTruthy()
    consentState.consents.set(consentId, { ...consentState.consents.get(consentId)!, status: 'CONSUMED' })
    await expect(oidc.refreshTokenGrant(j.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
  })

  it('a payment consent CONSUMED before the code exchange gets no token (and so no refresh token)', async () => {
    await resetThrottle()
    const consentId = put(aPaymentConsent({ clientId: client.client_id, cpf: CPF, debtorAccount: CHECKING }))
    const j = await start(consentId)
    await j.login()
    connectorsState.totpCodes!.set(CPF, '135790')
    const review = await j.follow((await j.totp('135790')).location!)
    const ok = await j.post(`${review.url.replace(/\/$/, '')}/confirm`, { decision: 'authorise' }, review.body)
    const cb = await j.follow(ok.location!)
    consentState.consents.set(consentId, { ...consentState.consents.get(consentId)!, status: 'CONSUMED' })
    await expect(oidc.authorizationCodeGrant(j.config, new URL(cb.url), { pkceCodeVerifier: j.verifier, expectedState: j.state, expectedNonce: j.nonce }))
      .rejects.toMatchObject({ error: 'invalid_grant' })
  })

  it('shows the debtor account the consent names (no choice) and authorises with it; speaks English with ui_locales=en', async () => {
    await resetThrottle()
    const consentId = put(aPaymentConsent({
      clientId: client.client_id, cpf: CPF, debtorAccount: { ...CHECKING, issuer: '1', number: '123456' },
      payment: { type: 'PIX', schedule: { single: { date: '2026-12-20' } }, currency: 'BRL', amount: '10.00', details: { localInstrument: 'MANU' } },
      creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: '04252011000110', name: 'Loja Exemplo' },
    }))
    const j = await start(consentId, { uiLocales: 'en' })
    expect(j.loginPage).toContain('lang="en"')
    const totpPage = await j.login()
    expect(totpPage.body).toContain('<label for="codigo">Code</label>')
    expect(totpPage.body).toMatch(/<button[^>]*>Confirm<\/button>/)
    connectorsState.totpCodes!.set(CPF, '975310')
    const review = await j.follow((await j.totp('975310')).location!)
    expect(review.body).toContain('Review the payment')
    expect(review.body).toContain('Loja Exemplo · 04.252.011/****-**')
    expect(review.body).toContain('Scheduled for 20 December 2026')
    expect(review.body).toContain('Conta corrente •••• 3456')
    expect(radios(review.body)).toEqual([])
    expect(review.body).toMatch(/<button[^>]*value="authorise"[^>]*>Authorise<\/button>/)
    const ok = await j.post(`${review.url.replace(/\/$/, '')}/confirm`, { decision: 'authorise' }, review.body)
    expect(fragment((await j.follow(ok.location!)).url).get('code')).toBeTruthy()
    expect(consentState.paymentAuthorisations!.find((a) => a.consentId === consentId)?.body.debtorAccount).toEqual({ resourceId: 'acc-001', account: CHECKING })
  })

  it('Recusar rejects the payment consent through the shared reject and answers access_denied', async () => {
    await resetThrottle()
    const consentId = put(aPaymentConsent({ clientId: client.client_id, cpf: CPF }))
    const j = await start(consentId)
    await j.login()
    connectorsState.totpCodes!.set(CPF, '102030')
    const review = await j.follow((await j.totp('102030')).location!)
    const no = await j.post(`${review.url.replace(/\/$/, '')}/confirm`, { decision: 'reject' }, review.body)
    const cb = await j.follow(no.location!)
    expect(fragment(cb.url).get('error')).toBe('access_denied')
    expect(fragment(cb.url).get('code')).toBeNull()
    expect(consentState.consents.get(consentId)).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'USER', reason: 'CUSTOMER_MANUALLY_REJECTED' } })
    expect(consentState.paymentAuthorisations!.some((a) => a.consentId === consentId)).toBe(false)
  })

  it('refuses (access_denied, no TOTP step) a customer who is not the consent\'s user, a business the customer cannot act for, an expired consent', async () => {
    await resetThrottle()
    const cases = [
      aPaymentConsent({ clientId: client.client_id, cpf: '11144477735' }),
      aPaymentConsent({ clientId: client.client_id, cpf: CPF, businessEntity: { cnpj: '04252011000110' } }),
    ]
    for (const c of cases) {
      const j = await start(put(c))
      const res = await j.login()
      expect(res.status).toBe(303)
      expect(res.body).not.toContain('codigo')
      expect(fragment((await j.follow(res.location!)).url).get('error')).toBe('access_denied')
    }
    const expired = aPaymentConsent({ clientId: client.client_id, cpf: CPF, expirationDateTime: new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z') })
    const j = await start(put(expired))
    expect(j.loginPage).toBe('')
    expect(fragment(j.landed).get('error')).toBe('access_denied')
  })

  it('a business consent the customer acts for goes through and names the CNPJ at authorisation', async () => {
    await resetThrottle()
    const consentId = put(aPaymentConsent({ clientId: client.client_id, cpf: CPF, businessEntity: { cnpj: CNPJ }, debtorAccount: CHECKING }))
    const j = await start(consentId)
    await j.login()
    connectorsState.totpCodes!.set(CPF, '556677')
    const review = await j.follow((await j.totp('556677')).location!)
    const ok = await j.post(`${review.url.replace(/\/$/, '')}/confirm`, { decision: 'authorise' }, review.body)
    expect(ok.status).toBe(303)
    expect(consentState.paymentAuthorisations!.find((a) => a.consentId === consentId)?.body.authenticatedUser).toEqual({ cpf: CPF, cnpj: CNPJ })
  })

  it('data consents keep LoA2: no TOTP step, acr loa2', async () => {
    await resetThrottle()
    const consent = aConsent({ clientId: client.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const calls = connectorsState.totpCalls!.length
    const j = await start(consent.consentId, { scope: `openid accounts consent:${consent.consentId}` })
    const res = await j.login()
    expect(res.status).toBe(303)
    const review = await j.follow(res.location!)
    expect(review.body).toContain('Revise o compartilhamento')
    const boxes = [...review.body.matchAll(/name="resource" value="([^"]*)"/g)].map((m) => m[1]!.replace(/&#(\d+);/g, (_s, n: string) => String.fromCharCode(Number(n))))
    const ok = await j.post(`${review.url.replace(/\/$/, '')}/confirm`, { decision: 'authorise', resource: boxes.slice(0, 1) }, review.body)
    const cb = await j.follow(ok.location!)
    const tokens = await oidc.authorizationCodeGrant(j.config, new URL(cb.url), { pkceCodeVerifier: j.verifier, expectedState: j.state, expectedNonce: j.nonce })
    expect(tokens.claims()!.acr).toBe('urn:brasil:openbanking:loa2')
    expect(connectorsState.totpCalls!.length).toBe(calls)
  })
})
