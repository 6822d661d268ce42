import { z } from 'zod'
import { AuthenticatedCustomer, Cnpj, ConsentResource, Cpf, SelectableResource } from './internal.ts'
import { RESOURCE_ID_RE } from './ids.ts'

/**
 * The connector contract: what Ponte needs from a bank's core systems. `services/connectors` serves the regulated
 * read APIs from it and ships two implementations (the reference core bank on PostgreSQL, and an HTTP client of an
 * external core speaking `services/connectors/core-api.yaml`). Every value crossing it is described here with zod, so
 * an external core's answers are validated before Ponte maps them to the Open Finance Brasil payloads.
 *
 * Conventions: amounts are decimal strings with 2 to 4 fraction digits (`"1234.50"`), currencies ISO 4217, dates
 * `YYYY-MM-DD`, instants RFC 3339 UTC. "Not found for this owner" is `undefined` / an empty list, never an error.
 */

/** A decimal amount as a string. */
export const CoreAmount = z.string().regex(/^-?\d{1,15}\.\d{2,4}$/)
/** A calendar date. */
export const CoreDate = z.iso.date()
/** An instant (RFC 3339, UTC). */
export const CoreInstant = z.iso.datetime({ offset: false })
/** A public identifier of a resource (OFB id pattern). */
export const CoreId = z.string().regex(RESOURCE_ID_RE)

/**
 * Whose data is read: a person (`cpf`), or a business (`cnpj`) through a person who may act for it. A core must
 * refuse (answer nothing for) a business the person does not represent.
 */
export const CoreOwner = z.object({ cpf: Cpf, cnpj: Cnpj.optional() })
export type CoreOwner = z.infer<typeof CoreOwner>

/** The status of a resource, as the Resources API reports it. */
export const CoreResourceStatus = z.enum(['AVAILABLE', 'UNAVAILABLE', 'TEMPORARILY_UNAVAILABLE', 'PENDING_AUTHORISATION'])
export type CoreResourceStatus = z.infer<typeof CoreResourceStatus>

/** A window of a list: `offset` records skipped, at most `limit` returned. */
export const CoreSlice = z.object({ offset: z.number().int().min(0), limit: z.number().int().min(1).max(1001) })
export type CoreSlice = z.infer<typeof CoreSlice>

/** A counted page of a list. */
export function corePage<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int().min(0) })
}
/** An uncounted window of a long list (transactions): `hasMore` says whether records follow it. */
export function coreWindow<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), hasMore: z.boolean() })
}

// ---------------------------------------------------------------------------------------------------------------
// Customers and resources (consent journey)
// ---------------------------------------------------------------------------------------------------------------

/** A resource's current status (Resources API). */
export const CoreResourceState = ConsentResource.extend({ status: CoreResourceStatus })
export type CoreResourceState = z.infer<typeof CoreResourceState>

// ---------------------------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------------------------

export const CoreAccountType = z.enum(['CONTA_DEPOSITO_A_VISTA', 'CONTA_POUPANCA', 'CONTA_PAGAMENTO_PRE_PAGA'])
export const CoreAccount = z.object({
  accountId: CoreId,
  type: CoreAccountType,
  subtype: z.enum(['INDIVIDUAL', 'CONJUNTA_SIMPLES', 'CONJUNTA_SOLIDARIA']),
  compeCode: z.string().regex(/^\d{3}$/),
  branchCode: z.string().regex(/^\d{4}$/).optional(),
  number: z.string().regex(/^\d{8,20}$/),
  checkDigit: z.string().max(1).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  status: CoreResourceStatus,
})
export type CoreAccount = z.infer<typeof CoreAccount>

export const CoreBalances = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/),
  available: CoreAmount,
  blocked: CoreAmount,
  automaticallyInvested: CoreAmount,
  updatedAt: CoreInstant,
})
export type CoreBalances = z.infer<typeof CoreBalances>

export const CoreOverdraftLimits = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/),
  contracted: CoreAmount.optional(),
  used: CoreAmount.optional(),
  unarranged: CoreAmount.optional(),
})
export type CoreOverdraftLimits = z.infer<typeof CoreOverdraftLimits>

