import { PERMISSION_GROUP_NAMES, permissionGroup, resourceTypesOf, type InternalConsent, type Permission, type ResourceType } from '@ponte/contracts'

/** FAPI-BR §5.1 item 9: single-factor authentication. */
export const ACR_LOA2 = 'urn:brasil:openbanking:loa2'

/** Languages of the journey pages: Portuguese by default, English with `ui_locales=en`. */
export type Locale = 'pt-BR' | 'en'

/** The page language from an OIDC `ui_locales` value (space-separated preference list). */
export function pickLocale(uiLocales: unknown): Locale {
  if (typeof uiLocales !== 'string') return 'pt-BR'
  for (const tag of uiLocales.split(' ')) {
    const t = tag.toLowerCase()
    if (t.startsWith('pt')) return 'pt-BR'
    if (t.startsWith('en')) return 'en'
  }
  return 'pt-BR'
}

/** A block of the review page: the permissions of one kind of resource (or registration data), explained for the customer. */
export interface PermissionGroup {
  id: string
  title: Record<Locale, string>
  /** What each permission lets the TPP see. */
  items: Array<{ permission: Permission; text: Record<Locale, string> }>
  /** The kind of resource the customer picks for this group (none for registration data). */
  resourceType?: ResourceType
}

type Text = Record<Locale, string>
const T = (pt: string, en: string): Text => ({ 'pt-BR': pt, en })

/**
 * How the review page presents the catalogue of `@ponte/contracts`: one block per resource type (registration data,
 * which has none, first), in the catalogue's order. Which permissions a block holds and in what order come from the
 * catalogue's groups; only the words are written here, and a permission without words does not compile.
 */
const BLOCKS: Record<ResourceType | 'REGISTRATION', { id: string; title: Text }> = {
  REGISTRATION: { id: 'cadastro', title: T('Dados cadastrais', 'Registration data') },
  ACCOUNT: { id: 'contas', title: T('Contas', 'Accounts') },
  CREDIT_CARD_ACCOUNT: { id: 'cartao', title: T('Cartão de crédito', 'Credit card') },
  LOAN: { id: 'emprestimos', title: T('Operações de crédito: empréstimos', 'Credit operations: loans') },
  FINANCING: { id: 'financiamentos', title: T('Operações de crédito: financiamentos', 'Credit operations: financings') },
  UNARRANGED_ACCOUNT_OVERDRAFT: { id: 'adiantamento', title: T('Operações de crédito: adiantamento a depositantes', 'Credit operations: unarranged overdraft') },
  INVOICE_FINANCING: { id: 'direitos-creditorios', title: T('Operações de crédito: direitos creditórios descontados', 'Credit operations: invoice financings') },
  BANK_FIXED_INCOME: { id: 'renda-fixa-bancaria', title: T('Investimentos: renda fixa bancária', 'Investments: bank fixed income') },
  CREDIT_FIXED_INCOME: { id: 'renda-fixa-credito', title: T('Investimentos: renda fixa crédito', 'Investments: credit fixed income') },
  FUND: { id: 'fundos', title: T('Investimentos: fundos', 'Investments: funds') },
  VARIABLE_INCOME: { id: 'renda-variavel', title: T('Investimentos: renda variável', 'Investments: variable income') },
  TREASURE_TITLE: { id: 'tesouro', title: T('Investimentos: títulos do Tesouro', 'Investments: treasury bonds') },
  EXCHANGE: { id: 'cambio', title: T('Câmbio', 'Foreign exchange') },
}

/** A credit-operation product: the same four permissions under its own prefix. */
const creditTexts = <P extends string>(prefix: P, contracts: Text) => ({
  [`${prefix}_READ`]: contracts,
  [`${prefix}_WARRANTIES_READ`]: T('Garantias', 'Warranties'),
  [`${prefix}_SCHEDULED_INSTALMENTS_READ`]: T('Parcelas', 'Instalments'),
  [`${prefix}_PAYMENTS_READ`]: T('Pagamentos', 'Payments'),
}) as Record<`${P}_READ` | `${P}_WARRANTIES_READ` | `${P}_SCHEDULED_INSTALMENTS_READ` | `${P}_PAYMENTS_READ`, Text>

