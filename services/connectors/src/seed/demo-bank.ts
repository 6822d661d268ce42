import { createHash } from 'node:crypto'
import { withTransaction, type Pool, type PoolClient } from '@ponte/platform'
import { hashPassword } from '../domain/password.ts'
import { addDays, addMonths, brasiliaToday } from '../domain/dates.ts'
import { DEFAULT_ISPB } from '../domain/pix.ts'

/** The documented demo customers (README). All share the demo password. */
export const DEMO_PASSWORD = 'P@ssw0rd-demo'
export const DEMO_CUSTOMERS = {
  ana: { cpf: '76109277673', name: 'Ana Beatriz Souza' },
  carlos: { cpf: '11144477735', name: 'Carlos Eduardo Lima' },
  business: { cnpj: '11222333000181', name: 'Lima Comércio de Alimentos Ltda' },
  mariana: { cpf: '52998224725', name: 'Mariana Costa Pereira' },
  /** A business whose payments need two approvers, and the two partners who act for it. */
  transport: { cnpj: '33445566000186', name: 'Alves & Rocha Transportes Ltda' },
  paulo: { cpf: '39053344705', name: 'Paulo Henrique Alves' },
  juliana: { cpf: '28715382630', name: 'Juliana Martins Rocha' },
} as const

/** The demo Pix keys (README): a merchant at another institution, and the third demo customer's checking account. */
export const DEMO_PIX_KEYS = {
  merchant: { key: 'pix@lojaexemplo.com.br', keyType: 'EMAIL', document: '11444777000161', name: 'Loja Exemplo Ltda', ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' },
  mariana: { key: '+5561988887777', keyType: 'PHONE', document: DEMO_CUSTOMERS.mariana.cpf, name: DEMO_CUSTOMERS.mariana.name, ispb: null, issuer: '0001', number: '00099887', accountType: 'CACC' },
} as const

/** The institution as the demo documents present it. */
export interface DemoBrand { brandName: string; companyCnpj: string }
const DEFAULT_BRAND: DemoBrand = { brandName: 'Banco Ponte', companyCnpj: '12345678000195' }
const COMPE = '999'
const SEED_NAME = 'demo-bank-v1'

/** Deterministic PRNG (mulberry32): the same seed gives the same bank. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    amount: (min: number, max: number) => (min + next() * (max - min)).toFixed(2),
  }
}

/** A stable UUID-shaped id from a label (public ids of the demo bank never change between loads). */
export function demoId(label: string): string {
  const h = createHash('sha256').update(`ponte-demo:${label}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const salt = (label: string) => createHash('sha256').update(`ponte-demo-salt:${label}`).digest().subarray(0, 16)

type Tx = { booked: string; creditDebit: 'CREDITO' | 'DEBITO'; name: string; type: string; amount: string; status: string; partie?: [string, string, string | null, string | null, string | null, string | null] }

/** A Brasília wall-clock instant (`YYYY-MM-DD` at `hh:mm`) as an ISO instant. */
const at = (date: string, hour: number, minute: number, second = 0) =>
  new Date(Date.parse(`${date}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}.000-03:00`)).toISOString()

const MERCHANTS = ['Supermercado Bom Preço', 'Farmácia Saúde', 'Padaria Pão Quente', 'Posto Avenida', 'Restaurante Sabor da Casa', 'Livraria Central', 'Loja Casa & Cia', 'Mercado Pago Fácil']
const PIX_PEOPLE: Array<[string, string]> = [['39053344705', 'PESSOA_NATURAL'], ['15350946056', 'PESSOA_NATURAL'], ['04252011000110', 'PESSOA_JURIDICA']]

/** Twelve months of statement lines (plus a few scheduled ones) for a checking account. */
function statement(r: ReturnType<typeof prng>, today: string, now: Date, salary: { amount: string; payer: string; name: string }, daily: number): Tx[] {
  const out: Tx[] = []
  const start = addMonths(today, -12)
  for (let day = start; day <= today; day = addDays(day, 1)) {
    const dom = Number(day.slice(8, 10))
    if (dom === 5) out.push({ booked: at(day, 8, 0), creditDebit: 'CREDITO', name: salary.name, type: 'FOLHA_PAGAMENTO', amount: salary.amount, status: 'TRANSACAO_EFETIVADA', partie: [salary.payer, 'PESSOA_JURIDICA', '001', '0001', '12345678', '9'] })
    if (dom === 10) out.push({ booked: at(day, 9, 30), creditDebit: 'DEBITO', name: 'Aluguel - boleto', type: 'BOLETO', amount: r.amount(1800, 1900), status: 'TRANSACAO_EFETIVADA' })
    if (dom === 15) out.push({ booked: at(day, 10, 0), creditDebit: 'DEBITO', name: 'Conta de luz', type: 'CONVENIO_ARRECADACAO', amount: r.amount(120, 260), status: 'TRANSACAO_EFETIVADA' })
    if (dom === 1) out.push({ booked: at(day, 6, 0), creditDebit: 'DEBITO', name: 'Pacote de serviços', type: 'PACOTE_TARIFA_SERVICOS', amount: '29.90', status: 'TRANSACAO_EFETIVADA' })
    const n = r.int(0, daily)
    for (let i = 0; i < n; i++) {
      const kind = r.next()
      const hour = r.int(8, 21)
      const minute = r.int(0, 59)
      let booked = at(day, hour, minute, r.int(0, 59))
      if (day === today && Date.parse(booked) > now.getTime()) booked = new Date(now.getTime() - (i + 1) * 60_000).toISOString()
      if (kind < 0.45) out.push({ booked, creditDebit: 'DEBITO', name: `Compra cartão débito ${r.pick(MERCHANTS)}`, type: 'CARTAO', amount: r.amount(8, 220), status: 'TRANSACAO_EFETIVADA' })
      else if (kind < 0.75) {
        const [doc, personType] = r.pick(PIX_PEOPLE)
        const credit = r.next() < 0.35
        out.push({ booked, creditDebit: credit ? 'CREDITO' : 'DEBITO', name: credit ? 'Pix recebido' : 'Pix enviado', type: 'PIX', amount: r.amount(10, 400), status: 'TRANSACAO_EFETIVADA', partie: [doc, personType, '260', '0001', String(r.int(10_000_000, 99_999_999)), String(r.int(0, 9))] })
      } else if (kind < 0.85) out.push({ booked, creditDebit: 'DEBITO', name: 'Saque terminal', type: 'SAQUE', amount: `${r.int(2, 20) * 10}.00`, status: 'TRANSACAO_EFETIVADA' })
      else if (kind < 0.93) out.push({ booked, creditDebit: 'DEBITO', name: 'TED enviada', type: 'TED', amount: r.amount(100, 900), status: 'TRANSACAO_EFETIVADA', partie: ['39053344705', 'PESSOA_NATURAL', '033', '1234', '00012345', '6'] })
      else out.push({ booked, creditDebit: 'CREDITO', name: 'Rendimento aplicação automática', type: 'RENDIMENTO_APLIC_FINANCEIRA', amount: r.amount(1, 30), status: 'TRANSACAO_EFETIVADA' })
    }
  }
  // Scheduled payments (future-dated, LANCAMENTO_FUTURO).
  for (let m = 1; m <= 3; m++) out.push({ booked: at(addMonths(today, m), 9, 0), creditDebit: 'DEBITO', name: 'Agendamento - boleto condomínio', type: 'BOLETO', amount: '650.00', status: 'LANCAMENTO_FUTURO' })
  return out
}

/** The demo customers' TOTP secret (README): base32, for any RFC 6238 authenticator app (SHA-1, 6 digits, 30 s). */
export const DEMO_TOTP_SECRET = 'PONTEDEMOTOTP234'

/** Gives every demo person the documented TOTP secret; added to an already loaded demo bank too (idempotent). */
async function seedDemoTotp(c: PoolClient): Promise<void> {
  const cpfs = [DEMO_CUSTOMERS.ana.cpf, DEMO_CUSTOMERS.carlos.cpf, DEMO_CUSTOMERS.mariana.cpf, DEMO_CUSTOMERS.paulo.cpf, DEMO_CUSTOMERS.juliana.cpf]
  await c.query(`insert into customer_totp (customer_id, secret) select id, $2 from customer where cpf = any($1::text[]) on conflict (customer_id) do nothing`, [cpfs, DEMO_TOTP_SECRET])
}

/**
 * The business whose payments need two approvers (docs/regulation/payments.md#multiple-approvers), its two partners
 * and its checking account. It came after the first demo bank, so it is added to an already loaded one too (once).
 */
async function seedDemoApprovers(c: PoolClient, brand: DemoBrand, hash: string, r: ReturnType<typeof prng>, today: string, now: Date): Promise<void> {
  const { transport, paulo, juliana } = DEMO_CUSTOMERS
  if ((await c.query(`select 1 from customer where cnpj = $1`, [transport.cnpj])).rowCount) return
  const partners: number[] = []
  for (const [i, p] of [paulo, juliana].entries()) {
    const id = await insertCustomer(c, {
      kind: 'PF', cpf: p.cpf, name: p.name,
      ...personal(brand, { cpf: p.cpf, name: p.name, birth: i === 0 ? '1975-03-14' : '1982-11-02', sex: i === 0 ? 'MASCULINO' : 'FEMININO', marital: 'CASADO', email: `${i === 0 ? 'paulo.alves' : 'juliana.rocha'}@example.com`, phone: `98765001${i + 4}`, occupation: 'Empresário', income: '15000.00', patrimony: '600000.00', products: ['OUTROS'], accounts: [] }),
    })
    await c.query(`insert into credential (customer_id, password_hash) values ($1, $2)`, [id, hash])
    partners.push(id)
  }
  const bizId = await insertCustomer(c, {
    kind: 'PJ', cnpj: transport.cnpj, name: transport.name,
    identification: {
      businessId: demoId(`business:${transport.cnpj}`),
      brandName: brand.brandName,
      companyName: transport.name,
      tradeName: 'Transportes Alves & Rocha',
      incorporationDate: '2015-02-10T00:00:00Z',
      cnpjNumber: transport.cnpj,
      companiesCnpj: [brand.companyCnpj],
      parties: [paulo, juliana].map((p) => ({ personType: 'PESSOA_NATURAL', type: 'SOCIO', civilName: p.name, startDate: '2015-02-10T00:00:00Z', shareholding: '0.500000', documentType: 'CPF', documentNumber: p.cpf, documentCountry: 'BRA' })),
      contacts: {
        postalAddresses: [address('Avenida das Indústrias, 900', 'Distrito Industrial', 'Campinas', 'SP', '13054700', '3509502')],
        phones: [{ isMain: true, type: 'FIXO', countryCallingCode: '55', areaCode: '19', number: '32320900' }],
        emails: [{ isMain: true, email: 'financeiro@alvesrocha.example.com' }],
      },
    },
    qualification: { economicActivities: [{ code: '4930202', isMain: true }], informedRevenue: { frequency: 'ANUAL', amount: { amount: '3600000.00', currency: 'BRL' }, year: 2025 }, informedPatrimony: { amount: { amount: '1200000.00', currency: 'BRL' }, date: '2025-12-31' } },
    financialRelations: {
      startDate: '2015-03-02T12:00:00Z',
      productsServicesType: ['CONTA_DEPOSITO_A_VISTA'],
      procurators: [paulo, juliana].map((p) => ({ type: 'REPRESENTANTE_LEGAL', cnpjCpfNumber: p.cpf, civilName: p.name })),
      accounts: [{ compeCode: COMPE, branchCode: '0002', number: '00088001', checkDigit: '5', type: 'CONTA_DEPOSITO_A_VISTA' }],
    },
  })
  for (const id of partners) await c.query(`insert into representative (person_id, business_id, role) values ($1, $2, 'ADMINISTRADOR')`, [id, bizId])
  const accountId = await insertAccount(c, bizId, { label: 'transport:checking', type: 'CONTA_DEPOSITO_A_VISTA', branch: '0002', number: '00088001', digit: '5', opening: '60000.00' },
    statement(r, today, now, { amount: '42000.00', payer: '60701190000104', name: 'Recebimento fretes' }, 2))
  await c.query(`update account set approvers_required = 2 where id = $1`, [accountId])
}

async function insertCustomer(c: PoolClient, row: { kind: 'PF' | 'PJ'; cpf?: string; cnpj?: string; name: string; identification: object; qualification: object; financialRelations: object }): Promise<number> {
  const { rows } = await c.query(
    `insert into customer (kind, cpf, cnpj, name, identification, qualification, financial_relations) values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [row.kind, row.cpf ?? null, row.cnpj ?? null, row.name, row.identification, row.qualification, row.financialRelations],
  )
  return Number(rows[0].id)
}

