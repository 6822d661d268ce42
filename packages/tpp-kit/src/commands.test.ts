import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readBundle, readState, writeState } from './bundle.ts'
import { brasiliaDate, endToEndId, scopesFor, tokenFor } from './commands.ts'

describe('tpp-kit', () => {
  it('asks for the scopes the permissions need, and refuses an unknown permission', () => {
    expect(scopesFor(['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'CREDIT_CARDS_ACCOUNTS_READ', 'RESOURCES_READ'])).toEqual(['accounts', 'credit-cards-accounts', 'resources'])
    expect(scopesFor(['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'LOANS_READ'])).toEqual(['customers', 'loans'])
    expect(() => scopesFor(['ACCOUNT_READ'])).toThrow(/unknown permission ACCOUNT_READ/)
  })

  it('picks the token of each kind of call', () => {
    expect(tokenFor('POST', '/open-banking/consents/v3/consents')).toEqual({ kind: 'client', scope: 'consents', payment: false })
    expect(tokenFor('POST', '/open-banking/consents/v3/consents/urn:x:1/extends')).toEqual({ kind: 'consent', payment: false })
    expect(tokenFor('GET', '/open-banking/accounts/v2/accounts?page=2')).toEqual({ kind: 'consent', payment: false })
    expect(tokenFor('POST', '/open-banking/payments/v4/pix/payments')).toEqual({ kind: 'consent', payment: true })
    expect(tokenFor('GET', '/open-banking/payments/v4/pix/payments/p1')).toEqual({ kind: 'client', scope: 'payments', payment: true })
    expect(tokenFor('GET', '/open-banking/channels/v2/branches')).toEqual({ kind: 'none', payment: false })
  })

  it('builds end-to-end ids of the Pix format with the UTC date and time, and Brasília dates', () => {
    const at = new Date('2026-12-08T01:30:00Z') // 22:30 on the 7th in Brasília
    const id = endToEndId('12345678', at)
    expect(id).toMatch(/^E12345678202612080130[a-zA-Z0-9]{11}$/)
    expect(endToEndId('12345678', at)).not.toBe(id)
    expect(brasiliaDate(at)).toBe('2026-12-07')
  })

  it('keeps its state readable by its owner only, replaced whole, and says what is missing from a bundle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpp-kit-'))
    expect(await readState(dir)).toEqual({})
    await writeState(dir, { client: { clientId: 'c1', registrationAccessToken: 'rat', registeredAt: 'now' } })
    await writeState(dir, { client: { clientId: 'c2', registrationAccessToken: 'rat2', registeredAt: 'later' } })
    expect((await readState(dir)).client?.clientId).toBe('c2')
    expect(statSync(join(dir, 'tpp-state.json')).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['tpp-state.json'])
    expect(JSON.parse(readFileSync(join(dir, 'tpp-state.json'), 'utf8'))).toMatchObject({ client: { clientId: 'c2' } })
    await expect(readBundle(dir)).rejects.toThrow(/software-statement\.json is missing: is .* a bundle written by `pnpm ponte tpp onboard`\?/)
  })
})
