import { generateKeyPair, decodeJwt, decodeProtectedHeader, importJWK, SignJWT, UnsecuredJWT, type CryptoKey as JoseKey } from 'jose'
import * as oidc from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevCa, type DevCa } from '@ponte/pki'
import { createTestTpp, listen, testLogger, testSchema, testServiceAuth, type TestTpp } from '@ponte/testkit'
import { aConsent, connectorsStandIn, consentStandIn, directoryStandIn, type ConnectorsState, type ConsentState, type DirectoryState } from './support/stand-ins.ts'
import { Browser, checkboxValues, formValue, signSsa, startAuthServer, startKeystore, type AuthServerHarness, type Keystore } from './support/harness.ts'

const CPF = '76109277673'
const REDIRECT = 'https://tpp.example.com/cb'

describe('auth-server: DCR, client credentials, PAR and the customer journey (stand-ins for its neighbours)', () => {
  const schema = testSchema('auth_flow')
  const { logger } = testLogger('auth-server-test')
  const auth = testServiceAuth()
  const directoryState: DirectoryState = { ssaKey: undefined as unknown as JoseKey, organisations: new Map() }
  const consentState: ConsentState = { consents: new Map() }
  const connectorsState: ConnectorsState = {
    customers: new Map([[CPF, { password: 'senha-forte-1', name: 'Maria Silva', businesses: [], resources: [
      { type: 'ACCOUNT', resourceId: 'acc-001', label: 'Conta corrente', maskedNumber: '•••• 1234' },
      { type: 'ACCOUNT', resourceId: 'acc-002', label: 'Conta poupança', maskedNumber: '•••• 9876' },
      { type: 'CREDIT_CARD_ACCOUNT', resourceId: 'card-1', label: 'Cartão', maskedNumber: '•••• 4444' },
    ] }]]),
  }
  let ca: DevCa
  let keystore: Keystore
  let h: AuthServerHarness
  let tppA: TestTpp
  let tppB: TestTpp
  let tppC: TestTpp
  let ssaKey: { publicKey: JoseKey; privateKey: JoseKey }
  const standIns: Array<{ close(): Promise<unknown> }> = []
  let clientA: { client_id: string; registration_access_token: string; registration_client_uri: string }

  beforeAll(async () => {
    ca = await createDevCa()
    ssaKey = await generateKeyPair('PS256')
    directoryState.ssaKey = ssaKey.publicKey as unknown as JoseKey
    keystore = await startKeystore(ca)
    tppA = await createTestTpp(ca)
    tppB = await createTestTpp(ca)
    tppC = await createTestTpp(ca)
    for (const t of [tppA, tppB, tppC]) directoryState.organisations.set(t.orgId, { name: `Org ${t.orgId.slice(0, 4)}`, cnpj: t.cnpj, status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] })
    const dir = directoryStandIn(logger, auth.verifier('directory'), ca, directoryState)
    const con = consentStandIn(logger, auth.verifier('consent'), consentState)
    const conn = connectorsStandIn(logger, auth.verifier('connectors'), connectorsState)
    standIns.push(dir, con, conn)
    h = await startAuthServer({
      ca, schema, logger, issuer: auth.issuer('auth-server'), verifier: auth.verifier('auth-server'), jwksOrigins: [keystore.origin],
      directoryUrl: await listen(dir), consentUrl: await listen(con), connectorsUrl: await listen(conn),
    })
  })

  afterAll(async () => {
    await h?.close()
    for (const s of standIns) await s.close()
    await tppA?.close()
    await tppB?.close()
    await tppC?.close()
    keystore?.server.close()
    await schema.drop()
  })

  const register = (tpp: TestTpp, body: Record<string, unknown>, fetchFn = tpp.fetch) =>
    fetchFn(`${h.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  it('publishes FAPI-BR discovery metadata and nothing uncertified', async () => {
    const res = await tppA.fetch(`${h.issuer}/.well-known/openid-configuration`)
    expect(res.status).toBe(200)
    const d = await res.json() as Record<string, unknown>
    expect(d.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt'])
    expect(d.token_endpoint_auth_signing_alg_values_supported).toEqual(['PS256'])
    expect(d.request_object_signing_alg_values_supported).toEqual(['PS256'])
    expect(d.id_token_signing_alg_values_supported).toEqual(['PS256'])
    expect(d.id_token_encryption_alg_values_supported).toEqual(['RSA-OAEP'])
    expect(d.id_token_encryption_enc_values_supported).toEqual(['A256GCM'])
    expect(d.response_types_supported).toEqual(['code id_token'])
    expect(d.response_modes_supported).toEqual(['fragment'])
    expect(d.subject_types_supported).toEqual(['public'])
    expect(d.code_challenge_methods_supported).toEqual(['S256'])
    expect(d.require_pushed_authorization_requests).toBe(true)
    expect(d.tls_client_certificate_bound_access_tokens).toBe(true)
    expect(d.acr_values_supported).toEqual(['urn:brasil:openbanking:loa2', 'urn:brasil:openbanking:loa3'])
    expect(d.claims_parameter_supported).toBe(true)
    expect(d.end_session_endpoint).toBeUndefined()
    expect(d.dpop_signing_alg_values_supported).toBeUndefined()
    for (const s of ['invoice-financings', 'financings', 'loans', 'unarranged-accounts-overdraft', 'bank-fixed-incomes', 'credit-fixed-incomes',
      'variable-incomes', 'treasure-titles', 'funds', 'exchanges', 'openid', 'accounts', 'consents']) expect(d.scopes_supported).toContain(s)
    expect(d.scopes_supported).not.toContain('offline_access')
    expect(d.registration_endpoint).toBe(`${h.issuer}/register`)
    const jwks = await (await tppA.fetch(`${h.issuer}/jwks`)).json() as { keys: Array<Record<string, unknown>> }
    expect(jwks.keys.map((k) => k.use).sort()).toEqual(['enc', 'sig'])
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true)
  })

  it('registers a client from its software statement over mTLS (DCR-BR)', async () => {
    const ssa = await signSsa(ssaKey.privateKey as unknown as JoseKey, tppA, keystore)
    const res = await register(tppA, { software_statement: ssa, redirect_uris: [REDIRECT], webhook_uris: ['https://tpp.example.com/webhook'] })
    const body = await res.json() as Record<string, unknown>
    expect(res.status, JSON.stringify(body)).toBe(201)
    expect(body.client_id).toEqual(expect.any(String))
    expect(body.registration_access_token).toEqual(expect.any(String))
    expect(body.registration_client_uri).toBe(`${h.issuer}/register/${String(body.client_id)}`)
    expect(body.token_endpoint_auth_method).toBe('private_key_jwt')
    expect(body.jwks_uri).toBe(`${keystore.origin}/${tppA.orgId}/${tppA.softwareId}/application.jwks`)
    expect(body.software_id).toBe(tppA.softwareId)
    expect(body.org_id).toBe(tppA.orgId)
    expect(body.client_name).toBe('App Exemplo')
    expect(String(body.scope).split(' ')).toEqual(expect.arrayContaining(['openid', 'accounts', 'consents', 'resources']))
    expect(String(body.scope)).not.toContain('payments')
    expect(body.id_token_encrypted_response_alg).toBe('RSA-OAEP')
    clientA = body as typeof clientA

    // DCM: GET with the registration access token, which does not rotate.
    const got = await tppA.fetch(clientA.registration_client_uri, { headers: { authorization: `Bearer ${clientA.registration_access_token}` } })
    const gotBody = await got.json() as Record<string, unknown>
    expect(got.status).toBe(200)
    expect(gotBody.registration_access_token).toBe(clientA.registration_access_token)
    expect(gotBody.client_id).toBe(clientA.client_id)

    // DCM: PUT with a fresh SSA re-runs the checks and keeps the token.
    const fresh = await signSsa(ssaKey.privateKey as unknown as JoseKey, tppA, keystore)
    const put = await tppA.fetch(clientA.registration_client_uri, {
      method: 'PUT', headers: { authorization: `Bearer ${clientA.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ software_statement: fresh, redirect_uris: [REDIRECT, 'https://tpp.example.com/cb2'], webhook_uris: ['https://tpp.example.com/webhook'] }),
    })
    const putBody = await put.json() as Record<string, unknown>
    expect(put.status, JSON.stringify(putBody)).toBe(200)
    expect(putBody.redirect_uris).toEqual([REDIRECT, 'https://tpp.example.com/cb2'])
    expect(putBody.registration_access_token).toBe(clientA.registration_access_token)
  })

  /** Runs PAR (signed request object, PKCE S256) and the journey; returns the TPP callback URL and the PKCE verifier. */
  async function journey(config: oidc.Configuration, tpp: TestTpp, consentId: string, o: { cpf?: string; password?: string; decision?: 'authorise' | 'reject'; uiLocales?: string } = {}) {
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const params: Record<string, string> = {
      redirect_uri: REDIRECT, scope: `openid accounts consent:${consentId}`, code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', state, nonce, response_mode: 'fragment',
      claims: JSON.stringify({ id_token: { acr: { essential: true }, cpf: { essential: true } }, userinfo: { cpf: { essential: true } } }),
      ...(o.uiLocales ? { ui_locales: o.uiLocales } : {}),
    }
    const jar = await oidc.buildAuthorizationUrlWithJAR(config, params, { key: await tpp.signingKey(), kid: tpp.certificate.kid })
    const authUrl = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)
    const browser = new Browser(h.browserFetch)
    let page = await browser.follow(authUrl.toString(), REDIRECT)
    if (page.url.startsWith(REDIRECT)) return { callback: page.url, verifier, state, nonce, browser, pages: [] as string[] }
    const pages = [page.body]
    const login = await browser.request(page.url.replace(/\/?$/, '/login').replace('/login/login', '/login'), {
      form: { csrf: formValue(page.body, 'csrf'), cpf: o.cpf ?? CPF, senha: o.password ?? 'senha-forte-1' },
    })
    if (!login.location) return { callback: '', verifier, state, nonce, browser, pages: [...pages, login.body], loginStatus: login.status }
    page = await browser.follow(login.location, REDIRECT)
    if (page.url.startsWith(REDIRECT)) return { callback: page.url, verifier, state, nonce, browser, pages }
    pages.push(page.body)
    const boxes = checkboxValues(page.body)
    const confirm = await browser.request(`${page.url}/confirm`, { form: { csrf: formValue(page.body, 'csrf'), decision: o.decision ?? 'authorise', resource: boxes.slice(0, 1) } })
    page = await browser.follow(confirm.location!, REDIRECT)
    return { callback: page.url, verifier, state, nonce, browser, pages }
  }

  const fragment = (url: string) => new URLSearchParams(new URL(url).hash.slice(1))

  it('registers the DCR-BR example grant types (implicit with code id_token) and the client completes PAR → journey → token', async () => {
    const grantTypes = ['authorization_code', 'implicit', 'refresh_token', 'client_credentials']
    const refused = async (body: Record<string, unknown>) => {
      const res = await register(tppC, { redirect_uris: [REDIRECT], software_statement: await signSsa(ssaKey.privateKey as unknown as JoseKey, tppC, keystore), ...body })
      const json = await res.json() as Record<string, unknown>
      return [res.status, json.error]
    }
    for (const bad of [['authorization_code', 'password'], ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code'], ['implicit', 'client_credentials']]) {
      expect(await refused({ grant_types: bad }), bad.join(',')).toEqual([400, 'invalid_client_metadata'])
    }
    const res = await register(tppC, { software_statement: await signSsa(ssaKey.privateKey as unknown as JoseKey, tppC, keystore), redirect_uris: [REDIRECT], grant_types: grantTypes, response_types: ['code id_token'] })
    const body = await res.json() as Record<string, unknown> & { client_id: string; registration_access_token: string; registration_client_uri: string }
    expect(res.status, JSON.stringify(body)).toBe(201)
    expect([...(body.grant_types as string[])].sort()).toEqual([...grantTypes].sort())
    const stored = await h.pool.query<{ g: string[] }>(`select payload->'grant_types' as g from oidc_model where model = 'Client' and id = $1`, [body.client_id])
    expect(stored.rows[0]!.g).toContain('implicit')
    // DCM follows the same rule.
    const put = await tppC.fetch(body.registration_client_uri, {
      method: 'PUT', headers: { authorization: `Bearer ${body.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ software_statement: await signSsa(ssaKey.privateKey as unknown as JoseKey, tppC, keystore), redirect_uris: [REDIRECT], grant_types: grantTypes }),
    })
    expect(put.status).toBe(200)
    expect((await put.json() as { grant_types: string[] }).grant_types).toContain('implicit')
    const badPut = await tppC.fetch(body.registration_client_uri, {
      method: 'PUT', headers: { authorization: `Bearer ${body.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ software_statement: await signSsa(ssaKey.privateKey as unknown as JoseKey, tppC, keystore), redirect_uris: [REDIRECT], grant_types: [...grantTypes, 'password'] }),
    })
    expect([badPut.status, (await badPut.json() as { error: string }).error]).toEqual([400, 'invalid_client_metadata'])

    // The certified relying-party library completes the hybrid flow with this client.
    const config = await tppC.oidc(h.issuer, body.client_id)
    const consent = aConsent({ clientId: body.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const r = await journey(config, tppC, consent.consentId)
    expect(fragment(r.callback).get('code')).toBeTruthy()
    const tokens = await oidc.authorizationCodeGrant(config, new URL(r.callback), { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce })
    expect(decodeJwt(tokens.access_token).consent_id).toBe(consent.consentId)
    expect(tokens.claims()!.cpf).toBe(CPF)
  })

  it('issues client_credentials tokens bound to the certificate', async () => {
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'consents' })
    expect(tokens.token_type.toLowerCase()).toBe('bearer')
    const at = decodeJwt(tokens.access_token)
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'PS256', typ: 'at+jwt' })
    expect(at).toMatchObject({ iss: h.issuer, client_id: clientA.client_id, scope: 'consents', aud: 'https://127.0.0.1:8443', org_id: tppA.orgId, software_id: tppA.softwareId })
    expect((at.cnf as Record<string, string>)['x5t#S256']).toBe(tppA.certificate.x5tS256)
    expect(at.exp! - at.iat!).toBe(300)
    expect(tokens.refresh_token).toBeUndefined()
  })

  it('runs PAR → login → consent review → code + encrypted id_token → token → userinfo → refresh; a rejected consent kills the refresh token', async () => {
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF, expirationDateTime: '2027-01-01T00:00:00Z' })
    consentState.consents.set(consent.consentId, consent)
    const r = await journey(config, tppA, consent.consentId)
    // Login page: labels and button as the journey requires; consent page: grouped permissions and labelled accounts.
    expect(r.pages[0]).toContain('<label for="cpf">CPF</label>')
    expect(r.pages[0]).toContain('<label for="senha">Senha</label>')
    expect(r.pages[0]).toMatch(/<button[^>]*>Entrar<\/button>/)
    expect(r.pages[1]).toMatch(/<button[^>]*value="authorise"[^>]*>Autorizar<\/button>/)
    expect(r.pages[1]).toMatch(/<button[^>]*value="reject"[^>]*>Recusar<\/button>/)
    expect(r.pages[1]).toContain('<label for="recurso-0">Conta corrente •••• 1234</label>')
    expect(r.pages[1]).toContain('<label for="recurso-1">Conta poupança •••• 9876</label>')
    expect(r.pages[1]).not.toContain('Cartão')
    expect(r.pages[1]).toContain('Saldos')

    const cb = fragment(r.callback)
    expect(cb.get('code')).toBeTruthy()
    const idToken = cb.get('id_token')!
    expect(idToken.split('.')).toHaveLength(5)
    expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: tppA.encryptionKey.kid })
    expect(consentState.consents.get(consent.consentId)).toMatchObject({ status: 'AUTHORISED', resources: [{ type: 'ACCOUNT', resourceId: 'acc-001' }] })

    const tokens = await oidc.authorizationCodeGrant(config, new URL(r.callback), { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce })
    const claims = tokens.claims()!
    expect(claims.acr).toBe('urn:brasil:openbanking:loa2')
    expect(claims.cpf).toBe(CPF)
    expect(oidc.getDecryptedResponses(tokens)).toBeTruthy()
    const at = decodeJwt(tokens.access_token)
    expect(String(at.scope).split(' ')).toEqual(expect.arrayContaining(['accounts', `consent:${consent.consentId}`]))
    expect(at.consent_id).toBe(consent.consentId)
    expect((at.cnf as Record<string, string>)['x5t#S256']).toBe(tppA.certificate.x5tS256)
    expect(tokens.refresh_token).toBeTruthy()

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)
    expect(userinfo.cpf).toBe(CPF)
    // The access token is bound to A's certificate: B's TLS session cannot use it.
    const stolen = await tppB.fetch(`${h.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(stolen.status).toBe(401)

    // Refresh tokens do not rotate: the same one keeps working.
    const again = await oidc.refreshTokenGrant(config, tokens.refresh_token!)
    expect(again.refresh_token ?? tokens.refresh_token).toBe(tokens.refresh_token)
    const third = await oidc.refreshTokenGrant(config, tokens.refresh_token!)
    expect(decodeJwt(third.access_token).consent_id).toBe(consent.consentId)

    // The consent is revoked (ponte.consent.v1 consent.rejected): its grant goes, so refresh fails.
    consentState.consents.set(consent.consentId, { ...consentState.consents.get(consent.consentId)!, status: 'REJECTED' })
    const { onConsentEvent } = await import('../src/adapters/event-handlers.ts')
    const { idempotentHandler } = await import('@ponte/platform')
    await idempotentHandler(h.pool, 'auth-server.consent', onConsentEvent)({
      id: crypto.randomUUID(), source: 'consent', occurredAt: new Date().toISOString(), version: 1, type: 'consent.rejected',
      data: { consentId: consent.consentId, kind: 'data', clientId: clientA.client_id, rejectedBy: 'USER', reason: 'CUSTOMER_MANUALLY_REVOKED', previousStatus: 'AUTHORISED' },
    }, undefined)
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
  })

  it('speaks English with ui_locales=en and refuses a customer who is not the consent\'s user', async () => {
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: '11144477735' })
    consentState.consents.set(consent.consentId, consent)
    const r = await journey(config, tppA, consent.consentId, { uiLocales: 'en' })
    expect(r.pages[0]).toContain('lang="en"')
    expect(r.pages[0]).toContain('>Password</label>')
    expect(fragment(r.callback).get('error')).toBe('access_denied')
    expect(consentState.consents.get(consent.consentId)!.status).toBe('AWAITING_AUTHORISATION')
  })

  it('Recusar rejects the consent and returns access_denied', async () => {
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const r = await journey(config, tppA, consent.consentId, { decision: 'reject' })
    expect(fragment(r.callback).get('error')).toBe('access_denied')
    expect(fragment(r.callback).get('code')).toBeNull()
    expect(consentState.consents.get(consent.consentId)).toMatchObject({ status: 'REJECTED', rejection: { reason: 'CUSTOMER_MANUALLY_REJECTED' } })
  })

  /** Forgets every login failure counted so far (keys of this test's schema). */
  async function resetThrottle() {
    const keys = await h.redis.keys(`test:${schema.name}:*`)
    if (keys.length) await h.redis.del(...keys)
    h.throttleClock.offsetMs = 0
  }

  /** Opens the login page of a fresh journey; `post` submits the form (the interaction survives failed logins). */
  async function loginForm(config: oidc.Configuration, tpp: TestTpp, consentId: string) {
    const verifier = oidc.randomPKCECodeVerifier()
    const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: REDIRECT, scope: `openid accounts consent:${consentId}`, code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', state: oidc.randomState(), nonce: oidc.randomNonce(), response_mode: 'fragment',
    }, { key: await tpp.signingKey(), kid: tpp.certificate.kid })
    const browser = new Browser(h.browserFetch)
    const page = await browser.follow((await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)).toString(), REDIRECT)
    const csrf = formValue(page.body, 'csrf')
    const url = `${page.url.replace(/\/$/, '')}/login`
    return {
      post: async (cpf: string, senha: string) => {
        const res = await browser.request(url, { form: { csrf, cpf, senha } })
        const until = /data-until="([^"]+)"/.exec(res.body)?.[1]
        return { ...res, until: until ? new Date(until) : undefined, message: /<p class="error" role="alert" id="login-error"[^>]*>([^<]+)<\/p>/.exec(res.body)?.[1] }
      },
    }
  }

  it('says a wrong password without telling whether the CPF exists', async () => {
    await resetThrottle()
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const wrong = await journey(config, tppA, consent.consentId, { password: 'errada' })
    const unknown = await journey(config, tppA, consent.consentId, { cpf: '52998224725', password: 'errada' })
    expect(wrong.loginStatus).toBe(401)
    expect(unknown.loginStatus).toBe(401)
    const msg = (html: string) => /<p class="error" role="alert" id="login-error">([^<]+)<\/p>/.exec(html)?.[1]
    expect(msg(wrong.pages[1]!)).toBe('CPF ou senha incorretos. Confira e tente novamente.')
    expect(msg(unknown.pages[1]!)).toBe(msg(wrong.pages[1]!))
    await resetThrottle()
  })

  it('30 failed logins over other CPFs from one address leave a customer\'s login working', async () => {
    await resetThrottle()
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const form = await loginForm(config, tppA, consent.consentId)
    for (let i = 0; i < 30; i++) {
      const res = await form.post(String(10_000_000_000 + i * 7_919).padStart(11, '0'), 'errada')
      expect(res.status).toBe(401)
    }
    const ok = await form.post(CPF, 'senha-forte-1')
    expect(ok.status, ok.message).toBe(303)
    await resetThrottle()
  })

  it('an address that spends its NAT-sized budget (100 failures over many CPFs) waits until the window ends, with the time said', async () => {
    await resetThrottle()
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const form = await loginForm(config, tppA, consent.consentId)
    for (let i = 0; i < 99; i++) expect((await form.post(String(20_000_000_000 + i * 7_919).padStart(11, '0'), 'errada')).until).toBeUndefined()
    const last = await form.post('29999999999', 'errada')
    expect(last.status).toBe(401)
    expect(last.until).toBeDefined()
    const refused = await form.post(CPF, 'senha-forte-1')
    expect(refused.status).toBe(429)
    expect(refused.message).toMatch(/^Muitas tentativas sem sucesso\. Tente novamente a partir de \d{2}:\d{2}:\d{2} \(horário de Brasília\)\.$/)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(800)
    h.throttleClock.offsetMs = last.until!.getTime() - Date.now()
    expect((await form.post(CPF, 'senha-forte-1')).status).toBe(303)
    await resetThrottle()
  })

  it('failures on one CPF slow it down, then hold it (page and Retry-After say until when), never another CPF; the hold ends when said', async () => {
    await resetThrottle()
    const HELD = '11144477735'
    connectorsState.customers.set(HELD, { password: 'outra-senha-1', name: 'João', businesses: [], resources: [] })
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const form = await loginForm(config, tppA, consent.consentId)
    const at = (date: Date) => { h.throttleClock.offsetMs = date.getTime() - Date.now() }

    // Two free failures, then a growing wait after each one (the page says until when).
    for (const n of [1, 2]) expect((await form.post(HELD, 'errada')).until, `failure ${n}`).toBeUndefined()
    const third = await form.post(HELD, 'errada')
    expect(third.status).toBe(401)
    expect(third.until).toBeDefined()
    expect(third.message).toMatch(/^CPF ou senha incorretos\. Confira e tente novamente\. Por segurança, a próxima tentativa só será aceita a partir de \d{2}:\d{2}:\d{2} \(horário de Brasília\)\.$/)
    const early = await form.post(HELD, 'outra-senha-1')
    expect(early.status).toBe(429)
    expect(Number(early.headers['retry-after'] ?? NaN)).toBeGreaterThanOrEqual(1)
    at(third.until!)
    expect((await form.post(HELD, 'errada')).status).toBe(401)
    at(new Date(Date.now() + h.throttleClock.offsetMs + 60_000))
    // The fifth failure starts the hold.
    const fifth = await form.post(HELD, 'errada')
    expect(fifth.status).toBe(401)
    expect(fifth.message).toContain('o acesso está suspenso até')
    const hold = fifth.until!
    const heldNow = Date.now() + h.throttleClock.offsetMs
    expect(hold.getTime() - heldNow).toBeGreaterThan(800_000)

    // Held: even the right password is refused, with the time and Retry-After.
    const refused = await form.post(HELD, 'outra-senha-1')
    expect(refused.status).toBe(429)
    expect(refused.until?.toISOString()).toBe(hold.toISOString())
    expect(refused.message).toContain('o acesso está suspenso até')
    const retryAfter = Number(refused.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(800)
    expect(retryAfter).toBeLessThanOrEqual(900)

    // Another CPF from the same address is not held.
    const other = await (await loginForm(config, tppA, consent.consentId)).post(CPF, 'senha-forte-1')
    expect(other.status, other.message).toBe(303)

    // One second before the time the page said: still held; at that time: the login works.
    at(new Date(hold.getTime() - 1_000))
    expect((await form.post(HELD, 'outra-senha-1')).status).toBe(429)
    at(hold)
    const after = await form.post(HELD, 'outra-senha-1')
    expect(after.status, after.message).toBe(303)
    await resetThrottle()
  })

  it('refuses the consent of another client and an already authorised consent (access_denied)', async () => {
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const other = aConsent({ clientId: 'another-client', cpf: CPF })
    const done = aConsent({ clientId: clientA.client_id, cpf: CPF, status: 'AUTHORISED' })
    consentState.consents.set(other.consentId, other)
    consentState.consents.set(done.consentId, done)
    for (const id of [other.consentId, done.consentId, 'urn:ponte:missing']) {
      const r = await journey(config, tppA, id)
      expect(fragment(r.callback).get('error')).toBe('access_denied')
      expect(r.pages).toHaveLength(0)
    }
  })

  it('refuses a reused authorization code and revokes what the code produced', async () => {
    const config = await tppA.oidc(h.issuer, clientA.client_id)
    const consent = aConsent({ clientId: clientA.client_id, cpf: CPF })
    consentState.consents.set(consent.consentId, consent)
    const r = await journey(config, tppA, consent.consentId)
    const tokens = await oidc.authorizationCodeGrant(config, new URL(r.callback), { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce })
    await expect(oidc.authorizationCodeGrant(config, new URL(r.callback), { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce }))
      .rejects.toMatchObject({ error: 'invalid_grant' })
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
  })

  describe('negative matrix: each gets the documented error and no token', () => {
    const baseRequest = async (over: Record<string, unknown> = {}) => {
      const verifier = oidc.randomPKCECodeVerifier()
      return {
        client_id: clientA.client_id, response_type: 'code id_token', response_mode: 'fragment', redirect_uri: REDIRECT, scope: 'openid accounts consent:urn:ponte:x',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's', nonce: 'n', ...over,
      }
    }
    const signed = async (claims: Record<string, unknown>, alg = 'PS256') => {
      const now = Math.floor(Date.now() / 1000)
      const key = await importJWK(tppA.certificate.privateJwk as never, alg)
      return new SignJWT(claims).setProtectedHeader({ alg, kid: tppA.certificate.kid }).setIssuer(clientA.client_id).setAudience(h.issuer)
        .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 300).sign(key)
    }
    const parError = async (params: Record<string, string>, config?: oidc.Configuration) => {
      try {
        await oidc.buildAuthorizationUrlWithPAR(config ?? await tppA.oidc(h.issuer, clientA.client_id), params)
        return undefined
      } catch (err) {
        return (err as { error?: string }).error
      }
    }

    it('token endpoint: no client certificate, another TPP\'s certificate, client_secret_post, tls_client_auth', async () => {
      // Discovery works without a certificate; the token endpoint does not.
      const noCert = await tppA.oidc(h.issuer, clientA.client_id, { fetch: tppA.fetchWithoutCertificate })
      await expect(oidc.clientCredentialsGrant(noCert, { scope: 'consents' })).rejects.toMatchObject({ error: 'invalid_client', status: 401 })
      const foreignTls = await tppA.oidc(h.issuer, clientA.client_id, { fetch: tppB.fetch })
      await expect(oidc.clientCredentialsGrant(foreignTls, { scope: 'consents' })).rejects.toMatchObject({ error: 'invalid_client' })
      const bodies: Array<Record<string, string>> = [
        { grant_type: 'client_credentials', scope: 'consents', client_id: clientA.client_id, client_secret: 'guess' },
        { grant_type: 'client_credentials', scope: 'consents', client_id: clientA.client_id },
      ]
      for (const body of bodies) {
        const res = await tppA.fetch(`${h.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() })
        const json = await res.json() as Record<string, unknown>
        expect(res.status).toBe(401)
        expect(json.error).toBe('invalid_client')
        expect(json.access_token).toBeUndefined()
      }
    })

    it('PAR: RS256 or none request object, unsigned request, missing or plain PKCE, unregistered redirect URI, response_type=code, response_mode other than fragment', async () => {
      expect(await parError({ request: await signed(await baseRequest(), 'RS256') })).toBe('invalid_request_object')
      expect(await parError({ request: new UnsecuredJWT(await baseRequest()).setIssuer(clientA.client_id).setAudience(h.issuer).setIssuedAt().setNotBefore(Math.floor(Date.now() / 1000)).setExpirationTime('5m').encode() })).toBe('invalid_request_object')
      expect(await parError(await baseRequest() as Record<string, string>)).toBe('invalid_request')
      const { code_challenge: _c, code_challenge_method: _m, ...noPkce } = await baseRequest()
      expect(await parError({ request: await signed(noPkce) })).toBe('invalid_request')
      expect(await parError({ request: await signed(await baseRequest({ code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) })) })).toBe('invalid_request')
      expect(await parError({ request: await signed(await baseRequest({ redirect_uri: 'https://evil.example.com/cb' })) })).toBe('invalid_request')
      expect(await parError({ request: await signed(await baseRequest({ response_type: 'code' })) })).toMatch(/^(unsupported_response_type|invalid_request)$/)
      // FAPI-BR: the hybrid response comes back in the fragment only.
      for (const mode of ['form_post', 'query']) {
        expect(await parError({ request: await signed(await baseRequest({ response_mode: mode })) }), mode).toMatch(/^(unsupported_response_mode|invalid_request)$/)
      }
      // The same request, correctly signed, is accepted: the refusals above come from what they change.
      expect(await parError({ request: await signed(await baseRequest()) })).toBeUndefined()
    })

    it('an expired request_uri is refused at the authorization endpoint', async () => {
      const config = await tppA.oidc(h.issuer, clientA.client_id)
      const url = await oidc.buildAuthorizationUrlWithPAR(config, { request: await signed(await baseRequest()) })
      await h.pool.query("update oidc_model set expires_at = now() - interval '1 second' where model = 'PushedAuthorizationRequest'")
      const res = await new Browser(h.browserFetch).request(url.toString())
      expect(res.status).toBe(400)
      expect(res.body).toContain('invalid_request_uri')
    })

    it('DCR: stale SSA, SSA signed by another key, duplicate registration, foreign certificate, no certificate, bad metadata', async () => {
      const key = ssaKey.privateKey
      const expectError = async (res: Response, status: number, error: string) => {
        const body = await res.json() as Record<string, unknown>
        expect([res.status, body.error], JSON.stringify(body)).toEqual([status, error])
        expect(body.client_id).toBeUndefined()
      }
      const base = { redirect_uris: [REDIRECT] }
      await expectError(await register(tppB, { ...base, software_statement: await signSsa(key, tppB, keystore, {}, Math.floor(Date.now() / 1000) - 360) }), 400, 'invalid_software_statement')
      const other = await generateKeyPair('PS256')
      await expectError(await register(tppB, { ...base, software_statement: await signSsa(other.privateKey, tppB, keystore) }), 400, 'invalid_software_statement')
      const ssaB = await signSsa(key, tppB, keystore)
      await expectError(await register(tppA, { ...base, software_statement: ssaB }), 400, 'unapproved_software_statement')
      await expectError(await register(tppB, { ...base, software_statement: ssaB }, tppB.fetchWithoutCertificate), 401, 'invalid_client')
      await expectError(await register(tppB, { ...base, software_statement: ssaB, jwks: tppB.jwks }), 400, 'invalid_client_metadata')
      await expectError(await register(tppB, { ...base, software_statement: ssaB, token_endpoint_auth_method: 'tls_client_auth' }), 400, 'invalid_client_metadata')
      await expectError(await register(tppB, { ...base, software_statement: ssaB, token_endpoint_auth_method: 'client_secret_basic' }), 400, 'invalid_client_metadata')
      await expectError(await register(tppB, { redirect_uris: ['https://evil.example.com/cb'], software_statement: ssaB }), 400, 'invalid_redirect_uri')
      await expectError(await register(tppB, { ...base, software_statement: ssaB, webhook_uris: ['https://tpp.example.com/other'] }), 400, 'invalid_webhook_uris')
      await expectError(await register(tppB, { ...base, software_statement: ssaB, scope: 'openid payments' }), 400, 'invalid_client_metadata')
      // The refusals above reserved nothing: the same SSA registers once, then is refused as a duplicate.
      const first = await register(tppB, { ...base, software_statement: ssaB })
      expect(first.status).toBe(201)
      await expectError(await register(tppB, { ...base, software_statement: ssaB }), 400, 'invalid_software_statement')
    })

    it('a withdrawn organisation (ponte.directory.v1) can no longer obtain tokens', async () => {
      const { onDirectoryEvent } = await import('../src/adapters/event-handlers.ts')
      const { idempotentHandler } = await import('@ponte/platform')
      const handle = idempotentHandler(h.pool, 'auth-server.directory', onDirectoryEvent)
      const event = (status: 'Active' | 'Withdrawn') => ({
        id: crypto.randomUUID(), source: 'directory', occurredAt: new Date().toISOString(), version: 1 as const, type: 'directory.organisation.changed' as const,
        data: { organisationId: tppA.orgId, status, roles: [{ role: 'DADOS', status: 'Active' as const }], changes: ['status' as const] },
      })
      const config = await tppA.oidc(h.issuer, clientA.client_id)
      await handle(event('Withdrawn'), undefined)
      await expect(oidc.clientCredentialsGrant(config, { scope: 'consents' })).rejects.toMatchObject({ error: 'invalid_client' })
      await handle(event('Active'), undefined)
      expect((await oidc.clientCredentialsGrant(config, { scope: 'consents' })).access_token).toBeTruthy()
    })
  })
})