async function insertAccount(c: PoolClient, ownerId: number, a: { label: string; type: string; branch: string; number: string; digit: string; opening: string; overdraft?: [string, string, string] }, txs: Tx[]): Promise<number> {
  const { rows } = await c.query(
    `insert into account (account_id, owner_id, type, subtype, compe_code, branch_code, number, check_digit) values ($1, $2, $3, 'INDIVIDUAL', $4, $5, $6, $7) returning id`,
    [demoId(a.label), ownerId, a.type, COMPE, a.branch, a.number, a.digit],
  )
  const id = Number(rows[0].id)
  if (txs.length) {
    await c.query(
      `insert into account_transaction (account_id, booked_at, status, credit_debit, name, type, amount, partie_document, partie_person_type, partie_compe_code, partie_branch_code, partie_number, partie_check_digit)
       select $1, * from unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])`,
      [id, txs.map((t) => t.booked), txs.map((t) => t.status), txs.map((t) => t.creditDebit), txs.map((t) => t.name), txs.map((t) => t.type), txs.map((t) => t.amount),
        txs.map((t) => t.partie?.[0] ?? null), txs.map((t) => t.partie?.[1] ?? null), txs.map((t) => t.partie?.[2] ?? null), txs.map((t) => t.partie?.[3] ?? null), txs.map((t) => t.partie?.[4] ?? null), txs.map((t) => t.partie?.[5] ?? null)],
    )
  }
  // The balance is the opening balance plus every effected line.
  await c.query(
    `insert into balance (account_id, available, blocked, automatically_invested, updated_at)
     select $1, $2::numeric + coalesce(sum(case when credit_debit = 'CREDITO' then amount else -amount end), 0), 0, 0, date_trunc('second', now())
     from account_transaction where account_id = $1 and status = 'TRANSACAO_EFETIVADA'`,
    [id, a.opening],
  )
  if (a.overdraft) await c.query(`insert into overdraft_limit (account_id, contracted, used, unarranged) values ($1, $2, $3, $4)`, [id, ...a.overdraft])
  return id
}

