import { z } from 'zod'
import type { ResourceType } from './internal.ts'

/**
 * The consent permissions of the Consents API v3.3.1 and the groups a request must be made of
 * (docs/regulation/consents.md). One catalogue for every service: consent validates and trims requests with it, the
 * auth-server groups the review page by it, the gateway's route table and the connectors' checks name its values.
 * Pure data and functions: no I/O.
 */

/** Every permission the spec's `CreateConsent.permissions` enum allows, in the spec's order. */
export const Permission = z.enum([
  'ACCOUNTS_READ',
  'ACCOUNTS_BALANCES_READ',
  'ACCOUNTS_TRANSACTIONS_READ',
  'ACCOUNTS_OVERDRAFT_LIMITS_READ',
  'CREDIT_CARDS_ACCOUNTS_READ',
  'CREDIT_CARDS_ACCOUNTS_BILLS_READ',
  'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ',
  'CREDIT_CARDS_ACCOUNTS_LIMITS_READ',
  'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ',
  'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ',
  'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ',
  'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ',
  'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ',
  'FINANCINGS_READ',
  'FINANCINGS_SCHEDULED_INSTALMENTS_READ',
  'FINANCINGS_PAYMENTS_READ',
  'FINANCINGS_WARRANTIES_READ',
  'INVOICE_FINANCINGS_READ',
  'INVOICE_FINANCINGS_SCHEDULED_INSTALMENTS_READ',
  'INVOICE_FINANCINGS_PAYMENTS_READ',
  'INVOICE_FINANCINGS_WARRANTIES_READ',
  'LOANS_READ',
  'LOANS_SCHEDULED_INSTALMENTS_READ',
  'LOANS_PAYMENTS_READ',
  'LOANS_WARRANTIES_READ',
  'UNARRANGED_ACCOUNTS_OVERDRAFT_READ',
  'UNARRANGED_ACCOUNTS_OVERDRAFT_SCHEDULED_INSTALMENTS_READ',
  'UNARRANGED_ACCOUNTS_OVERDRAFT_PAYMENTS_READ',
  'UNARRANGED_ACCOUNTS_OVERDRAFT_WARRANTIES_READ',
  'RESOURCES_READ',
  'BANK_FIXED_INCOMES_READ',
  'CREDIT_FIXED_INCOMES_READ',
  'FUNDS_READ',
  'VARIABLE_INCOMES_READ',
  'TREASURE_TITLES_READ',
  'EXCHANGES_READ',
])
export type Permission = z.infer<typeof Permission>

/** Every permission, in the spec's order. */
export const PERMISSIONS: readonly Permission[] = Permission.options

/** One permission group of the spec's table. */
export interface PermissionGroup {
  /** Its permissions, `RESOURCES_READ` last (every group includes it). */
  permissions: readonly Permission[]
  /** How the customer's data is selected: one resource at a time (a bank may not offer it) or the whole product. */
  selection: 'per-resource' | 'product'
  /** Personal (PF) or business (PJ) registration data; other groups serve both. */
  holder?: 'PF' | 'PJ'
  /** The kind of resource the customer picks for this group (none for registration data). */
  resourceType?: ResourceType
}

type CreditPrefix = 'LOANS' | 'FINANCINGS' | 'UNARRANGED_ACCOUNTS_OVERDRAFT' | 'INVOICE_FINANCINGS'

/** A credit-operation product: the spec gives each the same four permissions under its own prefix. */
const credit = <P extends CreditPrefix>(p: P, resourceType: ResourceType) => ({
  permissions: [`${p}_READ`, `${p}_WARRANTIES_READ`, `${p}_SCHEDULED_INSTALMENTS_READ`, `${p}_PAYMENTS_READ`, 'RESOURCES_READ'] as const,
  selection: 'product' as const,
  resourceType,
})

/**
 * The groups, in the spec's order. Per-resource groups are the ones a bank may decline to offer (trimmed from a
 * request). Credit operations and investments appear one product at a time: the spec's table lists each as one block,
 * and a request of the whole block is the union of its products (docs/decisions/consent-permission-groups.md).
 */
