// Pix payment initiation end to end against the real services, each its own process started the way `make up` starts
// it (test/e2e/stack.ts), every regulated call through the gateway over mTLS with the TPP's certificate, for Payments
// v4 and v5: onboard a TPP in the sandbox directory with webhook URIs → DCR with `webhook_uris` → client_credentials →
// signed POST /consents with an x-idempotency-key → PAR → login, TOTP (LoA3) and the payment review page (the debtor
// account picked there) → code → token → signed POST /pix/payments → GET until ACSC; a scheduled payment → SCHD →
// cancelled by the TPP (CANC, CANCELADO_AGENDAMENTO). Every answer is valid against the official spec and signed by the
// bank's key as the sandbox directory publishes it; the webhooks of each change reach the TPP's own mTLS server.
import { randomBytes, randomUUID } from 'node:crypto'
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose'
import * as oidc from 'openid-client'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { freePort, specValidator, totpCode, waitFor, type TestTpp } from '@ponte/testkit'
import { Browser, formValue, radioValues } from '../../auth-server/test/support/harness.ts'
import { startReceiver, type Receiver } from '../../connectors/test/webhooks-support.ts'
import { onboardTpp, startE2eStack, type E2eStack } from './e2e/stack.ts'

const PASSWORD = 'P@ssw0rd-demo'
/** The demo customers' documented TOTP secret (README). */
const TOTP_SECRET = 'PONTEDEMOTOTP234'
const REDIRECT = 'https://tpp.example.com.br/callback'
/** The bank's organisation id in the directory (the services' default BANK_ORGANISATION_ID). */
const BANK_ORG_ID = '9f0e2f3c-5b1a-4d8e-a6f7-0c1d2e3f4a5b'
/** The demo bank's ISPB (PIX_ISPB's default): the debtor's institution in the end-to-end ids. */
const ISPB = '99999001'
/** The demo shop's Pix key and account (README's Pix keys table). */
const SHOP = { proxy: 'pix@lojaexemplo.com.br', cnpj: '11444777000161', name: 'Loja Exemplo Ltda', account: { ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' } }
/** One demo customer per version: each TOTP code is accepted once, so the journeys of one customer use successive steps. */
const PAYER = { v4: '76109277673', v5: '52998224725' } as const

type Version = 'v4' | 'v5'
const specs = { v4: specValidator('payments-v4.0.1.yaml'), v5: specValidator('payments-v5.0.0.yaml') }
const xv = { v4: '4.0.1', v5: '5.0.0' }
const webhookSpec = specValidator('webhook-v1.3.0.yaml')

/** Today in Brasília (UTC−3, no daylight saving), and a later day. */
const brasiliaDay = (offsetDays = 0) => new Date(Date.now() - 3 * 3_600_000 + offsetDays * 86_400_000).toISOString().slice(0, 10)
/** An end-to-end id of a payment on `day` (`E` + ISPB + yyyyMMddHHmm + 11 characters); today's at the current UTC time. */
function endToEndId(day: string): string {
  const stamp = day === brasiliaDay() ? new Date().toISOString().replace(/[-T:]/g, '').slice(0, 12) : `${day.replaceAll('-', '')}1500`
  return `E${ISPB}${stamp}${randomBytes(8).toString('hex').slice(0, 11)}`
}

interface Signed { status: number; headers: Headers; claims: Record<string, unknown> & { data?: unknown; errors?: Array<{ code: string }> } }

describe('end to end through the gateway: Pix payments v4 and v5 against the services as processes, with webhooks', () => {
  let stack: E2eStack
  let tls: Agent
  let tpp: TestTpp
  let receiver: Receiver
  let webhookBase: string
  let clientId: string
  let config: oidc.Configuration
  let bankKey: Awaited<ReturnType<typeof importJWK>>
  let bankKid: string
  const lastStep = new Map<string, number>()

  beforeAll(async () => {
    stack = await startE2eStack()
    tls = new Agent({ connect: { ca: stack.pki.caBundlePem } })
    // 1–2. Onboard a payment initiator in the sandbox directory with a webhook URI on this machine (the onboarding
    // bundle carries the server certificate its webhook server presents), then DCR with the statement's webhook URIs.
    webhookBase = `https://127.0.0.1:${await freePort()}/ofb-webhook`
    const onboarded = await onboardTpp(stack, { name: 'Iniciadora Jornada', clientName: 'App Pagamentos', roles: ['PAGTO'], redirectUris: [REDIRECT], webhookUris: [webhookBase] })
    tpp = onboarded.tpp
    expect(onboarded.client.webhook_uris).toEqual([webhookBase])
    clientId = onboarded.client.client_id
    const server = onboarded.statement.webhookServer!
    expect(server.hostnames).toContain('127.0.0.1')
    receiver = await startReceiver({ ...server, clientCa: stack.pki.caBundlePem, port: Number(new URL(webhookBase).port), behaviour: () => 202 })
    config = await tpp.oidc(stack.authIssuer, clientId)
    // The bank's payload-signing key, where TPPs look for it: the directory's keystore.
    const jwks = await request(`${stack.sandboxUrl}/${BANK_ORG_ID}/application.jwks`, { dispatcher: tls })
    const keys = (await jwks.body.json() as { keys: JWK[] }).keys.filter((k) => k.use === 'sig')
    expect(jwks.statusCode).toBe(200)
    expect(keys.length).toBeGreaterThanOrEqual(1)
    bankKid = String(keys[0]!.kid)
    bankKey = await importJWK(keys[0]!, 'PS256')
  }, 180_000)

  afterAll(async () => {
    await receiver?.close()
    await tpp?.close()
    await tls?.close()
    await stack?.stop()
  }, 60_000)

  const failureReport = () => onTestFailed(() => {
    for (const name of ['directory', 'consent', 'connectors', 'auth-server', 'gateway']) {
      const lines = stack.output(name).filter((l) => !l.includes('"level":"info"') || l.includes('webhook')).slice(-25)
      if (lines.length) console.error(`--- ${name}\n${lines.join('\n')}`)
    }
  })

  /**
   * A payments call through the gateway: the body (if any) signed by the TPP for the endpoint's URL; the answer, when
   * signed, verified with the bank's published key (PS256, its kid, `aud` = the TPP's organisation, `iss` = the bank).
   */
  async function call(method: string, path: string, token: string, o: { body?: Record<string, unknown>; key?: string | null; claims?: Record<string, unknown> } = {}): Promise<Signed> {
    const interactionId = randomUUID()
    const key = o.key === undefined ? (o.body ? randomUUID() : null) : o.key
    const res = await tpp.fetch(`${stack.gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`, 'x-fapi-interaction-id': interactionId,
        ...(o.body ? { 'content-type': 'application/jwt' } : {}), ...(key === null ? {} : { 'x-idempotency-key': key }),
      },
      ...(o.body ? { body: tpp.signRequest(`${stack.gatewayUrl}${path}`, o.body, o.claims) } : {}),
    })
    const text = await res.text()
    expect(res.headers.get('x-fapi-interaction-id'), `${method} ${path}`).toBe(interactionId)
    if (!/^application\/jwt/.test(res.headers.get('content-type') ?? '')) return { status: res.status, headers: res.headers, claims: text ? JSON.parse(text) as Signed['claims'] : {} }
    expect(decodeProtectedHeader(text)).toEqual({ alg: 'PS256', typ: 'JWT', kid: bankKid })
    const { payload } = await compactVerify(text, bankKey, { algorithms: ['PS256'] })
    const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Signed['claims']
    expect(claims).toMatchObject({ aud: tpp.orgId, iss: BANK_ORG_ID })
    expect(typeof claims.jti).toBe('string')
    expect(res.headers.get('x-v')).toMatch(/^\d+\.\d+\.\d+$/)
    return { status: res.status, headers: res.headers, claims }
  }

  /** The next TOTP code of `cpf` the bank has not accepted yet (codes of the adjacent steps are accepted). */
  async function nextCode(cpf: string): Promise<string> {
    const step = Math.floor(Date.now() / 30_000)
    const next = Math.max(step, (lastStep.get(cpf) ?? 0) + 1)
    if (next > step + 1) await new Promise((r) => setTimeout(r, (next - 1) * 30_000 - Date.now() + 200))
    lastStep.set(cpf, next)
    return totpCode(TOTP_SECRET, new Date(next * 30_000))
  }

  /** PAR, login, TOTP, the payment review page (the first eligible account picked), Autorizar, code → tokens. */
  async function authorise(consentId: string, cpf: string) {
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const jar = await oidc.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: REDIRECT, scope: `openid consent:${consentId} payments`, code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', state, nonce, response_mode: 'fragment', claims: JSON.stringify({ id_token: { acr: { essential: true } } }),
    }, { key: await tpp.signingKey(), kid: tpp.certificate.kid })
    const authUrl = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams)
    const { browser, close } = Browser.trusting(stack.pki.caBundlePem)
    try {
      const loginPage = await browser.follow(authUrl.toString(), REDIRECT)
      expect(loginPage.status, loginPage.body).toBe(200)
      const base = loginPage.url.replace(/\/$/, '')
      const csrf = formValue(loginPage.body, 'csrf')
      // The password, then the second factor (LoA3): a page with the field `Código` and the button `Confirmar`.
      const totpPage = await browser.request(`${base}/login`, { form: { csrf, cpf, senha: PASSWORD } })
      expect(totpPage.status, totpPage.body).toBe(200)
      expect(totpPage.body).toMatch(/<label for="codigo">Código<\/label>/)
      expect(totpPage.body).toMatch(/<button[^>]*>Confirmar<\/button>/)
      const totp = await browser.request(`${base}/totp`, { form: { csrf, codigo: await nextCode(cpf) } })
      expect(totp.status, totp.body).toBe(303)
      // The review page: amount, creditor, and the customer's eligible accounts (the consent names none).
      const review = await browser.follow(totp.location!, REDIRECT)
      expect(review.status, review.body).toBe(200)
      expect(review.body).toContain(SHOP.name)
      const accounts = radioValues(review.body, 'debtorAccount')
      expect(accounts.length, review.body).toBeGreaterThanOrEqual(1)
      const confirm = await browser.request(`${review.url.replace(/\/$/, '')}/confirm`, { form: { csrf: formValue(review.body, 'csrf'), decision: 'authorise', debtorAccount: accounts[0]! } })
      expect(confirm.status, confirm.body).toBe(303)
      const done = await browser.follow(confirm.location!, REDIRECT)
      expect(done.url.startsWith(REDIRECT), done.url).toBe(true)
      const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
      expect(tokens.claims()!.acr).toBe('urn:brasil:openbanking:loa3')
      return tokens.access_token
    } finally {
      await close()
    }
  }

  /** A consent's data: the demo shop by its Pix key, paid today (`date`) or on a scheduled day. */
  function consentData(version: Version, cpf: string, amount: string, scheduled?: string) {
    return {
      loggedUser: { document: { identification: cpf, rel: 'CPF' } },
      creditor: { personType: 'PESSOA_JURIDICA', cpfCnpj: SHOP.cnpj, name: SHOP.name },
      payment: {
        type: 'PIX', currency: 'BRL', amount,
        ...(scheduled
          ? { schedule: { single: { date: scheduled }, ...(version === 'v5' ? { additionalInformation: 'Pagamento agendado' } : {}) } }
          : { date: brasiliaDay() }),
        // v5: the purpose, required for Pix (payments-v5.0.0.yaml, Purpose).
        ...(version === 'v5' ? { purpose: scheduled ? 'SINGLE_SCHEDULED' : 'IMMEDIATE' } : {}),
        details: { localInstrument: 'DICT', proxy: SHOP.proxy, creditorAccount: SHOP.account },
      },
    }
  }

  /** The payment the TPP initiates for a consent made with {@link consentData} (one item, the consent's day). */
  function paymentData(version: Version, consentId: string, amount: string, day: string) {
    return [{
      endToEndId: endToEndId(day), localInstrument: 'DICT', payment: { amount, currency: 'BRL' }, creditorAccount: SHOP.account,
      proxy: SHOP.proxy, cnpjInitiator: '12345678000195', remittanceInformation: `Pedido ${version}`, consentId,
    }]
  }

  /** Creates the consent through the gateway (spec-valid, signed) and has the customer authorise it; the consent token. */
  async function consented(version: Version, amount: string, scheduled?: string) {
    const cpf = PAYER[version]
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'payments' })
    const consents = `/open-banking/payments/${version}/consents`
    const data = consentData(version, cpf, amount, scheduled)
    expect(specs[version].checkSchema('CreatePaymentConsent', { data })).toEqual([])
    const key = randomUUID()
    const created = await call('POST', consents, cc.access_token, { body: { data }, key })
    expect(created.status, JSON.stringify(created.claims)).toBe(201)
    expect(created.headers.get('x-v')).toBe(xv[version])
    specs[version].assert('POST', '/consents', 201, created.claims)
    const consentId = (created.claims.data as { consentId: string }).consentId
    expect(created.claims.data).toMatchObject({ status: 'AWAITING_AUTHORISATION' })
    // The same key and data: the same consent (a retry after a lost answer).
    const again = await call('POST', consents, cc.access_token, { body: { data }, key })
    expect([again.status, (again.claims.data as { consentId: string }).consentId]).toEqual([201, consentId])
    // The same key with other data: 422 ERRO_IDEMPOTENCIA, signed.
    const other = await call('POST', consents, cc.access_token, { body: { data: { ...data, payment: { ...data.payment, amount: '1.00' } } }, key })
    expect([other.status, other.claims.errors?.[0]?.code]).toEqual([422, 'ERRO_IDEMPOTENCIA'])
    specs[version].assert('POST', '/consents', 422, other.claims)
    const access = await authorise(consentId, cpf)
    const read = await call('GET', `${consents}/${encodeURIComponent(consentId)}`, cc.access_token)
    expect(read.status, JSON.stringify(read.claims)).toBe(200)
    specs[version].assert('GET', '/consents/{consentId}', 200, read.claims)
    expect(read.claims.data).toMatchObject({ status: 'AUTHORISED', debtorAccount: { ispb: ISPB } })
    return { consentId, access, cc: cc.access_token }
  }

  /** The notifications received for `kind`/`id`, checked one by one against webhook v1.3 (path, body, headers, mTLS). */
  function notifications(version: Version, kind: 'consents' | 'pix/payments', id: string) {
    const path = `${new URL(webhookBase).pathname}/open-banking/webhook/v1/payments/${version}/${kind}/${id}`
    const got = receiver.received.filter((r) => decodeURIComponent(r.path) === path)
    for (const r of got) {
      expect(webhookSpec.checkSchema('RequestBodyWebhook', r.body), JSON.stringify(r.body)).toEqual([])
      expect(Object.keys((r.body as { data: object }).data)).toEqual(['timestamp'])
      expect(r.headers['content-type']).toMatch(/^application\/json/)
      expect(r.headers['x-webhook-interaction-id']).toMatch(/^[0-9a-f-]{36}$/)
      // The bank presented its transport certificate (issued to its organisation) and the receiver verified it.
      expect(r.peer?.subject).toContain(BANK_ORG_ID)
    }
    expect(new Set(got.map((r) => r.headers['x-webhook-interaction-id'])).size).toBe(got.length)
    return got
  }

  it.each(['v4', 'v5'] as const)('%s: a DICT payment, authorised with LoA3 in the journey pages, settles to ACSC; webhooks reach the TPP', async (version) => {
    failureReport()
    const amount = version === 'v4' ? '12.34' : '23.45'
    const { consentId, access, cc } = await consented(version, amount)
    const pix = `/open-banking/payments/${version}/pix/payments`
    const data = paymentData(version, consentId, amount, brasiliaDay())
    expect(specs[version].checkSchema('CreatePixPayment', { data })).toEqual([])
    // Refused before anything is paid, the consent left AUTHORISED: a signature for another endpoint (wrong aud), a
    // malformed idempotency key, a payment that differs from the consent.
    const wrongAud = await call('POST', pix, access, { body: { data }, claims: { aud: `${stack.gatewayUrl}/open-banking/payments/${version}/consents` } })
    expect([wrongAud.status, wrongAud.claims.errors?.[0]?.code]).toEqual([403, 'JWS_AUDIENCE_INVALID'])
    const badKey = await call('POST', pix, access, { body: { data }, key: 'x'.repeat(41) })
    expect([badKey.status, badKey.claims.errors?.[0]?.code]).toEqual([422, 'PARAMETRO_INVALIDO'])
    specs[version].assert('POST', '/pix/payments', 422, badKey.claims)
    const divergent = await call('POST', pix, access, { body: { data: [{ ...data[0]!, payment: { amount: '99.99', currency: 'BRL' } }] } })
    expect([divergent.status, divergent.claims.errors?.[0]?.code]).toEqual([422, 'PAGAMENTO_DIVERGENTE_CONSENTIMENTO'])
    specs[version].assert('POST', '/pix/payments', 422, divergent.claims)

    const key = randomUUID()
    const created = await call('POST', pix, access, { body: { data }, key })
    expect(created.status, JSON.stringify(created.claims)).toBe(201)
    expect(created.headers.get('x-v')).toBe(xv[version])
    specs[version].assert('POST', '/pix/payments', 201, created.claims)
    const [payment] = created.claims.data as Array<{ paymentId: string; status: string; endToEndId: string }>
    expect(payment!.endToEndId).toBe(data[0]!.endToEndId)
    expect(['RCVD', 'ACCP', 'ACPD']).toContain(payment!.status)

    // GET until the Pix arrangement settles it.
    const settled = await waitFor(async () => {
      const got = await call('GET', `${pix}/${payment!.paymentId}`, cc)
      expect(got.status, JSON.stringify(got.claims)).toBe(200)
      specs[version].assert('GET', '/pix/payments/{paymentId}', 200, got.claims)
      return (got.claims.data as { status: string }).status === 'ACSC' ? got : undefined
    }, { timeoutMs: 60_000, intervalMs: 300, what: 'the payment to reach ACSC' })
    expect(settled.claims.data).toMatchObject({ paymentId: payment!.paymentId, consentId, status: 'ACSC', payment: { amount } })
    expect((settled.claims.links as { self: string }).self).toBe(`${stack.linksBaseUrl}${pix}/${payment!.paymentId}`)
    if (version === 'v5') {
      // v5 lists a consent's payments.
      const list = await call('GET', `/open-banking/payments/v5/consents/${encodeURIComponent(consentId)}/pix/payments`, cc)
      expect(list.status, JSON.stringify(list.claims)).toBe(200)
      specs.v5.assert('GET', '/consents/{consentId}/pix/payments', 200, list.claims)
      expect((list.claims.data as Array<{ paymentId: string; status: string }>).map((p) => [p.paymentId, p.status])).toEqual([[payment!.paymentId, 'ACSC']])
    }

    // The consent is CONSUMED: another payment on it is refused (422 CONSENTIMENTO_INVALIDO, signed).
    const consent = await call('GET', `/open-banking/payments/${version}/consents/${encodeURIComponent(consentId)}`, cc)
    expect(consent.claims.data).toMatchObject({ status: 'CONSUMED' })
    const twice = await call('POST', pix, access, { body: { data: paymentData(version, consentId, amount, brasiliaDay()) } })
    expect([twice.status, twice.claims.errors?.[0]?.code]).toEqual([422, 'CONSENTIMENTO_INVALIDO'])
    specs[version].assert('POST', '/pix/payments', 422, twice.claims)
    // The same key and data answers the original payment in its current state.
    const retry = await call('POST', pix, access, { body: { data }, key })
    expect(retry.status).toBe(201)
    expect(retry.claims.data).toEqual([expect.objectContaining({ paymentId: payment!.paymentId, status: 'ACSC' })])
    // A settled payment cannot be cancelled.
    const cancel = await call('PATCH', `${pix}/${payment!.paymentId}`, cc, { body: { data: { status: 'CANC', cancellation: { cancelledBy: { document: { identification: PAYER[version], rel: 'CPF' } } } } } })
    expect([cancel.status, cancel.claims.errors?.[0]?.code]).toEqual([422, 'PAGAMENTO_NAO_PERMITE_CANCELAMENTO'])
    specs[version].assert('PATCH', '/pix/payments/{paymentId}', 422, cancel.claims)

    // Webhooks: each change of the consent (created, authorised, consumed) and of the payment (RCVD, ACCP, ACPD,
    // ACSC), once each, on the TPP's server.
    await waitFor(() => notifications(version, 'pix/payments', payment!.paymentId).length >= 4 && notifications(version, 'consents', consentId).length >= 3,
      { timeoutMs: 60_000, intervalMs: 200, what: 'the consent and payment webhooks' })
    expect(notifications(version, 'pix/payments', payment!.paymentId)).toHaveLength(4)
    expect(notifications(version, 'consents', consentId)).toHaveLength(3)
  }, 180_000)

  it.each(['v4', 'v5'] as const)('%s: a scheduled payment is SCHD, cancelled by the TPP (CANC, CANCELADO_AGENDAMENTO), and notified', async (version) => {
    failureReport()
    const amount = '5.55'
    const day = brasiliaDay(3)
    const { consentId, access, cc } = await consented(version, amount, day)
    const pix = `/open-banking/payments/${version}/pix/payments`
    const created = await call('POST', pix, access, { body: { data: paymentData(version, consentId, amount, day) } })
    expect(created.status, JSON.stringify(created.claims)).toBe(201)
    specs[version].assert('POST', '/pix/payments', 201, created.claims)
    const [payment] = created.claims.data as Array<{ paymentId: string; status: string }>
    expect(payment!.status).toBe('SCHD')

    const cancelled = await call('PATCH', `${pix}/${payment!.paymentId}`, cc, { body: { data: { status: 'CANC', cancellation: { cancelledBy: { document: { identification: PAYER[version], rel: 'CPF' } } } } } })
    expect(cancelled.status, JSON.stringify(cancelled.claims)).toBe(200)
    specs[version].assert('PATCH', '/pix/payments/{paymentId}', 200, cancelled.claims)
    expect(cancelled.claims.data).toMatchObject({ status: 'CANC', cancellation: { reason: 'CANCELADO_AGENDAMENTO' } })
    const got = await call('GET', `${pix}/${payment!.paymentId}`, cc)
    specs[version].assert('GET', '/pix/payments/{paymentId}', 200, got.claims)
    expect(got.claims.data).toMatchObject({ status: 'CANC' })
    // Webhooks: the consent's changes, and the payment's two (SCHD, CANC).
    await waitFor(() => notifications(version, 'pix/payments', payment!.paymentId).length >= 2 && notifications(version, 'consents', consentId).length >= 3,
      { timeoutMs: 60_000, intervalMs: 200, what: 'the consent and payment webhooks' })
    expect(notifications(version, 'pix/payments', payment!.paymentId)).toHaveLength(2)
    expect(notifications(version, 'consents', consentId)).toHaveLength(3)
  }, 180_000)
})