async function insertCard(c: PoolClient, r: ReturnType<typeof prng>, ownerId: number, card: { label: string; name: string; productType: string; network: string; digits: string[]; limit: string }, today: string, now: Date): Promise<void> {
  const { rows } = await c.query(
    `insert into card_account (card_account_id, owner_id, name, product_type, network) values ($1, $2, $3, $4, $5) returning id`,
    [demoId(card.label), ownerId, card.name, card.productType, card.network],
  )
  const id = Number(rows[0].id)
  for (const [i, d] of card.digits.entries()) await c.query(`insert into card (card_account_id, identification_number, is_multiple) values ($1, $2, $3)`, [id, d, card.digits.length > 1 && i > 0])
  // Bills: due on day 10, closing 7 days before; 12 closed bills and the open one.
  const firstDue = addMonths(`${today.slice(0, 8)}10`, today.slice(8) >= '03' ? 1 : 0)
  let openTotal = 0
  for (let m = 12; m >= 0; m--) {
    const due = addMonths(firstDue, -m)
    const closing = addDays(due, -7)
    const prevClosing = addDays(addMonths(due, -1), -7)
    const billPublic = demoId(`${card.label}:bill:${due}`)
    const { rows: b } = await c.query(
      `insert into bill (bill_id, card_account_id, due_date, closing_date, total_amount, minimum_amount, is_instalment) values ($1, $2, $3, $4, 0, 0, false) returning id`,
      [billPublic, id, due, closing],
    )
    const billId = Number(b[0].id)
    let total = 0
    for (let day = addDays(prevClosing, 1); day <= closing && day <= today; day = addDays(day, 1)) {
      const n = r.int(0, 2)
      for (let i = 0; i < n; i++) {
        let when = at(day, r.int(9, 22), r.int(0, 59))
        if (Date.parse(when) > now.getTime()) when = new Date(now.getTime() - (i + 1) * 120_000).toISOString()
        const amount = r.amount(15, 480)
        const instalment = r.next() < 0.1
        total += Number(amount)
        await c.query(
          `insert into card_transaction (card_account_id, bill_id, identification_number, name, credit_debit, transaction_type, payment_type, charge_identificator, charge_number, amount, brazilian_amount, transaction_at, bill_post_date, payee_mcc)
           values ($1, $2, $3, $4, 'DEBITO', 'PAGAMENTO', $5, $6, $7, $8, $8, $9, $10, $11)`,
          [id, billId, r.pick(card.digits), r.pick(MERCHANTS), instalment ? 'A_PRAZO' : 'A_VISTA', instalment ? r.int(1, 3) : null, instalment ? 3 : null, amount, when, day, r.pick([5411, 5912, 5812, 5541, 5942])],
        )
      }
    }
    if (m === 12) {
      await c.query(
        `insert into card_transaction (card_account_id, bill_id, identification_number, name, credit_debit, transaction_type, fee_type, amount, brazilian_amount, transaction_at, bill_post_date)
         values ($1, $2, $3, 'Anuidade', 'DEBITO', 'TARIFA', 'ANUIDADE', 0, 0, $4, $5)`,
        [id, billId, card.digits[0], at(closing, 3, 0), closing],
      )
    }
    const closed = closing < today
    const totalText = total.toFixed(2)
    const payments = closed && due <= today ? [{ valueType: 'VALOR_PAGAMENTO_FATURA_REALIZADO', paymentDate: due, paymentMode: 'DEBITO_CONTA_CORRENTE', amount: totalText }] : []
    if (!closed || due > today) openTotal += total
    await c.query(`update bill set total_amount = $2, minimum_amount = round($2 * 0.15, 2), payments = $3 where id = $1`, [billId, totalText, JSON.stringify(payments)])
  }
  await c.query(
    `insert into card_limit (card_account_id, position, line_limit_type, consolidation_type, identification_number, line_name, is_flexible, limit_amount, used_amount) values
     ($1, 1, 'LIMITE_CREDITO_TOTAL', 'CONSOLIDADO', $2, null, false, $3, $4),
     ($1, 2, 'LIMITE_CREDITO_MODALIDADE_OPERACAO', 'INDIVIDUAL', $2, 'SAQUE_CREDITO_BRASIL', false, $5, 0)`,
    [id, card.digits[0], card.limit, openTotal.toFixed(2), (Number(card.limit) * 0.2).toFixed(2)],
  )
}