/** What each permission lets the TPP see (`RESOURCES_READ` is implied by every group and not shown). */
const TEXTS: Record<Exclude<Permission, 'RESOURCES_READ'>, Text> = {
  CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ: T('Seus dados de identificação (nome, CPF, documentos)', 'Your identification data (name, CPF, documents)'),
  CUSTOMERS_PERSONAL_ADITTIONALINFO_READ: T('Informações complementares (renda, profissão, relacionamento com o banco)', 'Additional information (income, occupation, relationship with the bank)'),
  CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ: T('Dados de identificação da empresa', 'The company\'s identification data'),
  CUSTOMERS_BUSINESS_ADITTIONALINFO_READ: T('Informações complementares da empresa', 'The company\'s additional information'),
  ACCOUNTS_READ: T('Dados das contas (tipo, agência e número)', 'Account details (type, branch and number)'),
  ACCOUNTS_BALANCES_READ: T('Saldos', 'Balances'),
  ACCOUNTS_OVERDRAFT_LIMITS_READ: T('Limites (cheque especial)', 'Overdraft limits'),
  ACCOUNTS_TRANSACTIONS_READ: T('Extratos e transações', 'Statements and transactions'),
  CREDIT_CARDS_ACCOUNTS_READ: T('Dados dos cartões', 'Card details'),
  CREDIT_CARDS_ACCOUNTS_LIMITS_READ: T('Limites', 'Limits'),
  CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ: T('Transações', 'Transactions'),
  CREDIT_CARDS_ACCOUNTS_BILLS_READ: T('Faturas', 'Bills'),
  CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ: T('Transações das faturas', 'Bill transactions'),
  ...creditTexts('LOANS', T('Dados dos contratos de empréstimo', 'Loan contracts')),
  ...creditTexts('FINANCINGS', T('Dados dos contratos de financiamento', 'Financing contracts')),
  ...creditTexts('UNARRANGED_ACCOUNTS_OVERDRAFT', T('Dados dos contratos', 'Contracts')),
  ...creditTexts('INVOICE_FINANCINGS', T('Dados dos contratos', 'Contracts')),
  BANK_FIXED_INCOMES_READ: T('Dados das operações', 'Operations'),
  CREDIT_FIXED_INCOMES_READ: T('Dados das operações', 'Operations'),
  FUNDS_READ: T('Dados das operações', 'Operations'),
  VARIABLE_INCOMES_READ: T('Dados das operações', 'Operations'),
  TREASURE_TITLES_READ: T('Dados das operações', 'Operations'),
  EXCHANGES_READ: T('Dados das operações de câmbio', 'Foreign exchange operations'),
}

/** The review page's blocks, derived from the catalogue's groups, every permission but `RESOURCES_READ` in exactly one. */
export const PERMISSION_GROUPS: readonly PermissionGroup[] = (() => {
  const blocks = new Map<ResourceType | 'REGISTRATION', PermissionGroup>()
  for (const name of PERMISSION_GROUP_NAMES) {
    const group = permissionGroup(name)
    const key = group.resourceType ?? 'REGISTRATION'
    let block = blocks.get(key)
    if (!block) {
      block = { ...BLOCKS[key], items: [], ...(group.resourceType ? { resourceType: group.resourceType } : {}) }
      blocks.set(key, block)
    }
    for (const permission of group.permissions) {
      if (permission !== 'RESOURCES_READ' && !block.items.some((i) => i.permission === permission)) block.items.push({ permission, text: TEXTS[permission] })
    }
  }
  return [...blocks.values()]
})()

/** The groups a consent's permissions fall in, with only the requested permissions listed. */
export function groupPermissions(permissions: readonly string[]): PermissionGroup[] {
  const asked = new Set(permissions)
  return PERMISSION_GROUPS
    .map((g) => ({ ...g, items: g.items.filter((i) => asked.has(i.permission)) }))
    .filter((g) => g.items.length > 0)
}

/** The resource types the customer must choose from for these permissions. */
export function resourceTypesFor(permissions: readonly string[]): Set<ResourceType> {
  return resourceTypesOf(permissions)
}

/** Why a consent cannot be authorised by this client in this journey (undefined when it can). */
export function consentRefusal(consent: InternalConsent | undefined, clientId: string, now: Date): string | undefined {
  if (!consent) return 'the consent does not exist'
  if (consent.clientId !== clientId) return 'the consent belongs to another client'
  if (consent.kind !== 'data') return 'payment consents need a second authentication factor (LoA3), which this journey does not offer'
  if (consent.status !== 'AWAITING_AUTHORISATION') return `the consent is ${consent.status}, not AWAITING_AUTHORISATION`
  if (now.getTime() - Date.parse(consent.creationDateTime) > 60 * 60_000) return 'the consent authorisation window (60 minutes) has passed'
  return undefined
}

/** Keeps the digits of a CPF typed with punctuation; undefined unless 11 digits remain. */
export function normaliseCpf(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined
  const digits = input.replace(/[.\-\s]/g, '')
  return /^\d{11}$/.test(digits) ? digits : undefined
}
