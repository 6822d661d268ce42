/**
 * Permission groups of the Consents API v3.3.1 (the table in the spec's description; docs/regulation/consents.md#permission-groups). A request must be
 * made of complete groups, each of which includes `RESOURCES_READ`. Pure: no I/O.
 */

/** Every permission the spec's `CreateConsent.permissions` enum allows, in the spec's order. */
export const PERMISSIONS = [
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
] as const
export type Permission = (typeof PERMISSIONS)[number]

/** How a group's data is selected by the customer: one resource at a time, or the whole product group. */
type Selection = 'per-resource' | 'product'

interface Group {
  permissions: readonly Permission[]
  selection: Selection
  /** Personal (PF) or business (PJ) registration data; other groups serve both. */
  holder?: 'PF' | 'PJ'
}

const credit = (p: string): Permission[] =>
  [`${p}_READ`, `${p}_WARRANTIES_READ`, `${p}_SCHEDULED_INSTALMENTS_READ`, `${p}_PAYMENTS_READ`, 'RESOURCES_READ'] as Permission[]

/**
 * The groups. Per-resource groups are the ones a bank may decline to offer (they are trimmed from a
 * request, docs/regulation/consents.md#trimming-permissions).
 * Credit operations and investments appear here one product at a time: the spec's table lists each as one block,
 * and a request of the whole block is the union of its products (see docs/decisions/consent-permission-groups.md).
 */