async function insertLoan(c: PoolClient, ownerId: number, today: string, brand: DemoBrand): Promise<void> {
  const contractDate = addMonths(today, -8)
  const amount = 20_000
  const n = 24
  const monthly = 0.021
  const instalment = (amount * monthly) / (1 - (1 + monthly) ** -n)
  const { rows } = await c.query(
    `insert into loan_contract (contract_id, owner_id, contract_number, ipoc_code, product_name, product_sub_type, contract_date, disbursement_date, contract_amount, due_date, cet, amortization, has_insurance, interest_rates, contracted_fees, finance_charges)
     values ($1, $2, $3, $4, 'Crédito Pessoal Ponte', 'CREDITO_PESSOAL_SEM_CONSIGNACAO', $5, $5, $6, $7, '0.322100', 'PRICE', true, $8, $9, $10) returning id`,
    [demoId('ana:loan'), ownerId, '2025000123', `${brand.companyCnpj.slice(0, 8)}76109277673CP2025000123`, contractDate, amount.toFixed(2), addMonths(contractDate, n),
      JSON.stringify([{ taxType: 'EFETIVA', interestRateType: 'COMPOSTO', taxPeriodicity: 'AA', calculation: '21/252', referentialRateIndexerType: 'PRE_FIXADO', referentialRateIndexerSubType: 'PRE_FIXADO', preFixedRate: '0.283200' }]),
      JSON.stringify([{ feeName: 'Tarifa de cadastro', feeCode: 'CADASTRO', feeChargeType: 'UNICA', feeCharge: 'FIXO', feeAmount: '150.00' }]),
      JSON.stringify([{ chargeType: 'JUROS_MORA_ATRASO', chargeRate: '0.010000' }, { chargeType: 'MULTA_ATRASO_PAGAMENTO', chargeRate: '0.020000' }, { chargeType: 'IOF_CONTRATACAO', chargeRate: '0.003800' }])],
  )
  const id = Number(rows[0].id)
  for (let k = 1; k <= n; k++) {
    const due = addMonths(contractDate, k)
    const paid = due < today ? due : null
    await c.query(`insert into loan_instalment (contract_id, number, instalment_id, due_date, amount, paid_on) values ($1, $2, $3, $4, $5, $6)`, [id, k, demoId(`ana:loan:instalment:${k}`), due, instalment.toFixed(2), paid])
    if (paid) await c.query(`insert into loan_payment (payment_id, contract_id, instalment_number, paid_on, amount) values ($1, $2, $3, $4, $5)`, [demoId(`ana:loan:payment:${k}`), id, k, paid, instalment.toFixed(2)])
  }
  await c.query(`insert into loan_warranty (contract_id, position, warranty_type, warranty_sub_type, amount) values ($1, 1, 'GARANTIA_FIDEJUSSORIA', 'PESSOA_FISICA', '20000.00')`, [id])
}

