// HTTP stand-ins of the directory, consent and connectors internal APIs, implementing packages/contracts/src/internal.ts
// for the auth-server's own tests (the end-to-end test uses the real services instead).
import { createHash, randomUUID } from 'node:crypto'
import type { AuthorisePaymentConsentRequest, InternalConsent, InternalPaymentConsent, SelectableResource } from '@ponte/contracts'
import { createServer, DomainError, ofbDateTime, requireServiceToken, type Logger, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { parseClientCertificate, verifyCertificateChain, type DevCa } from '@ponte/pki'
import { errors as joseErrors, jwtVerify, type CryptoKey as JoseKey } from 'jose'

const unprocessable = (code: string, detail: string) => new DomainError('UNPROCESSABLE_ENTITY', detail, { ofbCode: code })

/** State the directory stand-in answers from. */
export interface DirectoryState {
  ssaKey: JoseKey
  organisations: Map<string, { name: string; cnpj: string; status: 'Active' | 'Pending' | 'Withdrawn'; roles: Array<{ role: string; status: 'Active' | 'Inactive' }>; logoUri?: string }>
}

/** The directory connector's internal API (audience `directory`). */
export function directoryStandIn(logger: Logger, verifier: ServiceTokenVerifier, ca: DevCa, state: DirectoryState): PonteServer {
  const app = createServer({ logger })
  app.register(async (r) => {
    r.addHook('onRequest', requireServiceToken(verifier))
    r.post('/internal/ssa/verify', async (req) => {
      const { ssa } = req.body as { ssa: string }
      try {
        const { payload } = await jwtVerify(ssa, state.ssaKey, { algorithms: ['PS256'] })
        const age = Math.floor(Date.now() / 1000) - (payload.iat ?? 0)
        if (age > 300) throw unprocessable('STALE_IAT', 'the software statement was issued more than 5 minutes ago')
        const org = state.organisations.get(String(payload.org_id))
        if (!org) throw unprocessable('UNKNOWN_ORGANISATION', 'unknown organisation')
        if (org.status !== 'Active') throw unprocessable('ORGANISATION_NOT_ACTIVE', 'organisation not active')
        return { claims: payload }
      } catch (err) {
        if (err instanceof DomainError) throw err
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw unprocessable('BAD_SIGNATURE', 'signature does not verify with the directory keys')
        throw unprocessable('MALFORMED', 'not a software statement')
      }
    })
    r.post('/internal/certificates/check', async (req) => {
      const body = req.body as { certificatePem: string; softwareStatementId?: string; organisationId?: string }
      const chain = verifyCertificateChain(body.certificatePem, { trustAnchors: [ca.chainPem] })
      if (!chain.ok) throw unprocessable(chain.reason, chain.detail)
      const info = parseClientCertificate(body.certificatePem)
      if (body.softwareStatementId && info.softwareStatementId !== body.softwareStatementId) throw unprocessable('SOFTWARE_ID_MISMATCH', 'UID differs')
      if (body.organisationId && info.orgId !== body.organisationId) throw unprocessable('ORG_ID_MISMATCH', 'organisation differs')
      return { organisationId: info.orgId, softwareStatementId: info.softwareStatementId, cnpj: info.cnpj, subjectDn: info.subjectDn, thumbprintS256: info.thumbprintS256 }
    })
    r.get('/internal/organisations/:orgId', async (req) => {
      const { orgId } = req.params as { orgId: string }
      const org = state.organisations.get(orgId)
      if (!org) throw new DomainError('NOT_FOUND', 'unknown organisation')
      return { organisationId: orgId, ...org }
    })
  })
  return app
}

/** Consent stand-in state: consents by id, and what the journey did to them. */
export interface ConsentState {
  consents: Map<string, InternalConsent>
  /** Payment consents' details (`GET /internal/payment-consents/{id}`); each also has its `kind: 'payment'` entry in `consents`. */
  payments?: Map<string, InternalPaymentConsent>
  /** The bodies of `POST /internal/payment-consents/{id}/authorise`, in order. */
  paymentAuthorisations?: Array<{ consentId: string; body: AuthorisePaymentConsentRequest }>
}

/** A payment consent awaiting authorisation (5 minutes), with its `kind: 'payment'` consent; put both in the state. */
export function aPaymentConsent(over: Partial<InternalPaymentConsent> & { clientId: string; cpf: string }): { consent: InternalConsent; payment: InternalPaymentConsent } {
  const now = new Date()
  const { cpf, ...rest } = over
  const payment: InternalPaymentConsent = {
    consentId: `urn:ponte:${randomUUID()}`, apiVersion: 'v4', status: 'AWAITING_AUTHORISATION', organisationId: 'org', creationDateTime: ofbDateTime(now),
    statusUpdateDateTime: ofbDateTime(now), expirationDateTime: ofbDateTime(new Date(now.getTime() + 5 * 60_000)), loggedUser: { cpf },
    creditor: { personType: 'PESSOA_NATURAL', cpfCnpj: '52998224725', name: 'Mariana Costa Pereira' },
    payment: { type: 'PIX', date: '2026-12-07', currency: 'BRL', amount: '1234.56', details: { localInstrument: 'DICT', proxy: '+5561988887777' } },
    ...rest,
  }
  const consent: InternalConsent = {
    consentId: payment.consentId, kind: 'payment', status: 'AWAITING_AUTHORISATION', clientId: payment.clientId, permissions: [],
    creationDateTime: payment.creationDateTime, statusUpdateDateTime: payment.statusUpdateDateTime, loggedUser: payment.loggedUser,
    ...(payment.businessEntity ? { businessEntity: payment.businessEntity } : {}), resources: [],
  }
  return { consent, payment }
}

/** A data consent awaiting authorisation. */
export function aConsent(over: Partial<InternalConsent> & { clientId: string; cpf: string }): InternalConsent {
  const now = ofbDateTime()
  const { cpf, ...rest } = over
  return {
    consentId: `urn:ponte:${randomUUID()}`, kind: 'data', status: 'AWAITING_AUTHORISATION', permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'],
    creationDateTime: now, statusUpdateDateTime: now, loggedUser: { cpf }, resources: [], ...rest,
  }
}

/** The consent service's internal API (audience `consent`). */
export function consentStandIn(logger: Logger, verifier: ServiceTokenVerifier, state: ConsentState): PonteServer {
  const app = createServer({ logger })
  app.register(async (r) => {
    r.addHook('onRequest', requireServiceToken(verifier))
    const find = (id: string) => {
      const c = state.consents.get(id)
      if (!c) throw new DomainError('NOT_FOUND', 'no such consent')
      return c
    }
    r.get('/internal/consents/:id', async (req) => find((req.params as { id: string }).id))
    r.post('/internal/consents/:id/authorise', async (req) => {
      const c = find((req.params as { id: string }).id)
      const body = req.body as { resources: InternalConsent['resources']; authenticatedUser: { cpf: string } }
      if (c.status !== 'AWAITING_AUTHORISATION') throw new DomainError('UNPROCESSABLE_ENTITY', 'state', { ofbCode: 'CONSENT_STATE_INVALID' })
      if (body.authenticatedUser.cpf !== c.loggedUser.cpf) throw new DomainError('FORBIDDEN', 'cpf differs')
      const next = { ...c, status: 'AUTHORISED' as const, resources: body.resources }
      state.consents.set(c.consentId, next)
      return next
    })
    r.get('/internal/payment-consents/:id', async (req) => {
      const p = state.payments?.get((req.params as { id: string }).id)
      if (!p) throw new DomainError('NOT_FOUND', 'no such payment consent')
      return p
    })
    r.post('/internal/payment-consents/:id/authorise', async (req) => {
      const id = (req.params as { id: string }).id
      const p = state.payments?.get(id)
      if (!p) throw new DomainError('NOT_FOUND', 'no such payment consent')
      const body = req.body as AuthorisePaymentConsentRequest
      state.paymentAuthorisations?.push({ consentId: id, body })
      if (p.status !== 'AWAITING_AUTHORISATION') throw new DomainError('UNPROCESSABLE_ENTITY', 'state', { ofbCode: 'CONSENT_STATE_INVALID' })
      if (body.authenticatedUser.cpf !== p.loggedUser.cpf || body.acr !== 'urn:brasil:openbanking:loa3') throw new DomainError('FORBIDDEN', 'cpf or acr')
      const at = ofbDateTime()
      // Like the consent service: the first of several approvers leaves it PARTIALLY_ACCEPTED.
      const status = (body.approversRequired ?? 1) > 1 ? 'PARTIALLY_ACCEPTED' as const : 'AUTHORISED' as const
      const next: InternalPaymentConsent = { ...p, status, statusUpdateDateTime: at, authorisedDebtorAccount: body.debtorAccount, authorisedBy: body.authenticatedUser }
      state.payments!.set(id, next)
      state.consents.set(id, { ...find(id), status, statusUpdateDateTime: at })
      return next
    })
    r.post('/internal/consents/:id/reject', async (req) => {
      const c = find((req.params as { id: string }).id)
      const body = req.body as { reason: string }
      const next = { ...c, status: 'REJECTED' as const, rejection: { rejectedBy: 'USER' as const, reason: body.reason } }
      state.consents.set(c.consentId, next)
      return next
    })
  })
  return app
}

/** Connectors stand-in state: customers by CPF. */
export interface ConnectorsState {
  customers: Map<string, { password: string; name: string; businesses: Array<{ cnpj: string; name: string }>; resources: SelectableResource[] }>
  /** The code each CPF's authenticator shows now; accepted once (the core remembers the step used). */
  totpCodes?: Map<string, string>
  /** Every `verify-totp` call, in order. */
  totpCalls?: Array<{ cpf: string; code: string }>
}

/** The connectors service's customer API (audience `connectors`). */
export function connectorsStandIn(logger: Logger, verifier: ServiceTokenVerifier, state: ConnectorsState): PonteServer {
  const app = createServer({ logger })
  app.register(async (r) => {
    r.addHook('onRequest', requireServiceToken(verifier))
    r.post('/internal/customers/authenticate', async (req) => {
      const { cpf, password } = req.body as { cpf: string; password: string }
      const c = state.customers.get(cpf)
      const ok = c && createHash('sha256').update(c.password).digest().equals(createHash('sha256').update(password).digest())
      if (!ok) throw new DomainError('UNAUTHORIZED', 'invalid credentials')
      return { cpf, name: c.name, businesses: c.businesses }
    })
    r.post('/internal/customers/verify-totp', async (req) => {
      const { cpf, code } = req.body as { cpf: string; code: string }
      if (!/^[0-9]{6}$/.test(code)) throw new DomainError('INVALID_REQUEST', 'code must be 6 digits')
      state.totpCalls?.push({ cpf, code })
      const current = state.totpCodes?.get(cpf)
      if (current === undefined || current !== code) return { valid: false }
      state.totpCodes!.delete(cpf)
      return { valid: true }
    })
    r.get('/internal/customers/:cpf/resources', async (req) => {
      const c = state.customers.get((req.params as { cpf: string }).cpf)
      return { resources: c?.resources ?? [] }
    })
  })
  return app
}