export const PERMISSION_GROUPS = {
  CUSTOMERS_PERSONAL_IDENTIFICATIONS: { permissions: ['CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PF' },
  CUSTOMERS_PERSONAL_ADDITIONAL_INFO: { permissions: ['CUSTOMERS_PERSONAL_ADITTIONALINFO_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PF' },
  CUSTOMERS_BUSINESS_IDENTIFICATIONS: { permissions: ['CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PJ' },
  CUSTOMERS_BUSINESS_ADDITIONAL_INFO: { permissions: ['CUSTOMERS_BUSINESS_ADITTIONALINFO_READ', 'RESOURCES_READ'], selection: 'per-resource', holder: 'PJ' },
  ACCOUNTS_BALANCES: { permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'RESOURCES_READ'], selection: 'per-resource' },
  ACCOUNTS_OVERDRAFT_LIMITS: { permissions: ['ACCOUNTS_READ', 'ACCOUNTS_OVERDRAFT_LIMITS_READ', 'RESOURCES_READ'], selection: 'per-resource' },
  ACCOUNTS_TRANSACTIONS: { permissions: ['ACCOUNTS_READ', 'ACCOUNTS_TRANSACTIONS_READ', 'RESOURCES_READ'], selection: 'per-resource' },
  CREDIT_CARDS_LIMITS: { permissions: ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'RESOURCES_READ'], selection: 'per-resource' },
  CREDIT_CARDS_TRANSACTIONS: { permissions: ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ', 'RESOURCES_READ'], selection: 'per-resource' },
  CREDIT_CARDS_BILLS: {
    permissions: ['CREDIT_CARDS_ACCOUNTS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_READ', 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ', 'RESOURCES_READ'],
    selection: 'per-resource',
  },
  LOANS: { permissions: credit('LOANS'), selection: 'product' },
  FINANCINGS: { permissions: credit('FINANCINGS'), selection: 'product' },
  UNARRANGED_ACCOUNTS_OVERDRAFT: { permissions: credit('UNARRANGED_ACCOUNTS_OVERDRAFT'), selection: 'product' },
  INVOICE_FINANCINGS: { permissions: credit('INVOICE_FINANCINGS'), selection: 'product' },
  BANK_FIXED_INCOMES: { permissions: ['BANK_FIXED_INCOMES_READ', 'RESOURCES_READ'], selection: 'product' },
  CREDIT_FIXED_INCOMES: { permissions: ['CREDIT_FIXED_INCOMES_READ', 'RESOURCES_READ'], selection: 'product' },
  FUNDS: { permissions: ['FUNDS_READ', 'RESOURCES_READ'], selection: 'product' },
  VARIABLE_INCOMES: { permissions: ['VARIABLE_INCOMES_READ', 'RESOURCES_READ'], selection: 'product' },
  TREASURE_TITLES: { permissions: ['TREASURE_TITLES_READ', 'RESOURCES_READ'], selection: 'product' },
  EXCHANGES: { permissions: ['EXCHANGES_READ', 'RESOURCES_READ'], selection: 'product' },
} as const satisfies Record<string, Group>

export type PermissionGroupName = keyof typeof PERMISSION_GROUPS

/** Names of the groups a bank may leave out (per-resource groups); grouped products are always kept. */
export const OPTIONAL_GROUPS = (Object.keys(PERMISSION_GROUPS) as PermissionGroupName[]).filter(
  (g) => PERMISSION_GROUPS[g].selection === 'per-resource',
)

/**
 * The per-resource groups the reference bank offers: personal and business registration data, accounts and credit
 * cards (credit operations are product groups, always kept).
 */
export const DEFAULT_OFFERED_GROUPS: readonly PermissionGroupName[] = OPTIONAL_GROUPS

/** Why a permission list was refused: the spec's 422 codes of `POST /consents`. */
export type PermissionRefusal =
  | 'COMBINACAO_PERMISSOES_INCORRETA'
  | 'PERMISSAO_PF_PJ_EM_CONJUNTO'
  | 'INFORMACOES_PJ_NAO_INFORMADAS'
  | 'PERMISSOES_PJ_INCORRETAS'
  | 'SEM_PERMISSOES_FUNCIONAIS_RESTANTES'

/** The outcome of {@link resolvePermissions}. */
export type PermissionResolution =
  | { ok: true; permissions: Permission[]; groups: PermissionGroupName[]; trimmed: PermissionGroupName[] }
  | { ok: false; code: PermissionRefusal; detail: string }

const groupNames = Object.keys(PERMISSION_GROUPS) as PermissionGroupName[]
const order = new Map<string, number>(PERMISSIONS.map((p, i) => [p, i]))
const sortPermissions = (ps: Iterable<Permission>) => [...ps].sort((a, b) => order.get(a)! - order.get(b)!)

/**
 * Checks a requested permission list and trims it to what the bank offers (docs/regulation/consents.md#trimming-permissions):
 * 1. the list must be exactly a union of complete groups (`COMBINACAO_PERMISSOES_INCORRETA`);
 * 2. personal and business registration data never mix (`PERMISSAO_PF_PJ_EM_CONJUNTO`); business data needs
 *    `businessEntity` (`INFORMACOES_PJ_NAO_INFORMADAS`); `businessEntity` excludes personal data (`PERMISSOES_PJ_INCORRETAS`);
 * 3. per-resource groups not in `offered` are dropped; product groups are always kept;
 * 4. if nothing but `RESOURCES_READ` is left: `SEM_PERMISSOES_FUNCIONAIS_RESTANTES`.
 * The input holds known, distinct permissions (the transport refuses others with 400).
 */
export function resolvePermissions(
  requested: readonly Permission[],
  options: { hasBusinessEntity: boolean; offered: ReadonlySet<PermissionGroupName> },
): PermissionResolution {
  const wanted = new Set(requested)
  const groups = groupNames.filter((g) => PERMISSION_GROUPS[g].permissions.every((p) => wanted.has(p)))
  const covered = new Set<Permission>(groups.flatMap((g) => PERMISSION_GROUPS[g].permissions))
  const loose = [...wanted].filter((p) => !covered.has(p))
  if (loose.length > 0) {
    return { ok: false, code: 'COMBINACAO_PERMISSOES_INCORRETA', detail: `permissões fora de um agrupamento completo: ${sortPermissions(loose).join(', ')}` }
  }
  const personal = groups.some((g) => (PERMISSION_GROUPS[g] as Group).holder === 'PF')
  const business = groups.some((g) => (PERMISSION_GROUPS[g] as Group).holder === 'PJ')
  if (personal && business) {
    return { ok: false, code: 'PERMISSAO_PF_PJ_EM_CONJUNTO', detail: 'permissões de pessoa natural e de pessoa jurídica no mesmo consentimento' }
  }
  if (business && !options.hasBusinessEntity) {
    return { ok: false, code: 'INFORMACOES_PJ_NAO_INFORMADAS', detail: 'permissões de pessoa jurídica exigem businessEntity' }
  }
  if (personal && options.hasBusinessEntity) {
    return { ok: false, code: 'PERMISSOES_PJ_INCORRETAS', detail: 'businessEntity informado com permissões de pessoa natural' }
  }
  const kept = groups.filter((g) => PERMISSION_GROUPS[g].selection === 'product' || options.offered.has(g))
  const trimmed = groups.filter((g) => !kept.includes(g))
  const permissions = sortPermissions(new Set<Permission>(kept.flatMap((g) => PERMISSION_GROUPS[g].permissions)))
  if (!permissions.some((p) => p !== 'RESOURCES_READ')) {
    return { ok: false, code: 'SEM_PERMISSOES_FUNCIONAIS_RESTANTES', detail: 'nenhuma das permissões solicitadas é oferecida por esta instituição' }
  }
  return { ok: true, permissions, groups: kept, trimmed }
}

/** The resource types a consent's permissions allow the customer to pick (Resources API v3 `type`). */
export function allowedResourceTypes(permissions: readonly string[]): Set<string> {
  const has = (p: string) => permissions.includes(p)
  const types = new Set<string>()
  if (has('ACCOUNTS_READ')) types.add('ACCOUNT')
  if (has('CREDIT_CARDS_ACCOUNTS_READ')) types.add('CREDIT_CARD_ACCOUNT')
  if (has('LOANS_READ')) types.add('LOAN')
  if (has('FINANCINGS_READ')) types.add('FINANCING')
  if (has('UNARRANGED_ACCOUNTS_OVERDRAFT_READ')) types.add('UNARRANGED_ACCOUNT_OVERDRAFT')
  if (has('INVOICE_FINANCINGS_READ')) types.add('INVOICE_FINANCING')
  if (has('BANK_FIXED_INCOMES_READ')) types.add('BANK_FIXED_INCOME')
  if (has('CREDIT_FIXED_INCOMES_READ')) types.add('CREDIT_FIXED_INCOME')
  if (has('VARIABLE_INCOMES_READ')) types.add('VARIABLE_INCOME')
  if (has('TREASURE_TITLES_READ')) types.add('TREASURE_TITLE')
  if (has('FUNDS_READ')) types.add('FUND')
  if (has('EXCHANGES_READ')) types.add('EXCHANGE')
  return types
}
