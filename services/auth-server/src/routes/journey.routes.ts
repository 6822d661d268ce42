import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import type { ConsentResource, InternalConsent, InternalPaymentConsent, ResourceType } from '@ponte/contracts'
import { DomainError, type Pool, type PonteServer } from '@ponte/platform'
import type { InteractionResults } from 'oidc-provider'
import type { AttemptThrottle } from '../adapters/attempt-throttle.ts'
import { clientAddress } from '../adapters/client-address.ts'
import type { ConnectorsPort, ConsentPort, DirectoryPort } from '../adapters/services.ts'
import type { Subject, SubjectStore } from '../adapters/subjects.ts'
import { ACR_LOA2, consentRefusal, normaliseCpf, pickLocale, resourceTypesFor, type Locale } from '../domain/journey.ts'
import { ACR_LOA3, describeWhen, eligibleDebtorAccounts, formatAmount, maskDocument, paymentConsentRefusal, sameAccount, type EligibleAccount } from '../domain/payment-journey.ts'
import { consentIdsOfScopeString } from '../domain/scopes.ts'
import type { ThrottleHold, ThrottleRule } from '../domain/throttle.ts'
import type { ProviderHolder } from '../provider/provider-holder.ts'
import { SECURITY_HEADERS, renderConsentPage, renderErrorPage, renderLoginPage, renderPaymentPage, renderTotpPage, type TppView } from '../views/pages.ts'

/** Options of {@link journeyRoutes}. */
export interface JourneyRoutesOptions {
  holder: ProviderHolder
  pool: Pool
  consents: ConsentPort
  connectors: ConnectorsPort
  directory: DirectoryPort
  subjects: SubjectStore
  throttle: AttemptThrottle
  /** The login rules: per CPF and per client address (`loginRules`). */
  loginRules: { cpf: ThrottleRule; address: ThrottleRule }
  /** The rule for wrong TOTP codes of the payment journey's LoA3 step, per CPF (`totpRule`). */
  totpRule: ThrottleRule
  /** Addresses whose `X-Forwarded-For` names the customer's address. */
  trustedProxies: readonly string[]
  /** Secret binding CSRF tokens to the interaction cookie. */
  csrfSecret: string
  bankName: string
  clock?: () => Date
}

type Details = Awaited<ReturnType<ProviderHolder['current']['interactionDetails']>>
/** The journey's consent after its checks: a data consent, or a payment consent with its details. */
type Checked = { kind: 'data'; consent: InternalConsent } | { kind: 'payment'; consent: InternalConsent; payment: InternalPaymentConsent }
/** Who the consent is for (FAPI-BR §8.1), from the data consent or the payment consent. */
type ConsentUser = { loggedUser: { cpf: string }; businessEntity?: { cnpj: string } | undefined }
/** A password accepted for a payment consent, kept in the interaction until the TOTP code completes LoA3. */
interface PendingLoa3 { cpf: string; cnpjs: string[] }
type Req = FastifyRequest<{ Params: { uid: string }; Body: Record<string, string | string[] | undefined> }>

/**
 * The customer journey (server-rendered, works without JavaScript): login (CPF, Senha, Entrar) checked through the
 * connectors service, then the consent review (who, what, until when, products to share; Autorizar / Recusar). The
 * decision goes to the consent service and back to oidc-provider, which redirects to the TPP with `code` and the
 * encrypted `id_token`, or with `access_denied`.
 */