export const CoreCreditDebit = z.enum(['CREDITO', 'DEBITO'])
export const CoreAccountTransaction = z.object({
  transactionId: CoreId,
  status: z.enum(['TRANSACAO_EFETIVADA', 'LANCAMENTO_FUTURO', 'TRANSACAO_PROCESSANDO']),
  creditDebit: CoreCreditDebit,
  name: z.string().max(200),
  type: z.enum(['TED', 'DOC', 'PIX', 'TRANSFERENCIA_MESMA_INSTITUICAO', 'BOLETO', 'CONVENIO_ARRECADACAO', 'PACOTE_TARIFA_SERVICOS',
    'TARIFA_SERVICOS_AVULSOS', 'FOLHA_PAGAMENTO', 'DEPOSITO', 'SAQUE', 'CARTAO', 'ENCARGOS_JUROS_CHEQUE_ESPECIAL',
    'RENDIMENTO_APLIC_FINANCEIRA', 'PORTABILIDADE_SALARIO', 'APLICACAO_FINANCEIRA', 'RESGATE_APLIC_FINANCEIRA', 'OPERACAO_CREDITO',
    'TRANSFERENCIA_SALDO_RESERVADO', 'OUTROS']),
  typeAdditionalInfo: z.string().max(144).optional(),
  amount: CoreAmount,
  currency: z.string().regex(/^[A-Z]{3}$/),
  /** When it was booked, with milliseconds (RFC 3339 UTC). */
  bookedAt: z.iso.datetime({ offset: false, precision: 3 }),
  counterparty: z.object({
    document: z.string().regex(/^([0-9]{11}|[0-9A-Z]{12}[0-9]{2})$/),
    personType: z.enum(['PESSOA_NATURAL', 'PESSOA_JURIDICA']),
    compeCode: z.string().regex(/^\d{3}$/).optional(),
    branchCode: z.string().regex(/^\d{4}$/).optional(),
    number: z.string().regex(/^\d{8,20}$/).optional(),
    checkDigit: z.string().max(1).optional(),
    ispb: z.string().regex(/^[0-9A-Z]{8}$/).optional(),
  }).optional(),
})
export type CoreAccountTransaction = z.infer<typeof CoreAccountTransaction>

/** Which account transactions to read: booking dates are calendar days in Brasília time (UTC−3), both inclusive. */
export const CoreTransactionQuery = CoreSlice.extend({ fromDate: CoreDate, toDate: CoreDate, creditDebit: CoreCreditDebit.optional() })
export type CoreTransactionQuery = z.infer<typeof CoreTransactionQuery>

// ---------------------------------------------------------------------------------------------------------------
// Credit cards
// ---------------------------------------------------------------------------------------------------------------

export const CoreCardAccount = z.object({
  creditCardAccountId: CoreId,
  name: z.string().max(50),
  productType: z.enum(['CLASSIC_NACIONAL', 'CLASSIC_INTERNACIONAL', 'GOLD', 'PLATINUM', 'INFINITE', 'ELECTRON', 'STANDARD_NACIONAL',
    'STANDARD_INTERNACIONAL', 'ELETRONIC', 'BLACK', 'REDESHOP', 'MAESTRO_MASTERCARD_MAESTRO', 'GREEN', 'BLUE', 'BLUEBOX',
    'PROFISSIONAL_LIBERAL', 'CHEQUE_ELETRONICO', 'CORPORATIVO', 'EMPRESARIAL', 'COMPRAS', 'BASICO_NACIONAL', 'BASICO_INTERNACIONAL',
    'NANQUIM', 'GRAFITE', 'MAIS', 'OUTROS']),
  productAdditionalInfo: z.string().max(50).optional(),
  network: z.enum(['VISA', 'MASTERCARD', 'AMERICAN_EXPRESS', 'DINERS_CLUB', 'HIPERCARD', 'BANDEIRA_PROPRIA', 'CHEQUE_ELETRONICO', 'ELO', 'OUTRAS']),
  networkAdditionalInfo: z.string().max(50).optional(),
  status: CoreResourceStatus,
  /** The plastic cards of the account (last digits as the identification number). */
  paymentMethods: z.array(z.object({ identificationNumber: CoreId, isMultipleCreditCard: z.boolean() })),
})
export type CoreCardAccount = z.infer<typeof CoreCardAccount>

