import { describe, expect, it } from 'vitest'
import { parseParticipants } from './participants.ts'

// Unsafe consumption (docs/security/owasp-api-top10.md, API10): what the central directory answers is checked before
// the connector relies on it; a hostile or broken entry is skipped, a broken list replaces nothing.
describe('participants list from the central directory', () => {
  const good = { OrganisationId: 'org-1', Status: 'Active', RegisteredName: 'Banco Um', RegistrationNumber: '11222333000181', OrgDomainRoleClaims: [{ Role: 'DADOS', Status: 'Active' }] }

  it('refuses a body that is not a list, so a broken answer never replaces the snapshot', () => {
    for (const body of [null, {}, 'participants', { data: [good] }, 42]) expect(() => parseParticipants(body)).toThrow(/not a JSON array/)
  })

  it('skips each malformed or hostile entry with its reason and keeps the others', () => {
    const { organisations, skipped } = parseParticipants([
      good,
      { Status: 'Active' }, // no OrganisationId
      { OrganisationId: 'x'.repeat(41) }, // longer than any directory id
      { OrganisationId: 'org-2', Status: 'Hacked' }, // a status the directory does not have
      { OrganisationId: 'org-3', OrgDomainRoleClaims: 'DADOS' }, // roles not a list
      { OrganisationId: 'org-4', OrgDomainRoleClaims: [{ Role: '' }] }, // empty role
      { ...good, RegisteredName: 'Duplicate' }, // the same organisation twice
      null, 'org-5', [good],
    ])
    expect(organisations.map((o) => o.organisationId)).toEqual(['org-1'])
    expect(organisations[0]).toMatchObject({ name: 'Banco Um', status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] })
    expect(skipped.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(skipped.find((s) => s.index === 6)!.reason).toMatch(/duplicate OrganisationId org-1/)
  })

  it('takes extra fields as data, never as instructions: roles come only from the role claims', () => {
    const { organisations } = parseParticipants([{ ...good, roles: [{ role: 'PAGTO', status: 'Active' }], status: 'Active', isAdmin: true, __proto__: { polluted: true } }])
    expect(organisations[0]!.roles).toEqual([{ role: 'DADOS', status: 'Active' }])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
