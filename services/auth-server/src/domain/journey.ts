import type { InternalConsent, ResourceType } from '@ponte/contracts'

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

/** A group of permissions as the consents spec (v3.3.1) groups them, explained for the customer. */
export interface PermissionGroup {
  id: string
  title: Record<Locale, string>
  /** What each permission lets the TPP see. */
  items: Array<{ permission: string; text: Record<Locale, string> }>
  /** The kind of resource the customer picks for this group (none for registration data). */
  resourceType?: ResourceType
}

const P = (permission: string, pt: string, en: string) => ({ permission, text: { 'pt-BR': pt, en } })

/** A credit-operation group: the spec gives each product the same four permissions under its own prefix. */
const creditGroup = (id: string, prefix: string, resourceType: ResourceType, pt: string, en: string, contractsPt: string, contractsEn: string): PermissionGroup => ({
  id,
  title: { 'pt-BR': `Operações de crédito: ${pt}`, en: `Credit operations: ${en}` },
  resourceType,
  items: [
    P(`${prefix}_READ`, contractsPt, contractsEn),
    P(`${prefix}_WARRANTIES_READ`, 'Garantias', 'Warranties'),
    P(`${prefix}_SCHEDULED_INSTALMENTS_READ`, 'Parcelas', 'Instalments'),
    P(`${prefix}_PAYMENTS_READ`, 'Pagamentos', 'Payments'),
  ],
})

/** The permission catalogue, in the spec's order of groups. RESOURCES_READ is implied by every group. */
export const PERMISSION_GROUPS: PermissionGroup[] = [
  { id: 'cadastro', title: { 'pt-BR': 'Dados cadastrais', en: 'Registration data' }, items: [
    P('CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', 'Seus dados de identificação (nome, CPF, documentos)', 'Your identification data (name, CPF, documents)'),
    P('CUSTOMERS_PERSONAL_ADITTIONALINFO_READ', 'Informações complementares (renda, profissão, relacionamento com o banco)', 'Additional information (income, occupation, relationship with the bank)'),
    P('CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', 'Dados de identificação da empresa', 'The company\'s identification data'),
    P('CUSTOMERS_BUSINESS_ADITTIONALINFO_READ', 'Informações complementares da empresa', 'The company\'s additional information'),
  ] },
  { id: 'contas', title: { 'pt-BR': 'Contas', en: 'Accounts' }, resourceType: 'ACCOUNT', items: [
    P('ACCOUNTS_READ', 'Dados das contas (tipo, agência e número)', 'Account details (type, branch and number)'),
    P('ACCOUNTS_BALANCES_READ', 'Saldos', 'Balances'),
    P('ACCOUNTS_OVERDRAFT_LIMITS_READ', 'Limites (cheque especial)', 'Overdraft limits'),
    P('ACCOUNTS_TRANSACTIONS_READ', 'Extratos e transações', 'Statements and transactions'),
  ] },
  { id: 'cartao', title: { 'pt-BR': 'Cartão de crédito', en: 'Credit card' }, resourceType: 'CREDIT_CARD_ACCOUNT', items: [
    P('CREDIT_CARDS_ACCOUNTS_READ', 'Dados dos cartões', 'Card details'),
    P('CREDIT_CARDS_ACCOUNTS_LIMITS_READ', 'Limites', 'Limits'),
    P('CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ', 'Transações', 'Transactions'),
    P('CREDIT_CARDS_ACCOUNTS_BILLS_READ', 'Faturas', 'Bills'),
    P('CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ', 'Transações das faturas', 'Bill transactions'),
  ] },
  creditGroup('emprestimos', 'LOANS', 'LOAN', 'empréstimos', 'loans', 'Dados dos contratos de empréstimo', 'Loan contracts'),
  creditGroup('financiamentos', 'FINANCINGS', 'FINANCING', 'financiamentos', 'financings', 'Dados dos contratos de financiamento', 'Financing contracts'),
  creditGroup('adiantamento', 'UNARRANGED_ACCOUNTS_OVERDRAFT', 'UNARRANGED_ACCOUNT_OVERDRAFT', 'adiantamento a depositantes', 'unarranged overdraft', 'Dados dos contratos', 'Contracts'),
  creditGroup('direitos-creditorios', 'INVOICE_FINANCINGS', 'INVOICE_FINANCING', 'direitos creditórios descontados', 'invoice financings', 'Dados dos contratos', 'Contracts'),
  { id: 'renda-fixa-bancaria', title: { 'pt-BR': 'Investimentos: renda fixa bancária', en: 'Investments: bank fixed income' }, resourceType: 'BANK_FIXED_INCOME', items: [
    P('BANK_FIXED_INCOMES_READ', 'Dados das operações', 'Operations'),
  ] },
  { id: 'renda-fixa-credito', title: { 'pt-BR': 'Investimentos: renda fixa crédito', en: 'Investments: credit fixed income' }, resourceType: 'CREDIT_FIXED_INCOME', items: [
    P('CREDIT_FIXED_INCOMES_READ', 'Dados das operações', 'Operations'),
  ] },
  { id: 'fundos', title: { 'pt-BR': 'Investimentos: fundos', en: 'Investments: funds' }, resourceType: 'FUND', items: [
    P('FUNDS_READ', 'Dados das operações', 'Operations'),
  ] },
  { id: 'renda-variavel', title: { 'pt-BR': 'Investimentos: renda variável', en: 'Investments: variable income' }, resourceType: 'VARIABLE_INCOME', items: [
    P('VARIABLE_INCOMES_READ', 'Dados das operações', 'Operations'),
  ] },
  { id: 'tesouro', title: { 'pt-BR': 'Investimentos: títulos do Tesouro', en: 'Investments: treasury bonds' }, resourceType: 'TREASURE_TITLE', items: [
    P('TREASURE_TITLES_READ', 'Dados das operações', 'Operations'),
  ] },
  { id: 'cambio', title: { 'pt-BR': 'Câmbio', en: 'Foreign exchange' }, resourceType: 'EXCHANGE', items: [
    P('EXCHANGES_READ', 'Dados das operações de câmbio', 'Foreign exchange operations'),
  ] },
]

/** The groups a consent's permissions fall in, with only the requested permissions listed. */
export function groupPermissions(permissions: readonly string[]): PermissionGroup[] {
  const asked = new Set(permissions)
  return PERMISSION_GROUPS
    .map((g) => ({ ...g, items: g.items.filter((i) => asked.has(i.permission)) }))
    .filter((g) => g.items.length > 0)
}

/** The resource types the customer must choose from for these permissions. */
export function resourceTypesFor(permissions: readonly string[]): Set<ResourceType> {
  return new Set(groupPermissions(permissions).flatMap((g) => (g.resourceType ? [g.resourceType] : [])))
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
