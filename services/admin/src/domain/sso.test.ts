import { describe, expect, it } from 'vitest'
import { assertsMfa, rolesFromClaims } from './sso.ts'

describe('single sign-on rules', () => {
  it('reads roles from an array, a space-separated string or a nested claim, ignoring what is no console role', () => {
    expect(rolesFromClaims({ ponte_roles: ['viewer', 'auditor', 'root', 7] }, 'ponte_roles', {})).toEqual(['auditor', 'viewer'])
    expect(rolesFromClaims({ ponte_roles: 'operator viewer operator' }, 'ponte_roles', {})).toEqual(['operator', 'viewer'])
    expect(rolesFromClaims({ realm: { roles: ['viewer'] } }, 'realm.roles', {})).toEqual(['viewer'])
    expect(rolesFromClaims({}, 'ponte_roles', {})).toEqual([])
  })

  it('maps group names to roles when a map is configured, and ignores unmapped values', () => {
    const map = { 'grp-ops': 'operator', 'grp-sec': 'security_admin' }
    expect(rolesFromClaims({ groups: ['grp-ops', 'grp-sec', 'viewer'] }, 'groups', map)).toEqual(['operator', 'security_admin'])
  })

  it('takes amr mfa, two factor categories or a configured acr as multi-factor, and nothing else', () => {
    expect(assertsMfa({ amr: ['mfa'] }, [])).toBe(true)
    expect(assertsMfa({ amr: ['pwd', 'otp'] }, [])).toBe(true)
    expect(assertsMfa({ amr: ['hwk', 'face'] }, [])).toBe(true)
    expect(assertsMfa({ amr: ['otp'] }, [])).toBe(false)
    expect(assertsMfa({ amr: ['pwd', 'kba'] }, [])).toBe(false)
    expect(assertsMfa({ amr: 'pwd otp' }, [])).toBe(false)
    expect(assertsMfa({ acr: 'urn:bank:loa:3' }, ['urn:bank:loa:3'])).toBe(true)
    expect(assertsMfa({ acr: 'urn:bank:loa:1' }, ['urn:bank:loa:3'])).toBe(false)
    expect(assertsMfa({}, ['urn:bank:loa:3'])).toBe(false)
  })
})
