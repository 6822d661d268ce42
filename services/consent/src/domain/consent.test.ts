import { describe, expect, it } from 'vitest'
import {
  LEGACY_INDEFINITE, authorise, createConsent, dueTransition, extend, parseRequestedExpiry, reject, revoke, revokeByTpp, type Consent,
} from './consent.ts'
import { eventFor } from './events.ts'

const t0 = new Date('2026-03-01T12:00:00.000Z')
const at = (ms: number) => new Date(t0.getTime() + ms)
const MIN = 60_000
const cpf = '12345678901'
const cnpj = '12345678000190'

function aConsent(overrides: Partial<Consent> = {}): Consent {
  const { after } = createConsent({ consentId: 'urn:ponte:1', clientId: 'client-a', permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'], loggedUserCpf: cpf }, t0)
  return { ...after, ...overrides }
}
const accounts = [{ type: 'ACCOUNT' as const, resourceId: 'acc-1' }]
const authorised = () => authorise(aConsent(), { resources: accounts, authenticatedUser: { cpf } }, at(MIN)).change!.after

describe('expiry requests', () => {
  it('treats absent and the legacy 2300 date as indefinite, and bounds the rest to (now, now + 1 year]', () => {
    expect(parseRequestedExpiry(undefined, t0)).toEqual({ ok: true, value: undefined })
    expect(parseRequestedExpiry(LEGACY_INDEFINITE, t0)).toEqual({ ok: true, value: undefined })
    expect(parseRequestedExpiry('2026-03-01T11:00:00Z', t0).ok).toBe(false)
    expect(parseRequestedExpiry('2027-03-01T12:00:00Z', t0).ok).toBe(true)
    expect(parseRequestedExpiry('2027-03-01T12:00:01Z', t0).ok).toBe(false)
  })
})

describe('lifecycle', () => {
  it('authorises within the window for the logged user only', () => {
    expect(authorised()).toMatchObject({ status: 'AUTHORISED', resources: accounts, authorisedCpf: cpf })
    const other = authorise(aConsent(), { resources: accounts, authenticatedUser: { cpf: '99999999999' } }, at(MIN))
    expect(other.change).toBeUndefined()
    expect(other.refusal?.code).toBe('FORBIDDEN')
    const business = authorise(aConsent(), { resources: accounts, authenticatedUser: { cpf, cnpj } }, at(MIN))
    expect(business.refusal?.code).toBe('FORBIDDEN')
    const wrongType = authorise(aConsent(), { resources: [{ type: 'LOAN', resourceId: 'l1' }], authenticatedUser: { cpf } }, at(MIN))
    expect(wrongType.refusal?.code).toBe('INVALID_PARAMETER')
  })

  it('expires an unauthorised consent at 60 minutes and records it even when the request is refused', () => {
    expect(dueTransition(aConsent(), at(60 * MIN - 1))).toBeUndefined()
    const due = dueTransition(aConsent(), at(60 * MIN))!
    expect(due.after).toMatchObject({ status: 'REJECTED', rejection: { rejectedBy: 'ASPSP', reason: 'CONSENT_EXPIRED' } })
    const late = authorise(aConsent(), { resources: accounts, authenticatedUser: { cpf } }, at(61 * MIN))
    expect(late.change?.action).toBe('expired')
    expect(late.refusal?.ofbCode).toBe('CONSENT_STATE_INVALID')
  })

  it('expires an authorised consent at its expirationDateTime', () => {
    const c = { ...authorised(), expirationDateTime: at(2 * 24 * 60 * MIN) }
    expect(dueTransition(c, at(2 * 24 * 60 * MIN - 1))).toBeUndefined()
    expect(dueTransition(c, at(2 * 24 * 60 * MIN))?.after.rejection?.reason).toBe('CONSENT_MAX_DATE_REACHED')
    expect(dueTransition(authorised(), at(10 * 365 * 24 * 60 * MIN))).toBeUndefined()
  })

  it('revokes by the TPP and refuses a second time with CONSENTIMENTO_EM_STATUS_REJEITADO', () => {
    const first = revokeByTpp(authorised(), 'client-a', at(2 * MIN))
    expect(first.change?.after.rejection).toEqual({ rejectedBy: 'TPP', reason: 'CUSTOMER_MANUALLY_REVOKED' })
    expect(revokeByTpp(first.change!.after, 'client-a', at(3 * MIN)).refusal?.ofbCode).toBe('CONSENTIMENTO_EM_STATUS_REJEITADO')
  })

  it('lets the customer refuse only while awaiting, and the bank end an authorised consent for security reasons', () => {
    expect(reject(authorised(), { reason: 'CUSTOMER_MANUALLY_REJECTED', actor: { type: 'CUSTOMER' } }, at(2 * MIN)).refusal?.ofbCode).toBe('CONSENT_STATE_INVALID')
    expect(reject(authorised(), { reason: 'INTERNAL_SECURITY_REASON', actor: { type: 'SYSTEM' } }, at(2 * MIN)).change?.after.rejection?.rejectedBy).toBe('ASPSP')
    expect(revoke(authorised(), { actor: { type: 'STAFF', id: 'ana' }, reason: 'INTERNAL_SECURITY_REASON' }, at(2 * MIN)).change?.after.rejection?.rejectedBy).toBe('ASPSP')
    expect(revoke(authorised(), { actor: { type: 'CUSTOMER', id: cpf }, reason: 'CUSTOMER_MANUALLY_REVOKED' }, at(2 * MIN)).change?.after.rejection?.rejectedBy).toBe('USER')
  })

  it('extends only later, only by the same user, and records the history', () => {
    const c = { ...authorised(), expirationDateTime: at(10 * 24 * 60 * MIN) }
    const input = { loggedUserCpf: cpf, tokenCustomer: { cpf }, customerIpAddress: '10.0.0.1', customerUserAgent: 'UA' }
    const ok = extend(c, { ...input, expirationDateTime: '2026-06-01T00:00:00Z' }, at(2 * MIN))
    expect(ok.change?.after.expirationDateTime?.toISOString()).toBe('2026-06-01T00:00:00.000Z')
    expect(ok.change?.extension?.previousExpirationDateTime).toEqual(c.expirationDateTime)
    expect(extend(c, { ...input, expirationDateTime: '2026-03-05T00:00:00Z' }, at(2 * MIN)).refusal?.ofbCode).toBe('DATA_EXPIRACAO_INVALIDA')
    expect(extend(c, input, at(2 * MIN)).change?.after.expirationDateTime).toBeUndefined()
    expect(extend(c, { ...input, loggedUserCpf: '99999999999' }, at(2 * MIN)).refusal?.code).toBe('FORBIDDEN')
    expect(extend(aConsent(), input, at(2 * MIN)).refusal?.ofbCode).toBe('ESTADO_CONSENTIMENTO_INVALIDO')
    const indefinite = authorised()
    expect(extend(indefinite, { ...input, expirationDateTime: '2026-06-01T00:00:00Z' }, at(2 * MIN)).refusal?.ofbCode).toBe('DATA_EXPIRACAO_INVALIDA')
  })

  it('lets any user of the same business extend a business consent', () => {
    const c = { ...authorised(), businessEntityCnpj: cnpj }
    const input = { loggedUserCpf: '22222222222', businessEntityCnpj: cnpj, tokenCustomer: { cpf: '22222222222', cnpj }, customerIpAddress: '1.1.1.1', customerUserAgent: 'UA' }
    expect(extend(c, input, at(2 * MIN)).change?.action).toBe('extended')
    expect(extend(c, { ...input, businessEntityCnpj: '99999999000199' }, at(2 * MIN)).refusal?.code).toBe('FORBIDDEN')
  })
})

describe('events', () => {
  it('describes a rejection with its previous status and keeps customer ids out', () => {
    const change = revoke(authorised(), { actor: { type: 'CUSTOMER', id: cpf }, reason: 'CUSTOMER_MANUALLY_REVOKED' }, at(2 * MIN)).change!
    const event = eventFor(change, { eventId: '7b6f4a52-3b2e-4d0e-9a53-2e2f4a1b1c11', occurredAt: at(2 * MIN) })
    expect(event).toMatchObject({ type: 'consent.rejected', data: { previousStatus: 'AUTHORISED', rejectedBy: 'USER', actor: { type: 'CUSTOMER' } } })
    expect(JSON.stringify(event)).not.toContain(cpf)
  })
})