export async function journeyRoutes(app: PonteServer, opts: JourneyRoutesOptions): Promise<void> {
  await app.register(formbody, { bodyLimit: 16_384 })
  const clock = opts.clock ?? (() => new Date())
  const provider = () => opts.holder.current

  function csrfToken(req: FastifyRequest, uid: string): string {
    const cookie = /(?:^|;\s*)_interaction=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? ''
    return createHmac('sha256', opts.csrfSecret).update(`${uid}:${cookie}`).digest('base64url')
  }

  function csrfValid(req: Req): boolean {
    const given = typeof req.body?.csrf === 'string' ? Buffer.from(req.body.csrf) : Buffer.alloc(0)
    const expected = Buffer.from(csrfToken(req, req.params.uid))
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  function html(reply: FastifyReply, status: number, body: string): FastifyReply {
    return reply.code(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(body)
  }

  async function finish(req: FastifyRequest, reply: FastifyReply, result: InteractionResults): Promise<FastifyReply> {
    const url = await provider().interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: false })
    return reply.code(303).headers(SECURITY_HEADERS).header('location', url).send()
  }

  const deny = (req: FastifyRequest, reply: FastifyReply, description: string) =>
    finish(req, reply, { error: 'access_denied', error_description: description })

  async function details(req: Req, reply: FastifyReply): Promise<Details | undefined> {
    try {
      const d = await provider().interactionDetails(req.raw, reply.raw)
      if (d.uid !== req.params.uid) throw new Error('interaction mismatch')
      return d
    } catch {
      html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'interaction expired or not found' }, req.query && (req.query as Record<string, unknown>).ui_locales, opts.bankName))
      return undefined
    }
  }

  async function tppView(clientId: string): Promise<TppView> {
    const client = await provider().Client.find(clientId) as unknown as Record<string, unknown> | undefined
    let name = typeof client?.clientName === 'string' ? client.clientName : clientId
    let logoUri = typeof client?.logoUri === 'string' ? client.logoUri : undefined
    const orgId = typeof client?.org_id === 'string' ? client.org_id : undefined
    if (orgId) {
      const org = await opts.directory.organisation(orgId).catch(() => undefined)
      if (org) {
        name = typeof client?.clientName === 'string' ? `${client.clientName} (${org.name})` : org.name
        logoUri = org.logoUri ?? logoUri
      }
    }
    return { name, logoUri }
  }

  /** The journey's consent, re-read and re-checked at every step. */
  async function checkedConsent(d: Details): Promise<Checked | { refusal: string }> {
    const ids = consentIdsOfScopeString(d.params.scope as string | undefined)
    if (ids.length !== 1) return { refusal: 'exactly one consent:<consentId> scope is required' }
    const consent = await opts.consents.get(ids[0]!)
    if (consent?.kind === 'payment') {
      // A payment consent: its details from the payment-consent API, its own clock (docs/regulation/payments.md).
      const payment = await opts.consents.getPayment(consent.consentId)
      const refusal = paymentConsentRefusal(payment, String(d.params.client_id), clock())
      return refusal ? { refusal } : { kind: 'payment', consent, payment: payment! }
    }
    const refusal = consentRefusal(consent, String(d.params.client_id), clock())
    return refusal ? { refusal } : { kind: 'data', consent: consent! }
  }

  const userOf = (c: Checked): ConsentUser => (c.kind === 'payment' ? c.payment : c.consent)

  /** The password step of a payment consent, waiting for its TOTP code (stored in the interaction, server side). */
  function pendingLoa3(d: Details): PendingLoa3 | undefined {
    const p = (d.result as { ponte?: { pendingLoa3?: PendingLoa3 } } | undefined)?.ponte?.pendingLoa3
    return p && typeof p.cpf === 'string' && Array.isArray(p.cnpjs) ? p : undefined
  }

  /** FAPI-BR §8.1: the customer must be the consent's user (and may act for its business); essential claim values must match. */
  function customerMismatch(consent: ConsentUser, cpf: string, cnpjs: string[], d: Details): string | undefined {
    if (consent.loggedUser.cpf !== cpf) return 'the authenticated customer is not the consent\'s logged user'
    if (consent.businessEntity && !cnpjs.includes(consent.businessEntity.cnpj)) return 'the authenticated customer cannot act for the consent\'s business entity'
    const claims = typeof d.params.claims === 'string' ? safeJson(d.params.claims) : undefined
    for (const where of ['id_token', 'userinfo'] as const) {
      const requested = (claims?.[where] as Record<string, { essential?: boolean; value?: unknown }> | undefined)?.cpf
      if (requested?.essential && requested.value !== undefined && requested.value !== cpf) return 'the essential cpf claim does not match the authenticated customer'
    }
    return undefined
  }

  async function loginPage(reply: FastifyReply, req: Req, d: Details, locale: Locale, status = 200, error?: 'credentials' | 'throttled' | 'unavailable', wait?: ThrottleHold) {
    if (wait) reply.header('retry-after', String(wait.retryAfterS))
    return html(reply, status, renderLoginPage({
      locale, bankName: opts.bankName, action: `/interaction/${d.uid}/login`, csrf: csrfToken(req, d.uid),
      tpp: await tppView(String(d.params.client_id)), ...(error ? { error } : {}), ...(wait ? { wait } : {}),
    }))
  }

  async function consentPage(reply: FastifyReply, req: Req, d: Details, consent: InternalConsent, subject: Subject, locale: Locale, error?: 'choose') {
    const types = resourceTypesFor(consent.permissions)
    const resources = types.size === 0 ? [] : (await opts.connectors.resources(subject.cpf, consent.businessEntity?.cnpj)).filter((r) => types.has(r.type))
    return html(reply, error ? 422 : 200, renderConsentPage({
      locale, bankName: opts.bankName, action: `/interaction/${d.uid}/confirm`, csrf: csrfToken(req, d.uid),
      tpp: await tppView(String(d.params.client_id)), permissions: consent.permissions, expirationDateTime: consent.expirationDateTime,
      resources, needsResources: types.size > 0, ...(error ? { error } : {}),
    }))
  }

  async function totpPage(reply: FastifyReply, req: Req, d: Details, locale: Locale, status = 200, error?: 'code' | 'throttled' | 'unavailable', wait?: ThrottleHold) {
    if (wait) reply.header('retry-after', String(wait.retryAfterS))
    return html(reply, status, renderTotpPage({
      locale, bankName: opts.bankName, action: `/interaction/${d.uid}/totp`, csrf: csrfToken(req, d.uid),
      tpp: await tppView(String(d.params.client_id)), ...(error ? { error } : {}), ...(wait ? { wait } : {}),
    }))
  }

  /** The customer's accounts this payment may come from; the consent's own debtor account when it names one. */
  async function debtorChoices(payment: InternalPaymentConsent, subject: Subject): Promise<{ named?: EligibleAccount; choices: EligibleAccount[]; missing: boolean }> {
    const eligible = eligibleDebtorAccounts(await opts.connectors.resources(subject.cpf, payment.businessEntity?.cnpj))
    if (!payment.debtorAccount) return { choices: eligible, missing: false }
    const named = eligible.find((a) => sameAccount(a.paymentAccount, payment.debtorAccount!))
    return named ? { named, choices: [], missing: false } : { choices: [], missing: true }
  }

  async function paymentPage(reply: FastifyReply, req: Req, d: Details, payment: InternalPaymentConsent, subject: Subject, locale: Locale, error?: 'choose') {
    const debtor = await debtorChoices(payment, subject)
    if (debtor.missing) return deny(req, reply, 'the consent\'s debtor account is not an account of the customer that can make payments')
    const view = (a: EligibleAccount) => ({ resourceId: a.resourceId, label: a.label, maskedNumber: a.maskedNumber })
    return html(reply, error ? 422 : 200, renderPaymentPage({
      locale, bankName: opts.bankName, action: `/interaction/${d.uid}/confirm`, csrf: csrfToken(req, d.uid),
      tpp: await tppView(String(d.params.client_id)),
      amount: formatAmount(payment.payment, locale),
      creditor: { name: payment.creditor.name, document: maskDocument(payment.creditor.cpfCnpj) },
      when: describeWhen(payment.payment, locale),
      ...(debtor.named ? { namedDebtor: view(debtor.named) } : {}),
      choices: debtor.choices.map(view), ...(error ? { error } : {}),
    }))
  }

  /** The consent's grant for the client (one per authorization), then back to oidc-provider. */
  async function grantAndFinish(req: Req, reply: FastifyReply, d: Details, subject: Subject, consentId: string): Promise<FastifyReply> {
    const p = provider()
    const grant = new p.Grant({ accountId: subject.sub, clientId: String(d.params.client_id) })
    const prompt = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> }
    if (prompt.missingOIDCScope?.length) grant.addOIDCScope(prompt.missingOIDCScope.join(' '))
    if (prompt.missingOIDCClaims?.length) grant.addOIDCClaims(prompt.missingOIDCClaims)
    for (const [indicator, scopes] of Object.entries(prompt.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '))
    const grantId = await grant.save()
    await opts.pool.query('insert into consent_grants (consent_id, grant_id, client_id) values ($1, $2, $3) on conflict do nothing',
      [consentId, grantId, String(d.params.client_id)])
    return finish(req, reply, { consent: { grantId } })
  }

  app.get<{ Params: { uid: string }; Body: Record<string, string | string[] | undefined> }>('/interaction/:uid', async (req, reply) => {
    const d = await details(req, reply)
    if (!d) return reply
    const locale = pickLocale(d.params.ui_locales)
    const checked = await checkedConsent(d)
    if ('refusal' in checked) return deny(req, reply, checked.refusal)
    if (d.prompt.name === 'login') {
      return checked.kind === 'payment' && pendingLoa3(d) ? totpPage(reply, req, d, locale) : loginPage(reply, req, d, locale)
    }
    const subject = d.session?.accountId ? await opts.subjects.find(d.session.accountId) : undefined
    if (!subject) return deny(req, reply, 'the customer is not authenticated')
    const mismatch = customerMismatch(userOf(checked), subject.cpf, subject.cnpjs, d)
    if (mismatch) return deny(req, reply, mismatch)
    if (checked.kind === 'payment') {
      if (d.session?.acr !== ACR_LOA3) return deny(req, reply, 'payment consents need LoA3 authentication')
      return paymentPage(reply, req, d, checked.payment, subject, locale)
    }
    return consentPage(reply, req, d, checked.consent, subject, locale)
  })

  app.post<{ Params: { uid: string }; Body: Record<string, string | string[] | undefined> }>('/interaction/:uid/login', async (req, reply) => {
    const d = await details(req, reply)
    if (!d) return reply
    const locale = pickLocale(d.params.ui_locales)
    if (!csrfValid(req)) return html(reply, 403, renderErrorPage({ error: 'invalid_request', error_description: 'invalid form token' }, d.params.ui_locales, opts.bankName))
    if (d.prompt.name !== 'login') return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'no login expected' }, d.params.ui_locales, opts.bankName))
    const cpf = normaliseCpf(req.body.cpf)
    const password = typeof req.body.senha === 'string' ? req.body.senha : ''
    if (!cpf || password.length === 0 || password.length > 200) return loginPage(reply, req, d, locale, 401, 'credentials')
    // Failures count per CPF and, separately, per client address: one CPF's failures never hold another CPF.
    const cpfSubject = { rule: opts.loginRules.cpf, id: cpf }
    const subjects = [cpfSubject, { rule: opts.loginRules.address, id: clientAddress(req.raw, opts.trustedProxies) }]
    let customer
    try {
      const wait = await opts.throttle.blocked(subjects)
      if (wait) return await loginPage(reply, req, d, locale, 429, 'throttled', wait)
      customer = await opts.connectors.authenticate(cpf, password)
      if (!customer) {
        const after = await opts.throttle.failed(subjects)
        return await loginPage(reply, req, d, locale, 401, 'credentials', after)
      }
      await opts.throttle.succeeded(cpfSubject)
    } catch (err) {
      req.log.warn({ err }, 'customer authentication unavailable')
      return loginPage(reply, req, d, locale, 503, 'unavailable')
    }
    const checked = await checkedConsent(d)
    if ('refusal' in checked) return deny(req, reply, checked.refusal)
    const cnpjs = customer.businesses.map((b) => b.cnpj)
    const mismatch = customerMismatch(userOf(checked), customer.cpf, cnpjs, d)
    if (mismatch) return deny(req, reply, mismatch)
    if (checked.kind === 'payment') {
      // LoA3 (docs/regulation/security-profile.md#authentication-levels-acr): the password is one factor; the login
      // completes only with the customer's TOTP code. What the password proved waits in the interaction (server side).
      d.result = { ponte: { pendingLoa3: { cpf: customer.cpf, cnpjs } } } as unknown as Details['result']
      await d.persist()
      return totpPage(reply, req, d, locale)
    }
    const subject = await opts.subjects.upsert(customer.cpf, cnpjs)
    return finish(req, reply, { login: { accountId: subject.sub, acr: ACR_LOA2, amr: ['pwd'], remember: false } })
  })

  app.post<{ Params: { uid: string }; Body: Record<string, string | string[] | undefined> }>('/interaction/:uid/totp', async (req, reply) => {
    const d = await details(req, reply)
    if (!d) return reply
    const locale = pickLocale(d.params.ui_locales)
    if (!csrfValid(req)) return html(reply, 403, renderErrorPage({ error: 'invalid_request', error_description: 'invalid form token' }, d.params.ui_locales, opts.bankName))
    const pending = d.prompt.name === 'login' ? pendingLoa3(d) : undefined
    if (!pending) return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'no code expected' }, d.params.ui_locales, opts.bankName))
    const code = typeof req.body.codigo === 'string' ? req.body.codigo.replace(/\s/g, '') : ''
    // Wrong codes are throttled per CPF under their own rule (docs/decisions/auth-server-attempt-throttling.md).
    const subject = { rule: opts.totpRule, id: pending.cpf }
    try {
      const wait = await opts.throttle.blocked([subject])
      if (wait) return await totpPage(reply, req, d, locale, 429, 'throttled', wait)
      const valid = /^[0-9]{6}$/.test(code) && await opts.connectors.verifyTotp(pending.cpf, code)
      if (!valid) {
        const after = await opts.throttle.failed([subject])
        return await totpPage(reply, req, d, locale, 401, 'code', after)
      }
      await opts.throttle.succeeded(subject)
    } catch (err) {
      req.log.warn({ err }, 'customer TOTP check unavailable')
      return totpPage(reply, req, d, locale, 503, 'unavailable')
    }
    const checked = await checkedConsent(d)
    if ('refusal' in checked) return deny(req, reply, checked.refusal)
    const mismatch = customerMismatch(userOf(checked), pending.cpf, pending.cnpjs, d)
    if (mismatch) return deny(req, reply, mismatch)
    const customer = await opts.subjects.upsert(pending.cpf, pending.cnpjs)
    return finish(req, reply, { login: { accountId: customer.sub, acr: ACR_LOA3, amr: ['pwd', 'otp'], remember: false } })
  })

  app.post<{ Params: { uid: string }; Body: Record<string, string | string[] | undefined> }>('/interaction/:uid/confirm', async (req, reply) => {
    const d = await details(req, reply)
    if (!d) return reply
    const locale = pickLocale(d.params.ui_locales)
    if (!csrfValid(req)) return html(reply, 403, renderErrorPage({ error: 'invalid_request', error_description: 'invalid form token' }, d.params.ui_locales, opts.bankName))
    if (d.prompt.name !== 'consent' || !d.session?.accountId) {
      return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'no consent decision expected' }, d.params.ui_locales, opts.bankName))
    }
    const subject = await opts.subjects.find(d.session.accountId)
    if (!subject) return deny(req, reply, 'the customer is not authenticated')
    const checked = await checkedConsent(d)
    if ('refusal' in checked) return deny(req, reply, checked.refusal)
    const mismatch = customerMismatch(userOf(checked), subject.cpf, subject.cnpjs, d)
    if (mismatch) return deny(req, reply, mismatch)
    if (checked.kind === 'payment') return confirmPayment(req, reply, d, checked.payment, subject, locale)
    const { consent } = checked

    if (req.body.decision === 'reject') {
      await opts.consents.reject(consent.consentId, { reason: 'CUSTOMER_MANUALLY_REJECTED' })
      return deny(req, reply, 'the customer refused the consent')
    }
    if (req.body.decision !== 'authorise') return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'unknown decision' }, d.params.ui_locales, opts.bankName))

    const types = resourceTypesFor(consent.permissions)
    const offered = types.size === 0 ? [] : (await opts.connectors.resources(subject.cpf, consent.businessEntity?.cnpj)).filter((r) => types.has(r.type))
    const picked = ([] as string[]).concat(req.body.resource ?? [])
    const chosen: ConsentResource[] = []
    for (const value of picked) {
      const [type, ...rest] = value.split('|')
      const resourceId = rest.join('|')
      if (!offered.some((r) => r.type === type && r.resourceId === resourceId)) {
        return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'unknown product' }, d.params.ui_locales, opts.bankName))
      }
      if (!chosen.some((c) => c.type === type && c.resourceId === resourceId)) chosen.push({ type: type as ResourceType, resourceId })
    }
    if (types.size > 0 && chosen.length === 0) return consentPage(reply, req, d, consent, subject, locale, 'choose')

    try {
      await opts.consents.authorise(consent.consentId, {
        resources: chosen,
        authenticatedUser: { cpf: subject.cpf, ...(consent.businessEntity ? { cnpj: consent.businessEntity.cnpj } : {}) },
        acr: ACR_LOA2,
      })
    } catch (err) {
      if (err instanceof DomainError && err.status >= 400 && err.status < 500) return deny(req, reply, `the consent could not be authorised: ${err.message}`)
      throw err
    }

    return grantAndFinish(req, reply, d, subject, consent.consentId)
  })

  /** Autorizar / Recusar of a payment consent: LoA3 only, the debtor account named or chosen, then the consent service. */
  async function confirmPayment(req: Req, reply: FastifyReply, d: Details, payment: InternalPaymentConsent, subject: Subject, locale: Locale): Promise<FastifyReply> {
    if (d.session?.acr !== ACR_LOA3) return deny(req, reply, 'payment consents need LoA3 authentication')
    if (req.body.decision === 'reject') {
      // The shared reject; the consent service records a payment consent's customer refusal as REJEITADO_USUARIO.
      await opts.consents.reject(payment.consentId, { reason: 'CUSTOMER_MANUALLY_REJECTED' })
      return deny(req, reply, 'the customer refused the consent')
    }
    if (req.body.decision !== 'authorise') return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'unknown decision' }, d.params.ui_locales, opts.bankName))
    const debtor = await debtorChoices(payment, subject)
    if (debtor.missing) return deny(req, reply, 'the consent\'s debtor account is not an account of the customer that can make payments')
    let account = debtor.named
    if (!account) {
      const picked = req.body.debtorAccount
      if (picked === undefined || picked === '') return paymentPage(reply, req, d, payment, subject, locale, 'choose')
      account = typeof picked === 'string' ? debtor.choices.find((a) => a.resourceId === picked) : undefined
      if (!account) return html(reply, 400, renderErrorPage({ error: 'invalid_request', error_description: 'unknown account' }, d.params.ui_locales, opts.bankName))
    }
    try {
      await opts.consents.authorisePayment(payment.consentId, {
        authenticatedUser: { cpf: subject.cpf, ...(payment.businessEntity ? { cnpj: payment.businessEntity.cnpj } : {}) },
        acr: ACR_LOA3,
        debtorAccount: { resourceId: account.resourceId, account: account.paymentAccount },
        // The account's approval policy (the core's): with several approvers this customer is the first, the consent
        // becomes PARTIALLY_ACCEPTED and the TPP is sent back as usual (docs/regulation/payments.md#multiple-approvers).
        ...(account.approversRequired && account.approversRequired > 1 ? { approversRequired: account.approversRequired } : {}),
      })
    } catch (err) {
      if (err instanceof DomainError && err.status >= 400 && err.status < 500) return deny(req, reply, `the consent could not be authorised: ${err.message}`)
      throw err
    }
    return grantAndFinish(req, reply, d, subject, payment.consentId)
  }
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