const address = (street: string, district: string, town: string, uf: string, cep: string, ibge: string) => ({ isMain: true, address: street, districtName: district, townName: town, ibgeTownCode: ibge, countrySubDivision: uf, postCode: cep, country: 'Brasil', countryCode: 'BRA' })

function personal(brand: DemoBrand, p: { cpf: string; name: string; birth: string; sex: string; marital: string; email: string; phone: string; occupation: string; income: string; patrimony: string; accounts: Array<{ branch: string; number: string; digit: string; type: string }>; products: string[] }) {
  return {
    identification: {
      personalId: demoId(`person:${p.cpf}`),
      brandName: brand.brandName,
      civilName: p.name,
      birthDate: p.birth,
      maritalStatusCode: p.marital,
      sex: p.sex,
      companiesCnpj: [brand.companyCnpj],
      documents: { cpfNumber: p.cpf },
      hasBrazilianNationality: true,
      contacts: {
        postalAddresses: [address('Rua das Acácias, 120, apto 41', 'Pinheiros', 'São Paulo', 'SP', '05422010', '3550308')],
        phones: [{ isMain: true, type: 'MOVEL', countryCallingCode: '55', areaCode: '11', number: p.phone }],
        emails: [{ isMain: true, email: p.email }],
      },
    },
    qualification: {
      companyCnpj: brand.companyCnpj,
      occupationCode: 'OUTRO',
      occupationDescription: p.occupation,
      informedIncome: { frequency: 'MENSAL', amount: { amount: p.income, currency: 'BRL' }, date: '2025-01-15' },
      informedPatrimony: { amount: { amount: p.patrimony, currency: 'BRL' }, year: 2025 },
    },
    financialRelations: {
      startDate: '2019-03-11T12:00:00Z',
      productsServicesType: p.products,
      procurators: [],
      accounts: p.accounts.map((a) => ({ compeCode: COMPE, branchCode: a.branch, number: a.number, checkDigit: a.digit, type: a.type, subtype: 'INDIVIDUAL' })),
    },
  }
}