export const CoreCardLimit = z.object({
  creditLineLimitType: z.enum(['LIMITE_CREDITO_TOTAL', 'LIMITE_CREDITO_MODALIDADE_OPERACAO']),
  consolidationType: z.enum(['CONSOLIDADO', 'INDIVIDUAL']),
  identificationNumber: CoreId,
  lineName: z.enum(['CREDITO_A_VISTA', 'CREDITO_PARCELADO', 'SAQUE_CREDITO_BRASIL', 'SAQUE_CREDITO_EXTERIOR', 'EMPRESTIMO_CARTAO_CONSIGNADO', 'OUTROS']).optional(),
  isLimitFlexible: z.boolean(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  limitAmount: CoreAmount.optional(),
  usedAmount: CoreAmount,
  availableAmount: CoreAmount.optional(),
})
export type CoreCardLimit = z.infer<typeof CoreCardLimit>

export const CoreBill = z.object({
  billId: CoreId,
  dueDate: CoreDate,
  closingDate: CoreDate,
  currency: z.string().regex(/^[A-Z]{3}$/),
  totalAmount: CoreAmount,
  minimumAmount: CoreAmount,
  isInstalment: z.boolean(),
  financeCharges: z.array(z.object({
    type: z.enum(['JUROS_REMUNERATORIOS_ATRASO_PAGAMENTO_FATURA', 'MULTA_ATRASO_PAGAMENTO_FATURA', 'JUROS_MORA_ATRASO_PAGAMENTO_FATURA', 'IOF', 'OUTROS']),
    additionalInfo: z.string().max(140).optional(),
    amount: CoreAmount,
  })),
  payments: z.array(z.object({
    valueType: z.enum(['VALOR_PAGAMENTO_FATURA_PARCELADO', 'VALOR_PAGAMENTO_FATURA_REALIZADO', 'OUTRO_VALOR_PAGO_FATURA']),
    paymentDate: CoreDate,
    paymentMode: z.enum(['DEBITO_CONTA_CORRENTE', 'BOLETO_BANCARIO', 'AVERBACAO_FOLHA', 'PIX']),
    amount: CoreAmount,
  })),
})
export type CoreBill = z.infer<typeof CoreBill>

export const CoreBillQuery = CoreSlice.extend({ fromDueDate: CoreDate.optional(), toDueDate: CoreDate.optional() })
export type CoreBillQuery = z.infer<typeof CoreBillQuery>

export const CoreCardTransactionType = z.enum(['PAGAMENTO', 'PAGAMENTO_FATURA', 'TARIFA', 'OPERACOES_CREDITO_CONTRATADAS_CARTAO', 'ESTORNO', 'CASHBACK', 'OUTROS'])
export const CoreCardTransaction = z.object({
  transactionId: CoreId,
  identificationNumber: CoreId,
  billId: CoreId.optional(),
  name: z.string().max(200),
  creditDebit: CoreCreditDebit,
  transactionType: CoreCardTransactionType,
  paymentType: z.enum(['A_VISTA', 'A_PRAZO']).optional(),
  feeType: z.enum(['ANUIDADE', 'SAQUE_CARTAO_BRASIL', 'SAQUE_CARTAO_EXTERIOR', 'AVALIACAO_EMERGENCIAL_CREDITO', 'EMISSAO_SEGUNDA_VIA', 'TARIFA_PAGAMENTO_CONTAS', 'SMS', 'OUTRA']).optional(),
  otherCreditsType: z.enum(['CREDITO_ROTATIVO', 'PARCELAMENTO_FATURA', 'EMPRESTIMO', 'OUTROS']).optional(),
  chargeIdentificator: z.number().int().min(1).max(999).optional(),
  chargeNumber: z.number().int().min(0).max(999).optional(),
  /** Amount in the original currency. */
  amount: CoreAmount,
  currency: z.string().regex(/^[A-Z]{3}$/),
  /** Amount in BRL. */
  brazilianAmount: CoreAmount,
  transactionAt: z.iso.datetime({ offset: false, precision: 3 }),
  billPostDate: CoreDate,
  payeeMCC: z.number().int().min(0).max(9999).optional(),
})
export type CoreCardTransaction = z.infer<typeof CoreCardTransaction>

const cardTransactionFilter = {
  transactionType: CoreCardTransactionType.optional(),
  payeeMCC: z.number().int().min(0).max(9999).optional(),
}
/** Card transactions between two calendar days (Brasília time), both inclusive. */
export const CoreCardTransactionQuery = CoreSlice.extend({ fromDate: CoreDate, toDate: CoreDate, ...cardTransactionFilter })
export type CoreCardTransactionQuery = z.infer<typeof CoreCardTransactionQuery>
/** A bill's transactions, optionally between two calendar days. */
export const CoreBillTransactionQuery = CoreSlice.extend({ fromDate: CoreDate.optional(), toDate: CoreDate.optional(), ...cardTransactionFilter })
export type CoreBillTransactionQuery = z.infer<typeof CoreBillTransactionQuery>

// ---------------------------------------------------------------------------------------------------------------
// Customers (registration data). The core keeps these as registration documents in the Customers API v2 shape
// (without `updateDateTime`, which comes from `updatedAt`); they are validated against the official schema in tests.
// ---------------------------------------------------------------------------------------------------------------

export const CoreDocument = z.record(z.string(), z.unknown())
export const CoreRegistration = z.object({
  identification: CoreDocument,
  qualification: CoreDocument,
  financialRelations: CoreDocument,
  updatedAt: CoreInstant,
})
export type CoreRegistration = z.infer<typeof CoreRegistration>

// ---------------------------------------------------------------------------------------------------------------
// Loans
// ---------------------------------------------------------------------------------------------------------------

export const CoreLoanContract = z.object({
  contractId: CoreId,
  status: CoreResourceStatus,
  contractNumber: z.string().min(1).max(100),
  ipocCode: z.string().min(22).max(67),
  productName: z.string().max(140),
  productSubType: z.enum(['HOME_EQUITY', 'CHEQUE_ESPECIAL', 'CONTA_GARANTIDA', 'CAPITAL_GIRO_TETO_ROTATIVO', 'CREDITO_PESSOAL_SEM_CONSIGNACAO',
    'CREDITO_PESSOAL_COM_CONSIGNACAO', 'MICROCREDITO_PRODUTIVO_ORIENTADO', 'CAPITAL_GIRO_PRAZO_VENCIMENTO_ATE_365_DIAS', 'CAPITAL_GIRO_PRAZO_VENCIMENTO_SUPERIOR_365_DIAS']),
  contractDate: CoreDate,
  disbursementDates: z.array(CoreDate),
  settlementDate: CoreDate.optional(),
  contractAmount: CoreAmount,
  currency: z.string().regex(/^[A-Z]{3}$/),
  dueDate: CoreDate.optional(),
  instalmentPeriodicity: z.enum(['SEM_PERIODICIDADE_REGULAR', 'SEMANAL', 'QUINZENAL', 'MENSAL', 'BIMESTRAL', 'TRIMESTRAL', 'SEMESTRAL', 'ANUAL', 'OUTROS']),
  firstInstalmentDueDate: CoreDate.optional(),
  /** Total effective cost, as a fraction per year (`"0.254300"`). */
  cet: z.string().regex(/^\d{1,6}\.\d{6}$/),
  amortizationScheduled: z.enum(['SAC', 'PRICE', 'SAM', 'SEM_SISTEMA_AMORTIZACAO', 'OUTROS']),
  hasInsuranceContracted: z.boolean(),
  /** Interest rates, contracted fees and finance charges in the Loans API v2 shape. */
  interestRates: z.array(CoreDocument),
  contractedFees: z.array(CoreDocument),
  contractedFinanceCharges: z.array(CoreDocument),
  nextInstalmentAmount: CoreAmount.optional(),
})
export type CoreLoanContract = z.infer<typeof CoreLoanContract>

export const CoreWarranty = z.object({ currency: z.string().regex(/^[A-Z]{3}$/), warrantyType: z.string(), warrantySubType: z.string(), amount: CoreAmount })
export type CoreWarranty = z.infer<typeof CoreWarranty>

/** The instalment plan of a contract, counted by the core. */
export const CoreInstalments = z.object({
  totalNumberOfInstalments: z.number().int().min(0),
  contractRemainingMonths: z.number().int().min(0),
  paidInstalments: z.number().int().min(0),
  dueInstalments: z.number().int().min(0),
  pastDueInstalments: z.number().int().min(0),
})
export type CoreInstalments = z.infer<typeof CoreInstalments>

export const CoreLoanPayments = z.object({
  paidInstalments: z.number().int().min(0),
  contractOutstandingBalance: CoreAmount,
  totalRemainingAmount: CoreAmount,
  releases: z.array(z.object({
    paymentId: CoreId,
    isOverParcelPayment: z.boolean(),
    instalmentId: CoreId.optional(),
    paidDate: CoreDate,
    currency: z.string().regex(/^[A-Z]{3}$/),
    paidAmount: CoreAmount,
  })),
})
export type CoreLoanPayments = z.infer<typeof CoreLoanPayments>

// ---------------------------------------------------------------------------------------------------------------
// Open data (no customer): service channels and account product offers, kept as published documents.
// ---------------------------------------------------------------------------------------------------------------

export const CoreChannelKind = z.enum(['branches', 'electronic-channels', 'phone-channels', 'banking-agents', 'shared-automated-teller-machines'])
export type CoreChannelKind = z.infer<typeof CoreChannelKind>
export const CoreOfferSegment = z.enum(['personal', 'business'])
export type CoreOfferSegment = z.infer<typeof CoreOfferSegment>

// ---------------------------------------------------------------------------------------------------------------
// Pix rail: DICT lookups and Pix debits. Status and reason codes follow the Payments API (docs/regulation/payments.md)
// so the payments service maps them without a table of its own.
// ---------------------------------------------------------------------------------------------------------------

/** A Pix key type as the DICT and the Payments API name it. */
export const CorePixKeyType = z.enum(['CPF', 'CNPJ', 'PHONE', 'EMAIL', 'EVP'])
export type CorePixKeyType = z.infer<typeof CorePixKeyType>

/** Account types a Pix creditor may hold (Payments API `EnumAccountPaymentsType`). */
export const CorePixAccountType = z.enum(['CACC', 'SVGS', 'TRAN'])
export type CorePixAccountType = z.infer<typeof CorePixAccountType>

/** A positive amount with two fraction digits (Pix amounts). */
export const CorePixAmount = z.string().regex(/^\d{1,16}\.\d{2}$/).refine((v) => Number(v) > 0, 'must be positive')

/** A Pix end-to-end id (`E` + ISPB + `yyyyMMddHHmm` + 11 characters; Payments API `EndToEndId`). */
export const CorePixEndToEndId = z.string().regex(/^E[0-9]{8}[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[1-2][0-9]|3[0-1])(2[0-3]|[01][0-9])[0-5][0-9][a-zA-Z0-9]{11}$/)

/** A transactional account somewhere in the Pix arrangement, and who holds it. */
export const CorePixAccount = z.object({
  ispb: z.string().regex(/^[0-9]{8}$/),
  /** Branch (up to 4 digits). */
  issuer: z.string().regex(/^[0-9]{1,4}$/),
  number: z.string().regex(/^[0-9]{1,20}$/),
  accountType: CorePixAccountType,
})
export type CorePixAccount = z.infer<typeof CorePixAccount>

/** A DICT entry: the key, the account it points at and its holder. */
export const CorePixKeyEntry = z.object({
  key: z.string().min(1).max(77),
  keyType: CorePixKeyType,
  account: CorePixAccount,
  holder: z.object({ document: z.string().regex(/^([0-9]{11}|[0-9A-Z]{12}[0-9]{2})$/), personType: z.enum(['PESSOA_NATURAL', 'PESSOA_JURIDICA']), name: z.string().min(1).max(140) }),
})
export type CorePixKeyEntry = z.infer<typeof CorePixKeyEntry>

/**
 * The answer of a DICT lookup. `KEY_TYPE_MISMATCH`: the key is not of the declared type (malformed for it, or
 * registered under another type); `NOT_FOUND`: no such key.
 */
export const CorePixKeyLookup = z.discriminatedUnion('result', [
  z.object({ result: z.literal('FOUND'), entry: CorePixKeyEntry }),
  z.object({ result: z.literal('NOT_FOUND') }),
  z.object({ result: z.literal('KEY_TYPE_MISMATCH') }),
])
export type CorePixKeyLookup = z.infer<typeof CorePixKeyLookup>

/** What a Pix debit asks the core to do. The `endToEndId` names it: a second call with the same id is the same debit. */
export const CorePixDebit = z.object({
  endToEndId: CorePixEndToEndId,
  /** The owner's account to debit (public id). */
  debtorAccountId: CoreId,
  amount: CorePixAmount,
  currency: z.literal('BRL'),
  creditor: CorePixAccount.extend({
    document: z.string().regex(/^([0-9]{11}|[0-9A-Z]{12}[0-9]{2})$/),
    name: z.string().min(1).max(140),
  }),
  remittanceInformation: z.string().max(140).optional(),
})
export type CorePixDebit = z.infer<typeof CorePixDebit>

/**
 * Where a Pix payment stands in the core. `HELD`: debited, held by the core for analysis before settlement (Payments
 * API PDNG; it becomes `PENDING` when released, `REJECTED` or `CANCELLED` with the debit returned); `PENDING`:
 * debited, awaiting settlement (Payments API ACPD); `SETTLED`:
 * credited to the creditor (ACSC); `REJECTED`: refused at initiation (nothing debited) or at settlement (debit
 * returned), with a reason (RJCT); `CANCELLED`: cancelled before settlement, debit returned.
 */
export const CorePixStatus = z.enum(['HELD', 'PENDING', 'SETTLED', 'REJECTED', 'CANCELLED'])
export type CorePixStatus = z.infer<typeof CorePixStatus>

/** Why the core rejected a Pix payment (a subset of the Payments API `EnumRejectionReasonTypeGetPix`). */
export const CorePixRejectionCode = z.enum(['SALDO_INSUFICIENTE', 'VALOR_ACIMA_LIMITE', 'CONTAS_ORIGEM_DESTINO_IGUAIS', 'PAGAMENTO_RECUSADO_SPI', 'PAGAMENTO_RECUSADO_DETENTORA'])
export type CorePixRejectionCode = z.infer<typeof CorePixRejectionCode>

/** A Pix payment as the core recorded it. */
export const CorePixPayment = CorePixDebit.extend({
  status: CorePixStatus,
  rejectionReason: z.object({ code: CorePixRejectionCode, detail: z.string().max(2048) }).optional(),
  /** The debit's line in the debtor account's transactions (absent when nothing was debited). */
  debitTransactionId: CoreId.optional(),
  createdAt: CoreInstant,
  statusUpdatedAt: CoreInstant,
})
export type CorePixPayment = z.infer<typeof CorePixPayment>

/** Schemas of what each {@link CoreConnector} method answers (the HTTP connector validates with them). */
export const CoreAnswers = {
  authenticatedCustomer: AuthenticatedCustomer,
  selectableResources: z.array(SelectableResource),
  resourceStates: z.array(CoreResourceState),
  accounts: corePage(CoreAccount),
  account: CoreAccount,
  balances: CoreBalances,
  overdraftLimits: CoreOverdraftLimits,
  accountTransactions: coreWindow(CoreAccountTransaction),
  cardAccounts: corePage(CoreCardAccount),
  cardAccount: CoreCardAccount,
  cardLimits: z.array(CoreCardLimit),
  bills: corePage(CoreBill),
  bill: CoreBill,
  cardTransactions: coreWindow(CoreCardTransaction),
  cardTransactionPage: corePage(CoreCardTransaction),
  registration: CoreRegistration,
  loanContracts: corePage(CoreLoanContract),
  loanContract: CoreLoanContract,
  warranties: corePage(CoreWarranty),
  instalments: CoreInstalments,
  loanPayments: CoreLoanPayments,
  documents: corePage(CoreDocument),
  pixKeyLookup: CorePixKeyLookup,
  pixPayment: CorePixPayment,
} as const

type Page<T> = { items: T[]; total: number }
type Window<T> = { items: T[]; hasMore: boolean }

/**
 * The core's Pix rail. Debits are idempotent by `endToEndId` and never settled twice; settlement happens later, on
 * the core's side, and is observed with {@link CorePixRail.pixPayment}. Scheduling is not the core's concern: the
 * payments service calls {@link CorePixRail.initiatePix} on the payment date.
 */
export interface CorePixRail {
  /** Looks a key up in the DICT, checking that it is of the declared type. */
  pixKeyLookup(key: string, keyType: CorePixKeyType): Promise<CorePixKeyLookup>
  /**
   * Debits the owner's account for a Pix payment, or refuses it (`REJECTED` with `SALDO_INSUFICIENTE`,
   * `VALOR_ACIMA_LIMITE` or `CONTAS_ORIGEM_DESTINO_IGUAIS`, nothing debited). Balance and the owner's daily Pix limit
   * are checked and the debit written atomically. Idempotent: a call with an `endToEndId` already recorded for this
   * owner answers that payment as it stands now and debits nothing, however many calls race; with different debit
   * data it rejects with `DomainError('CONFLICT')`. `undefined` when the debtor account (or the recorded payment) is
   * not the owner's.
   */
  initiatePix(owner: CoreOwner, debit: CorePixDebit): Promise<CorePixPayment | undefined>
  /** The payment as it stands; `undefined` when unknown or not the owner's. */
  pixPayment(owner: CoreOwner, endToEndId: string): Promise<CorePixPayment | undefined>
  /**
   * Cancels a payment that is still `PENDING` (the debit is returned) and answers it as it stands afterwards:
   * `CANCELLED` when it is (now or already) cancelled; `SETTLED` or `REJECTED` when it was too late to cancel.
   * `undefined` when unknown or not the owner's.
   */
  cancelPix(owner: CoreOwner, endToEndId: string): Promise<CorePixPayment | undefined>
}

/**
 * A bank core as Ponte sees it. Every customer read is scoped by an {@link CoreOwner}; a resource that does not
 * exist or is not the owner's reads as `undefined` (never someone else's data). List reads take the consented ids.
 * Failures of the core itself reject with a platform `DomainError` (`GATEWAY_TIMEOUT`, `BAD_GATEWAY`,
 * `UPSTREAM_UNAVAILABLE`).
 */
export interface CoreConnector extends CorePixRail {
  /** The customer when `cpf` and `password` match; `undefined` otherwise (same outcome for unknown CPFs). */
  authenticateCustomer(cpf: string, password: string): Promise<AuthenticatedCustomer | undefined>
  /** The resources the owner holds, for the consent review page; `undefined` when the person or the business link is unknown. */
  selectableResources(owner: CoreOwner): Promise<SelectableResource[] | undefined>
  /** The current status of each given resource held by the owner; resources the owner does not hold are left out. */
  resourceStates(owner: CoreOwner, resources: ConsentResource[]): Promise<CoreResourceState[]>

  accounts(owner: CoreOwner, ids: string[], filter: { type?: CoreAccount['type'] } & CoreSlice): Promise<Page<CoreAccount>>
  account(owner: CoreOwner, accountId: string): Promise<CoreAccount | undefined>
  balances(owner: CoreOwner, accountId: string): Promise<CoreBalances | undefined>
  overdraftLimits(owner: CoreOwner, accountId: string): Promise<CoreOverdraftLimits | undefined>
  /** Newest first (booking instant, then id). */
  accountTransactions(owner: CoreOwner, accountId: string, query: CoreTransactionQuery): Promise<Window<CoreAccountTransaction>>

  cardAccounts(owner: CoreOwner, ids: string[], slice: CoreSlice): Promise<Page<CoreCardAccount>>
  cardAccount(owner: CoreOwner, cardAccountId: string): Promise<CoreCardAccount | undefined>
  cardLimits(owner: CoreOwner, cardAccountId: string): Promise<CoreCardLimit[]>
  /** Newest due date first. */
  bills(owner: CoreOwner, cardAccountId: string, query: CoreBillQuery): Promise<Page<CoreBill>>
  bill(owner: CoreOwner, cardAccountId: string, billId: string): Promise<CoreBill | undefined>
  /** Newest first, over the transaction dates of the query. */
  cardTransactions(owner: CoreOwner, cardAccountId: string, query: CoreCardTransactionQuery): Promise<Window<CoreCardTransaction>>
  /** One bill's transactions, newest first, counted (dates optional). */
  billTransactions(owner: CoreOwner, cardAccountId: string, billId: string, query: CoreBillTransactionQuery): Promise<Page<CoreCardTransaction>>

  /** The person's (no `cnpj`) or the business's registration data. */
  registration(owner: CoreOwner): Promise<CoreRegistration | undefined>

  loanContracts(owner: CoreOwner, ids: string[], slice: CoreSlice): Promise<Page<CoreLoanContract>>
  loanContract(owner: CoreOwner, contractId: string): Promise<CoreLoanContract | undefined>
  warranties(owner: CoreOwner, contractId: string, slice: CoreSlice): Promise<Page<CoreWarranty>>
  instalments(owner: CoreOwner, contractId: string): Promise<CoreInstalments | undefined>
  loanPayments(owner: CoreOwner, contractId: string): Promise<CoreLoanPayments | undefined>

  /** Published service channels of one kind, in publication order. */
  channels(kind: CoreChannelKind, slice: CoreSlice): Promise<Page<Record<string, unknown>>>
  /** Published account product offers of one segment. */
  accountOffers(segment: CoreOfferSegment, slice: CoreSlice): Promise<Page<Record<string, unknown>>>
}