export const PERMISSION_GROUPS = {
  CUSTOMERS_PERSONAL_IDENTIFICATIONS: { permissions: ['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PF' },
  CUSTOMERS_PERSONAL_ADDITIONAL_INFO: { permissions: ['CUSTOMERS_PERSONAL_ADITTIONALINFO_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PF' },
  CUSTOMERS_BUSINESS_IDENTIFICATIONS: { permissions: ['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PJ' },
  CUSTOMERS_BUSINESS_ADDITIONAL_INFO: { permissions: ['CUSTOMERS_BUSINESS_ADITTIONALINFO_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PJ' },
  ACCOUNTS_BALANCES: { permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'], selection: 'per-resource', resourceType: 'ACCOUNT' },
  ACCOUNTS_OVERDRAFT_LIMITS: { permissions: ['ACCOUNTS_READ', 'ACCOUNTS_OVERDRAFT_LIMITS_READ', 'RESOURCES_READ'], selection: 'per-resource', resourceType: 'ACCOUNT' },
  ACCOUNTS_TRANSACTIONS: { permissions: ['ACCOUNTS_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'RESOURCES_READ'], selection: 'per-resource', resourceType: 'ACCOUNT' },
  CREDIT_CARDS_LIMITS: {
    permissions: ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'RESOURCES_READ'], selection: 'per-resource', resourceType: 'CREDIT_CARD_ACCOUNT',
  },
  CREDIT_CARDS_TRANSACTIONS: {
    permissions: ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ', 'RESOURCES_READ'], selection: 'per-resource', resourceType: 'CREDIT_CARD_ACCOUNT',
  },
  CREDIT_CARDS_BILLS: {
    permissions: ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ', 'RESOURCES_READ'],
    selection: 'per-resource',
    resourceType: 'CREDIT_CARD_ACCOUNT',
  },
  LOANS: credit('LOANS', 'LOAN'),
  FINANCINGS: credit('FINANCINGS', 'FINANCING'),
  UNARRANGED_ACCOUNTS_OVERDRAFT: credit('UNARRANGED_ACCOUNTS_OVERDRAFT', 'UNARRANGED_ACCOUNT_OVERDRAFT'),
  INVOICE_FINANCINGS: credit('INVOICE_FINANCINGS', 'INVOICE_FINANCING'),
  BANK_FIXED_INCOMES: { permissions: ['BANK_FIXED_INCOMES_READ', 'RESOURCES_READ'], selection: 'product', resourceType: 'BANK_FIXED_INCOME' },
  CREDIT_FIXED_INCOMES: { permissions: ['CREDIT_FIXED_INCOMES_READ', 'RESOURCES_READ'], selection: 'product', resourceType: 'CREDIT_FIXED_INCOME' },
  FUNDS: { permissions: ['FUNDS_READ', 'RESOURCES_READ'], selection: 'product', resourceType: 'FUND' },
  VARIABLE_INCOMES: { permissions: ['VARIABLE_INCOMES_READ', 'RESOURCES_READ'], selection: 'product', resourceType: 'VARIABLE_INCOME' },
  TREASURE_TITLES: { permissions: ['TREASURE_TITLES_READ', 'RESOURCES_READ'], selection: 'product', resourceType: 'TREASURE_TITLE' },
  EXCHANGES: { permissions: ['EXCHANGES_READ', 'RESOURCES_READ'], selection: 'product', resourceType: 'EXCHANGE' },
} as const satisfies Record<string, PermissionGroup>

export type PermissionGroupName = keyof typeof PERMISSION_GROUPS

/** The group names, in the spec's order. */
export const PERMISSION_GROUP_NAMES = Object.keys(PERMISSION_GROUPS) as PermissionGroupName[]

/** A group of the table, typed as the general {@link PermissionGroup} (optional fields readable on every group). */
export function permissionGroup(name: PermissionGroupName): PermissionGroup {
  return PERMISSION_GROUPS[name]
}

/** Whether a string is one of the spec's permissions. */
export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value)
}

/**
 * The resource types a permission list lets the customer pick (Resources API v3 `type`): those of every group one of
 * whose permissions, other than `RESOURCES_READ`, is in the list. Registration data has none.
 */
export function resourceTypesOf(permissions: readonly string[]): Set<ResourceType> {
  const asked = new Set(permissions)
  const types = new Set<ResourceType>()
  for (const name of PERMISSION_GROUP_NAMES) {
    const g = permissionGroup(name)
    if (g.resourceType && g.permissions.some((p) => p !== 'RESOURCES_READ' && asked.has(p))) types.add(g.resourceType)
  }
  return types
}