function channels(brand: DemoBrand) {
  const participant = { brand: brand.brandName, name: `${brand.brandName} S.A.`, cnpjNumber: brand.companyCnpj }
  const weekdays = ['SEGUNDA_FEIRA', 'TERCA_FEIRA', 'QUARTA_FEIRA', 'QUINTA_FEIRA', 'SEXTA_FEIRA'].map((weekday) => ({ weekday, openingTime: '13:00:00Z', closingTime: '19:00:00Z' }))
  const services = [
    { name: 'ABERTURA_CONTAS_DEPOSITOS_OU_PAGAMENTO_PRE_PAGA', code: 'ABRE_CONTA_DEPOSITO_OU_PRE_PAGA' },
    { name: 'SAQUE_MOEDA_EM_ESPECIE', code: 'SAQUE_MOEDA_ESPECIE' },
    { name: 'CONSULTA_SALDOS_EXTRATOS_CONTAS_DEPOSITOS_CONTAS_PAGAMENTOS', code: 'CONSULTA_SALDOS_EXTRATOS_CONTAS_DEPOSITOS_PAGTOS' },
    { name: 'CARTAO_CREDITO', code: 'CARTAO_CREDITO' },
  ]
  const branch = (code: string, digit: string, name: string, addr: [string, string, string, string, string, string], lat: string, lon: string) => ({
    participant,
    identification: { type: 'AGENCIA', code, checkDigit: digit, name, openingDate: '2010-05-03' },
    postalAddress: { address: addr[0], districtName: addr[1], townName: addr[2], ibgeCode: addr[5], countrySubDivision: addr[3], postCode: addr[4], country: 'Brasil', countryCode: 'BRA', geographicCoordinates: { latitude: lat, longitude: lon } },
    availability: { standards: weekdays, isPublicAccessAllowed: true },
    phones: [{ type: 'FIXO', countryCallingCode: '55', areaCode: '11', number: '40040001' }],
    services,
  })
  return {
    'branches': [
      branch('0001', '9', 'Agência Paulista', ['Avenida Paulista, 1000', 'Bela Vista', 'São Paulo', 'SP', '01310100', '3550308'], '-23.564000', '-46.652000'),
      branch('0002', '7', 'Agência Centro Rio', ['Avenida Rio Branco, 50', 'Centro', 'Rio de Janeiro', 'RJ', '20090003', '3304557'], '-22.902000', '-43.177000'),
    ],
    'electronic-channels': [
      { participant, identification: { type: 'INTERNET_BANKING', urls: ['https://www.bancoponte.example/internet-banking'] }, services },
      { participant, identification: { type: 'MOBILE_BANKING', urls: ['https://www.bancoponte.example/app'] }, services },
    ],
    'phone-channels': [
      { participant, identification: { type: 'CENTRAL_TELEFONICA', phones: [{ countryCallingCode: '55', areaCode: '11', number: '40040000' }] }, services },
      { participant, identification: { type: 'SAC', phones: [{ countryCallingCode: '55', number: '08007770000' }] }, services: [{ name: 'RECLAMACOES', code: 'RECLAMACOES' }, { name: 'CANCELAMENTO', code: 'CANCELAMENTO' }] },
    ],
    'banking-agents': [
      {
        participant,
        bankingAgents: [{
          identification: { corporationName: 'Lotérica Boa Sorte Ltda', isUnderestablishment: false, cnpjNumber: '04252011000110' },
          locations: [{ postalAddress: { address: 'Rua Augusta, 500', districtName: 'Consolação', townName: 'São Paulo', ibgeCode: '3550308', countrySubDivision: 'SP', postCode: '01305000', country: 'Brasil', countryCode: 'BRA' }, availability: { standards: weekdays, isPublicAccessAllowed: true } }],
          services: [{ name: 'RECEBIMENTOS_PAGAMENTOS_QUALQUER_NATUREZA_OUTRAS_ATIVIDADES_DECORRENTES_EXECUCAO_CONTRATOS_CONVENIOS_PRESTACAO_SERVICOS', code: 'RECEBIMENTOS_PAGAMENTOS_QUALQUER_NATUREZA_EXECUCAO_CONTRATOS_CONVENIO' }],
        }],
      },
    ],
    'shared-automated-teller-machines': [
      {
        participant,
        identification: { ownerName: 'Rede Compartilhada 24h' },
        postalAddress: { address: 'Avenida Paulista, 1500', districtName: 'Bela Vista', townName: 'São Paulo', ibgeCode: '3550308', countrySubDivision: 'SP', postCode: '01310200', country: 'Brasil', countryCode: 'BRA' },
        availability: { standards: weekdays, isPublicAccessAllowed: true },
        services: [{ name: 'SAQUE_MOEDA_EM_ESPECIE', code: 'SAQUE_MOEDA_ESPECIE' }],
      },
    ],
  }
}

function offers(brand: DemoBrand) {
  const participant = { brand: brand.brandName, name: `${brand.brandName} S.A.`, cnpjNumber: brand.companyCnpj }
  const prices = (values: string[]) => values.map((value, i) => ({ interval: `${i + 1}_FAIXA`, value, currency: 'BRL', customers: { rate: '0.250000' } }))
  const range = (min: string, max: string) => ({ minimum: { value: min, currency: 'BRL' }, maximum: { value: max, currency: 'BRL' } })
  const bundle = {
    name: 'Pacote Essencial',
    services: [{ code: 'SAQUE_TERMINAL', chargingTriggerInfo: 'Saque em terminal de autoatendimento', eventLimitQuantity: '10', freeEventQuantity: '4' }],
    prices: ['19.90', '24.90', '29.90', '34.90'].map((monthlyFee, i) => ({ interval: `${i + 1}_FAIXA`, monthlyFee, currency: 'BRL', customers: { rate: '0.250000' } })),
    ...range('19.90', '34.90'),
  }
  const terms = { minimumBalance: { value: '0.00', currency: 'BRL' }, elegibilityCriteriaInfo: 'Maior de 18 anos com CPF regular', closingProcessInfo: 'Encerramento pelo aplicativo ou em qualquer agência' }
  return {
    personal: [
      {
        participant,
        type: 'CONTA_DEPOSITO_A_VISTA',
        fees: { priorityServices: [{ name: 'SAQUE_CONTA_DEPOSITO_A_VISTA_POUPANCA_TERMINAL_AUTOATENDIMENTO', code: 'SAQUE_TERMINAL', chargingTriggerInfo: 'Saque além da franquia mensal', prices: prices(['2.50', '2.50', '3.00', '3.50']), ...range('2.50', '3.50') }] },
        serviceBundles: [bundle],
        openingClosingChannels: ['DEPENDENCIAS_PROPRIAS', 'INTERNET_BANKING', 'MOBILE_BANKING'],
        transactionMethods: ['MOVIMENTACAO_ELETRONICA', 'MOVIMENTACAO_CARTAO', 'MOVIMENTACAO_PRESENCIAL'],
        termsConditions: terms,
      },
      {
        participant,
        type: 'CONTA_POUPANCA',
        openingClosingChannels: ['INTERNET_BANKING', 'MOBILE_BANKING'],
        transactionMethods: ['MOVIMENTACAO_ELETRONICA'],
        termsConditions: terms,
        incomeRate: { savingAccount: 'Remuneração da poupança conforme regra do Banco Central do Brasil' },
      },
    ],
    business: [
      {
        participant,
        type: 'CONTA_DEPOSITO_A_VISTA',
        fees: { services: [{ name: 'Transferência TED pela internet', code: 'TED_INTERNET', chargingTriggerInfo: 'Por TED enviada', prices: prices(['8.50', '8.50', '9.50', '10.50']), ...range('8.50', '10.50') }] },
        serviceBundles: [bundle],
        openingClosingChannels: ['DEPENDENCIAS_PROPRIAS', 'INTERNET_BANKING'],
        transactionMethods: ['MOVIMENTACAO_ELETRONICA', 'MOVIMENTACAO_CHEQUE'],
        termsConditions: { ...terms, elegibilityCriteriaInfo: 'Empresa com CNPJ ativo' },
      },
    ],
  }
}

