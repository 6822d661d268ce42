import { describe, expect, it } from 'vitest'
import { ConsentContext } from './internal.ts'
import { PERMISSION_GROUPS, PERMISSION_GROUP_NAMES, PERMISSIONS, Permission, isPermission, permissionGroup, resourceTypesOf } from './permissions.ts'

describe('the permission catalogue', () => {
  it('lists the 36 permissions of the spec once each, and the zod enum refuses anything else', () => {
    expect(PERMISSIONS).toHaveLength(36)
    expect(new Set(PERMISSIONS).size).toBe(PERMISSIONS.length)
    expect(Permission.safeParse('ACCOUNTS_READ').success).toBe(true)
    expect(Permission.safeParse('ACCOUNTS_WRITE').success).toBe(false)
    expect(isPermission('LOANS_READ')).toBe(true)
    expect(isPermission('loans_read')).toBe(false)
  })

  it('builds every group from known, distinct permissions, RESOURCES_READ last', () => {
    for (const name of PERMISSION_GROUP_NAMES) {
      const ps = permissionGroup(name).permissions
      for (const p of ps) expect(isPermission(p), `${name}: ${p}`).toBe(true)
      expect(new Set(ps).size, name).toBe(ps.length)
      expect(ps.at(-1), name).toBe('RESOURCES_READ')
      expect(ps.length, name).toBeGreaterThan(1)
    }
  })

  it('covers every permission with at least one group', () => {
    const covered = new Set(Object.values(PERMISSION_GROUPS).flatMap((g) => g.permissions))
    expect(PERMISSIONS.filter((p) => !covered.has(p))).toEqual([])
  })

  it('marks registration data PF or PJ, gives every other group a resource type, and keeps products always selected whole', () => {
    for (const name of PERMISSION_GROUP_NAMES) {
      const g = permissionGroup(name)
      if (name.startsWith('CUSTOMERS_')) expect([g.holder, g.resourceType], name).toEqual([name.includes('PERSONAL') ? 'PF' : 'PJ', undefined])
      else expect([g.holder, typeof g.resourceType], name).toEqual([undefined, 'string'])
    }
    expect(permissionGroup('LOANS').selection).toBe('product')
    expect(permissionGroup('EXCHANGES').selection).toBe('product')
    expect(permissionGroup('ACCOUNTS_BALANCES').selection).toBe('per-resource')
  })

  it('maps permissions to the resource types the customer picks, ignoring RESOURCES_READ and registration data', () => {
    expect([...resourceTypesOf(['ACCOUNTS_READ', 'LOANS_READ', 'RESOURCES_READ'])].sort()).toEqual(['ACCOUNT', 'LOAN'])
    expect([...resourceTypesOf(['CREDIT_CARDS_ACCOUNTS_BILLS_READ'])]).toEqual(['CREDIT_CARD_ACCOUNT'])
    expect(resourceTypesOf(['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'RESOURCES_READ']).size).toBe(0)
    expect(resourceTypesOf(['RESOURCES_READ']).size).toBe(0)
  })

  it('types the consent context the gateway forwards: an unknown permission does not parse', () => {
    const ctx = { consentId: 'urn:x', customer: { cpf: '12345678901' }, resources: [] }
    expect(ConsentContext.safeParse({ ...ctx, permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'] }).success).toBe(true)
    expect(ConsentContext.safeParse({ ...ctx, permissions: ['ACCOUNTS_READ', 'PIX_WRITE'] }).success).toBe(false)
  })
})
