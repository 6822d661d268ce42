import { createOperatorControls } from '../domain/operator-controls.ts'
import { readFileSync } from 'node:fs'
import type { ConsentLookup, OrganisationSummary } from '@ponte/contracts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { describe, expect, test } from 'vitest'
import type { AccessTokenVerifier } from '../adapters/access-tokens.ts'
import type { CertificateReader } from '../adapters/client-certificates.ts'
import { createConsentCache } from '../adapters/consent-cache.ts'
import { createOrganisationStatus } from '../adapters/organisations.ts'
import type { AccessTokenFacts } from '../domain/authorise.ts'
import { stagesFor } from '../domain/pipeline.ts'
import { parseRouteTable } from '../domain/route-table.ts'
import { createStages, newCall, type StageDeps } from './stages.ts'

// The stages before the limits against the real consent and organisation caches (their sources stand in for the
// consent service and the directory); the certificate and token verifiers are replaced by their outcome.
const routes = parseRouteTable(JSON.parse(readFileSync(new URL('../routes.generated.json', import.meta.url), 'utf8')))
const route = routes.find((r) => r.key === 'GET /open-banking/accounts/v2/accounts/{accountId}/balances')!
const NOW = Date.parse('2026-06-01T12:00:00Z')
const token: AccessTokenFacts = { clientId: 'client-1', scopes: ['openid', 'accounts', 'consent:urn:c1'], consentId: 'urn:c1', x5tS256: 'thumb-1', exp: NOW / 1000 + 300 }
const consent: ConsentLookup = {
  consentId: 'urn:c1', status: 'AUTHORISED', clientId: 'client-1', permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'],
  resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], customer: { cpf: '76109277673' },
}
const org: OrganisationSummary = { organisationId: 'org-1', name: 'TPP', cnpj: '50685362000135', status: 'Active', roles: [] }
const silent = { warn() {}, error() {}, info() {}, debug() {} } as never

function setup() {
  const lookups = { consent: 0, organisation: 0 }
  const deps = {
    certificates: { read: () => ({ ok: true, cert: { thumbprint: 'thumb-1', organisationId: 'org-1' } }), strip() {} } as unknown as CertificateReader,
    tokens: { peek: (raw: string) => (raw === 'cached' ? token : undefined), verify: async () => token } as unknown as AccessTokenVerifier,
    consents: createConsentCache({ source: async () => (lookups.consent++, consent), maxEntries: 10, maxAgeMs: 60_000, now: () => NOW }),
    organisations: createOrganisationStatus({ source: async () => (lookups.organisation++, org), ttlMs: 60_000, onDirectoryDown: 'deny', logger: silent, now: () => NOW }),
    controls: createOperatorControls(),
  } as StageDeps
  const stages = createStages(deps)
  const before = stagesFor(route).slice(0, stagesFor(route).indexOf('limits'))
  const call = (authorization: string) => {
    const req = { raw: { socket: {} }, headers: { authorization }, interactionIdValid: true, params: { accountId: 'acc-1' } } as unknown as FastifyRequest
    return newCall(req, {} as FastifyReply, route, { route }, NOW)
  }
  return { stages, before, call, lookups }
}

describe('the stages before the limits', () => {
  test('on cache hits they decide synchronously: no stage returns a promise', async () => {
    const { stages, before, call, lookups } = setup()
    // 1. A first call fills the consent and organisation caches: those stages wait.
    const first = call('Bearer cached')
    const waited = []
    for (const name of before) {
      const pending = stages[name](first)
      if (pending) {
        waited.push(name)
        await pending
      }
    }
    expect(waited).toEqual(['consent', 'organisation'])
    // 2. The next call finds everything cached: every stage returns nothing, and the call carries what they established.
    const second = call('Bearer cached')
    expect(before.map((name) => stages[name](second))).toEqual(before.map(() => undefined))
    expect([second.token, second.consent, second.cert?.organisationId]).toEqual([token, consent, 'org-1'])
    expect(lookups).toEqual({ consent: 1, organisation: 1 })
  })

  test('a token not yet verified makes the token stage wait', async () => {
    const { stages, call } = setup()
    const c = call('Bearer fresh')
    const pending = stages.token(c)
    expect(pending).toBeInstanceOf(Promise)
    await pending
    expect(c.token).toBe(token)
  })

  test('a refusal is thrown at once, not returned as a rejected promise', () => {
    const { stages, call } = setup()
    const c = call('Bearer cached')
    expect(stages.certificate(c)).toBeUndefined()
    expect(stages.token(c)).toBeUndefined()
    c.cert = { thumbprint: 'another' }
    expect(() => stages.binding(c)).toThrow(expect.objectContaining({ ofbCode: 'TOKEN_NOT_BOUND' }))
    expect(() => stages.token(call('Basic x'))).toThrow(expect.objectContaining({ ofbCode: 'TOKEN_MISSING' }))
  })
})