/** What {@link seedDemoBank} did. */
export interface DemoSeedResult { loaded: boolean }

/**
 * Loads the demo bank (README) into the reference core, once: a second call finds the seed recorded and does
 * nothing. Runs in one transaction under an advisory lock, so concurrent replicas load it once and a failure
 * leaves nothing half-written. Deterministic: the same day gives the same data (dates are relative to `now`).
 */
export async function seedDemoBank(pool: Pool, options: { now?: Date; brand?: DemoBrand; ispb?: string } = {}): Promise<DemoSeedResult> {
  const now = options.now ?? new Date()
  const brand = options.brand ?? DEFAULT_BRAND
  const today = brasiliaToday(now)
  const hash = await hashPassword(DEMO_PASSWORD, salt('demo'))
  return withTransaction(pool, async (c) => {
    await c.query(`select pg_advisory_xact_lock(hashtext('ponte-core-seed:' || current_schema()))`)
    // The DICT entries came after the first demo bank: they are added to an already loaded one too.
    for (const k of Object.values(DEMO_PIX_KEYS)) {
      await c.query(
        `insert into pix_key (key, key_type, ispb, issuer, number, account_type, holder_document, holder_name) values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (key) do nothing`,
        [k.key, k.keyType, k.ispb ?? options.ispb ?? DEFAULT_ISPB, k.issuer, k.number, k.accountType, k.document, k.name],
      )
    }
    const done = await c.query(`select 1 from seed_run where name = $1`, [SEED_NAME])
    if (done.rowCount) {
      await seedDemoApprovers(c, brand, hash, prng(20_260_102), today, now)
      await seedDemoTotp(c)
      return { loaded: false }
    }
    const r = prng(20_260_101)
    const { ana, carlos, business, mariana } = DEMO_CUSTOMERS

    const anaId = await insertCustomer(c, {
      kind: 'PF', cpf: ana.cpf, name: ana.name,
      ...personal(brand, { cpf: ana.cpf, name: ana.name, birth: '1988-04-12', sex: 'FEMININO', marital: 'CASADO', email: 'ana.souza@example.com', phone: '987650001', occupation: 'Engenheira de software', income: '12500.00', patrimony: '450000.00', products: ['CONTA_DEPOSITO_A_VISTA', 'CONTA_POUPANCA', 'CARTAO_CREDITO', 'OPERACAO_CREDITO'], accounts: [{ branch: '0001', number: '00012345', digit: '6', type: 'CONTA_DEPOSITO_A_VISTA' }, { branch: '0001', number: '00054321', digit: '0', type: 'CONTA_POUPANCA' }] }),
    })
    await insertAccount(c, anaId, { label: 'ana:checking', type: 'CONTA_DEPOSITO_A_VISTA', branch: '0001', number: '00012345', digit: '6', opening: '3200.00', overdraft: ['5000.00', '0.00', '0.00'] },
      statement(r, today, now, { amount: '12500.00', payer: '04252011000110', name: 'Salário' }, 3))
    const savings: Tx[] = []
    for (let m = 12; m >= 0; m--) {
      const day = addMonths(today, -m)
      savings.push({ booked: at(day.slice(0, 8) + '01', 7, 0), creditDebit: 'CREDITO', name: 'Rendimento poupança', type: 'RENDIMENTO_APLIC_FINANCEIRA', amount: r.amount(80, 120), status: 'TRANSACAO_EFETIVADA' })
      if (day.slice(0, 8) + '06' <= today) savings.push({ booked: at(day.slice(0, 8) + '06', 10, 0), creditDebit: 'CREDITO', name: 'Transferência da conta corrente', type: 'TRANSFERENCIA_MESMA_INSTITUICAO', amount: '1000.00', status: 'TRANSACAO_EFETIVADA' })
    }
    await insertAccount(c, anaId, { label: 'ana:savings', type: 'CONTA_POUPANCA', branch: '0001', number: '00054321', digit: '0', opening: '15000.00' }, savings.filter((t) => t.booked <= now.toISOString()))
    await insertCard(c, r, anaId, { label: 'ana:card', name: 'Ponte Platinum', productType: 'PLATINUM', network: 'MASTERCARD', digits: ['4321', '8765'], limit: '15000.00' }, today, now)
    await insertLoan(c, anaId, today, brand)
    await c.query(`insert into credential (customer_id, password_hash) values ($1, $2)`, [anaId, hash])

    const carlosId = await insertCustomer(c, {
      kind: 'PF', cpf: carlos.cpf, name: carlos.name,
      ...personal(brand, { cpf: carlos.cpf, name: carlos.name, birth: '1979-09-30', sex: 'MASCULINO', marital: 'SOLTEIRO', email: 'carlos.lima@example.com', phone: '987650002', occupation: 'Empresário', income: '18000.00', patrimony: '900000.00', products: ['OUTROS'], accounts: [] }),
    })
    await c.query(`insert into credential (customer_id, password_hash) values ($1, $2)`, [carlosId, hash])
    const bizId = await insertCustomer(c, {
      kind: 'PJ', cnpj: business.cnpj, name: business.name,
      identification: {
        businessId: demoId(`business:${business.cnpj}`),
        brandName: brand.brandName,
        companyName: business.name,
        tradeName: 'Mercearia Lima',
        incorporationDate: '2012-06-18T00:00:00Z',
        cnpjNumber: business.cnpj,
        companiesCnpj: [brand.companyCnpj],
        parties: [{ personType: 'PESSOA_NATURAL', type: 'SOCIO', civilName: carlos.name, startDate: '2012-06-18T00:00:00Z', shareholding: '1.000000', documentType: 'CPF', documentNumber: carlos.cpf, documentCountry: 'BRA' }],
        contacts: {
          postalAddresses: [address('Rua do Comércio, 45', 'Centro', 'Campinas', 'SP', '13010050', '3509502')],
          phones: [{ isMain: true, type: 'FIXO', countryCallingCode: '55', areaCode: '19', number: '32320045' }],
          emails: [{ isMain: true, email: 'financeiro@mercearialima.example.com' }],
        },
      },
      qualification: { economicActivities: [{ code: '4712100', isMain: true }], informedRevenue: { frequency: 'ANUAL', amount: { amount: '2400000.00', currency: 'BRL' }, year: 2025 }, informedPatrimony: { amount: { amount: '800000.00', currency: 'BRL' }, date: '2025-12-31' } },
      financialRelations: {
        startDate: '2012-07-02T12:00:00Z',
        productsServicesType: ['CONTA_DEPOSITO_A_VISTA', 'CONTA_PAGAMENTO_PRE_PAGA', 'CARTAO_CREDITO'],
        procurators: [{ type: 'REPRESENTANTE_LEGAL', cnpjCpfNumber: carlos.cpf, civilName: carlos.name }],
        accounts: [{ compeCode: COMPE, branchCode: '0002', number: '00077001', checkDigit: '3', type: 'CONTA_DEPOSITO_A_VISTA' }, { compeCode: COMPE, branchCode: '0002', number: '00077002', checkDigit: '1', type: 'CONTA_PAGAMENTO_PRE_PAGA' }],
      },
    })
    await c.query(`insert into representative (person_id, business_id, role) values ($1, $2, 'ADMINISTRADOR')`, [carlosId, bizId])
    await insertAccount(c, bizId, { label: 'business:checking', type: 'CONTA_DEPOSITO_A_VISTA', branch: '0002', number: '00077001', digit: '3', opening: '48000.00', overdraft: ['20000.00', '0.00', '0.00'] },
      statement(r, today, now, { amount: '35000.00', payer: '60701190000104', name: 'Recebimento vendas cartão' }, 5))
    await insertAccount(c, bizId, { label: 'business:payments', type: 'CONTA_PAGAMENTO_PRE_PAGA', branch: '0002', number: '00077002', digit: '1', opening: '5000.00' }, [])
    await insertCard(c, r, bizId, { label: 'business:card', name: 'Ponte Empresarial', productType: 'EMPRESARIAL', network: 'VISA', digits: ['1122'], limit: '40000.00' }, today, now)

    const marianaId = await insertCustomer(c, {
      kind: 'PF', cpf: mariana.cpf, name: mariana.name,
      ...personal(brand, { cpf: mariana.cpf, name: mariana.name, birth: '1996-01-23', sex: 'FEMININO', marital: 'SOLTEIRO', email: 'mariana.pereira@example.com', phone: '987650003', occupation: 'Professora', income: '4200.00', patrimony: '30000.00', products: ['CONTA_DEPOSITO_A_VISTA'], accounts: [{ branch: '0001', number: '00099887', digit: '2', type: 'CONTA_DEPOSITO_A_VISTA' }] }),
    })
    await insertAccount(c, marianaId, { label: 'mariana:checking', type: 'CONTA_DEPOSITO_A_VISTA', branch: '0001', number: '00099887', digit: '2', opening: '850.00' },
      statement(r, today, now, { amount: '4200.00', payer: '46395000000139', name: 'Salário' }, 1))
    await c.query(`insert into credential (customer_id, password_hash) values ($1, $2)`, [marianaId, hash])

    for (const [kind, docs] of Object.entries(channels(brand))) {
      for (const [i, d] of docs.entries()) await c.query(`insert into channel (kind, position, document) values ($1, $2, $3)`, [kind, i + 1, JSON.stringify(d)])
    }
    for (const [segment, docs] of Object.entries(offers(brand))) {
      for (const [i, d] of docs.entries()) await c.query(`insert into account_offer (segment, position, document) values ($1, $2, $3)`, [segment, i + 1, JSON.stringify(d)])
    }
    await seedDemoApprovers(c, brand, hash, prng(20_260_102), today, now)
    await seedDemoTotp(c)
    await c.query(`insert into seed_run (name, detail) values ($1, $2)`, [SEED_NAME, JSON.stringify({ day: today })])
    return { loaded: true }
  })
}
