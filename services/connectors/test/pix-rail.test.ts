import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { specValidator } from '@ponte/testkit'
import { DomainError } from '@ponte/platform'
import { CorePixPayment, type CoreOwner } from '@ponte/contracts'
import { createCoreApiServer } from '../src/adapters/core-api-server.ts'
import { createHttpCore } from '../src/adapters/http-core.ts'
import { createPixSettlement } from '../src/adapters/pix-settlement.ts'
import { brasiliaToday } from '../src/domain/dates.ts'
import { toCents, fromCents } from '../src/domain/pix.ts'
import { demoId, DEMO_CUSTOMERS } from '../src/seed/demo-bank.ts'
import { available, DELAY_MS, ISPB, pixFixture, REJECTED_ACCOUNT, toMariana, toMerchant, type PixFixture } from './pix-support.ts'
import { ALL_PERMISSIONS, consentCtx, demoFixture, type Fixture } from './support.ts'

const ana: CoreOwner = { cpf: DEMO_CUSTOMERS.ana.cpf }
const mariana: CoreOwner = { cpf: DEMO_CUSTOMERS.mariana.cpf }
const business: CoreOwner = { cpf: DEMO_CUSTOMERS.carlos.cpf, cnpj: DEMO_CUSTOMERS.business.cnpj }
const anaChecking = demoId('ana:checking')
const marianaChecking = demoId('mariana:checking')
const bizChecking = demoId('business:checking')
const bizPayments = demoId('business:payments')
const plus = (a: string, b: string) => fromCents(toCents(a) + toCents(b))
const later = (f: PixFixture, ms: number) => { f.clock.now = new Date(f.clock.now.getTime() + ms) }

// One contract, two implementations: the reference core in PostgreSQL, and the HTTP client of core-api.yaml in front
// of the core-api server (which serves the same reference core). Every test runs against both.
describe.each(['postgres', 'http'] as const)('the Pix rail of the connector contract (%s)', (kind) => {
  let f: PixFixture
  beforeAll(async () => { f = await pixFixture(kind) })
  afterAll(async () => { await f?.close() })

  const statementLines = async (owner: CoreOwner, accountId: string) => {
    const today = brasiliaToday(f.clock.now)
    return (await f.core.accountTransactions(owner, accountId, { fromDate: today, toDate: today, offset: 0, limit: 1000 })).items
  }

  it('finds the demo keys in the DICT, with their accounts and holders', async () => {
    expect(await f.core.pixKeyLookup('pix@lojaexemplo.com.br', 'EMAIL')).toEqual({
      result: 'FOUND',
      entry: {
        key: 'pix@lojaexemplo.com.br', keyType: 'EMAIL',
        account: { ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' },
        holder: { document: '11444777000161', personType: 'PESSOA_JURIDICA', name: 'Loja Exemplo Ltda' },
      },
    })
    expect(await f.core.pixKeyLookup('+5561988887777', 'PHONE')).toEqual({
      result: 'FOUND',
      entry: {
        key: '+5561988887777', keyType: 'PHONE',
        account: { ispb: ISPB, issuer: '0001', number: '00099887', accountType: 'CACC' },
        holder: { document: DEMO_CUSTOMERS.mariana.cpf, personType: 'PESSOA_NATURAL', name: DEMO_CUSTOMERS.mariana.name },
      },
    })
  })

  it('misses unknown keys and refuses a key of another type than declared', async () => {
    expect(await f.core.pixKeyLookup('ninguem@lojaexemplo.com.br', 'EMAIL')).toEqual({ result: 'NOT_FOUND' })
    expect(await f.core.pixKeyLookup('39053344705', 'CPF')).toEqual({ result: 'NOT_FOUND' })
    expect(await f.core.pixKeyLookup('pix@lojaexemplo.com.br', 'PHONE')).toEqual({ result: 'KEY_TYPE_MISMATCH' })
    expect(await f.core.pixKeyLookup('+5561988887777', 'EMAIL')).toEqual({ result: 'KEY_TYPE_MISMATCH' })
    expect(await f.core.pixKeyLookup('5561988887777', 'CPF')).toEqual({ result: 'KEY_TYPE_MISMATCH' })
  })

  it('debits the account at once, visible in its balance and transactions, and answers PENDING', async () => {
    f.clock.now = new Date()
    const before = await available(f.pool, anaChecking)
    const debit = toMerchant(anaChecking, '25.10')
    const p = await f.core.initiatePix(ana, debit)
    expect(CorePixPayment.parse(p)).toMatchObject({ endToEndId: debit.endToEndId, status: 'PENDING', amount: '25.10', creditor: debit.creditor, remittanceInformation: 'Pedido 123' })
    expect(p!.rejectionReason).toBeUndefined()
    expect(await available(f.pool, anaChecking)).toBe(plus(before, '-25.10'))
    const line = (await statementLines(ana, anaChecking)).find((t) => t.transactionId === p!.debitTransactionId)
    expect(line).toMatchObject({ creditDebit: 'DEBITO', type: 'PIX', amount: '25.10', status: 'TRANSACAO_EFETIVADA', counterparty: { document: '11444777000161', personType: 'PESSOA_JURIDICA', ispb: '99999004' } })
    expect(await f.core.pixPayment(ana, debit.endToEndId)).toEqual(p)
  })

  it('refuses a debit beyond the available balance (SALDO_INSUFICIENTE) and debits nothing, also on retry', async () => {
    f.clock.now = new Date()
    const before = await available(f.pool, marianaChecking)
    const debit = toMerchant(marianaChecking, plus(before, '0.01'))
    const p = await f.core.initiatePix(mariana, debit)
    expect(p).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'SALDO_INSUFICIENTE' } })
    expect(p!.debitTransactionId).toBeUndefined()
    expect(await f.core.initiatePix(mariana, debit)).toEqual(p)
    expect(await available(f.pool, marianaChecking)).toBe(before)
    // The whole balance is fine.
    expect((await f.core.initiatePix(mariana, toMerchant(marianaChecking, before)))?.status).toBe('PENDING')
    expect(await available(f.pool, marianaChecking)).toBe('0.00')
  })

  it('refuses debits beyond the customer\'s daily limit over all their accounts, per Brasília day (VALOR_ACIMA_LIMITE)', async () => {
    await f.pool.query(`update customer set pix_daily_limit = 1000.00 where cnpj = $1`, [DEMO_CUSTOMERS.business.cnpj])
    // 1. 20:00 in Brasília is already the next day in UTC (23:00Z); the limit counts Brasília days.
    const day = '2031-03-14'
    f.clock.now = new Date(`${day}T20:00:00-03:00`)
    expect((await f.core.initiatePix(business, toMerchant(bizChecking, '600.00')))?.status).toBe('PENDING')
    f.clock.now = new Date(`${day}T23:50:00-03:00`)
    const over = await f.core.initiatePix(business, toMerchant(bizChecking, '600.00'))
    expect(over).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'VALOR_ACIMA_LIMITE' } })
    // 2. Another account of the same customer shares the limit: 600 + 300 fits, 600 + 300 + 200 does not.
    const fits = await f.core.initiatePix(business, toMerchant(bizPayments, '300.00'))
    expect(fits?.status).toBe('PENDING')
    expect((await f.core.initiatePix(business, toMerchant(bizPayments, '200.00')))?.rejectionReason?.code).toBe('VALOR_ACIMA_LIMITE')
    // 3. A cancelled payment no longer counts.
    expect((await f.core.cancelPix(business, fits!.endToEndId))?.status).toBe('CANCELLED')
    expect((await f.core.initiatePix(business, toMerchant(bizPayments, '200.00')))?.status).toBe('PENDING')
    // 4. The next Brasília day starts afresh.
    f.clock.now = new Date(`2031-03-15T00:00:30-03:00`)
    expect((await f.core.initiatePix(business, toMerchant(bizChecking, '1000.00')))?.status).toBe('PENDING')
    expect((await f.core.initiatePix(business, toMerchant(bizChecking, '0.01')))?.rejectionReason?.code).toBe('VALOR_ACIMA_LIMITE')
  })

  it('debits once when twenty calls race with one end-to-end id, and answers each with that payment', async () => {
    f.clock.now = new Date()
    const before = await available(f.pool, anaChecking)
    const debit = toMerchant(anaChecking, '12.34')
    const answers = await Promise.all(Array.from({ length: 20 }, () => f.core.initiatePix(ana, debit)))
    const first = answers[0]!
    expect(first.status).toBe('PENDING')
    for (const a of answers) expect(a).toEqual(first)
    expect(await available(f.pool, anaChecking)).toBe(plus(before, '-12.34'))
    const { rows } = await f.pool.query(`select count(*)::int as n from pix_payment where end_to_end_id = $1`, [debit.endToEndId])
    expect(rows[0].n).toBe(1)
    const lines = (await statementLines(ana, anaChecking)).filter((t) => t.amount === '12.34' && t.creditDebit === 'DEBITO')
    expect(lines.map((t) => t.transactionId)).toEqual([first.debitTransactionId])
  })

  it('refuses another debit under a used end-to-end id, and never shows a payment to another customer', async () => {
    f.clock.now = new Date()
    const debit = toMerchant(anaChecking, '5.00')
    await f.core.initiatePix(ana, debit)
    const other = { ...debit, amount: '6.00' }
    await expect(f.core.initiatePix(ana, other)).rejects.toMatchObject({ code: 'CONFLICT' })
    await expect(f.core.initiatePix(ana, other)).rejects.toBeInstanceOf(DomainError)
    expect(await f.core.pixPayment(mariana, debit.endToEndId)).toBeUndefined()
    expect(await f.core.cancelPix(mariana, debit.endToEndId)).toBeUndefined()
    expect(await f.core.initiatePix(mariana, { ...debit, debtorAccountId: marianaChecking })).toBeUndefined()
    // Another customer's account cannot be debited.
    expect(await f.core.initiatePix(mariana, toMerchant(anaChecking, '1.00'))).toBeUndefined()
    expect((await f.core.pixPayment(ana, debit.endToEndId))?.status).toBe('PENDING')
  })

  it('settles after the delay, crediting a creditor of this bank once', async () => {
    f.clock.now = new Date()
    await f.settlement.settleDue()
    const before = await available(f.pool, marianaChecking)
    const p = await f.core.initiatePix(ana, toMariana(anaChecking, '45.67'))
    expect(p?.status).toBe('PENDING')
    // 1. Not due yet.
    later(f, DELAY_MS - 1)
    await f.settlement.settleDue()
    expect((await f.core.pixPayment(ana, p!.endToEndId))?.status).toBe('PENDING')
    expect(await available(f.pool, marianaChecking)).toBe(before)
    // 2. Due: settled and credited.
    later(f, 1)
    expect(await f.settlement.settleDue()).toBeGreaterThanOrEqual(1)
    const settled = await f.core.pixPayment(ana, p!.endToEndId)
    expect(settled).toMatchObject({ status: 'SETTLED', statusUpdatedAt: f.clock.now.toISOString() })
    expect(await available(f.pool, marianaChecking)).toBe(plus(before, '45.67'))
    const credit = (await statementLines(mariana, marianaChecking)).filter((t) => t.creditDebit === 'CREDITO' && t.amount === '45.67')
    expect(credit).toHaveLength(1)
    expect(credit[0]).toMatchObject({ type: 'PIX', counterparty: { document: DEMO_CUSTOMERS.ana.cpf, ispb: ISPB } })
    // 3. Nothing settles twice.
    await f.settlement.settleDue()
    expect(await available(f.pool, marianaChecking)).toBe(plus(before, '45.67'))
  })

  it('rejects the settlement to the refused creditor account and returns the debit', async () => {
    f.clock.now = new Date()
    await f.settlement.settleDue()
    const before = await available(f.pool, anaChecking)
    const debit = toMerchant(anaChecking, '77.70')
    const p = await f.core.initiatePix(ana, { ...debit, creditor: { ...debit.creditor, number: REJECTED_ACCOUNT } })
    expect(await available(f.pool, anaChecking)).toBe(plus(before, '-77.70'))
    later(f, DELAY_MS)
    await f.settlement.settleDue()
    expect(await f.core.pixPayment(ana, p!.endToEndId)).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'PAGAMENTO_RECUSADO_SPI' } })
    expect(await available(f.pool, anaChecking)).toBe(before)
    const returned = (await statementLines(ana, anaChecking)).filter((t) => t.creditDebit === 'CREDITO' && t.amount === '77.70')
    expect(returned).toHaveLength(1)
  })

  it('rejects every settlement when configured to, returning the debit', async () => {
    f.clock.now = new Date()
    await f.settlement.settleDue()
    const failing = createPixSettlement(f.pool, { ispb: ISPB, pollMs: 60_000, rejectAll: true, rejectedCreditorAccount: REJECTED_ACCOUNT, clock: () => f.clock.now })
    const before = { ana: await available(f.pool, anaChecking), mariana: await available(f.pool, marianaChecking) }
    const p = await f.core.initiatePix(ana, toMariana(anaChecking, '8.88'))
    later(f, DELAY_MS)
    await failing.settleDue()
    expect(await f.core.pixPayment(ana, p!.endToEndId)).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'PAGAMENTO_RECUSADO_SPI' } })
    expect(await available(f.pool, anaChecking)).toBe(before.ana)
    expect(await available(f.pool, marianaChecking)).toBe(before.mariana)
  })

  it('cancels before settlement (debit returned, nothing settles), and not after', async () => {
    f.clock.now = new Date()
    await f.settlement.settleDue()
    const before = { ana: await available(f.pool, anaChecking), mariana: await available(f.pool, marianaChecking) }
    // 1. Cancelled while pending: the debit comes back, once, and the settlement job leaves it alone.
    const p = await f.core.initiatePix(ana, toMariana(anaChecking, '31.00'))
    const cancelled = await f.core.cancelPix(ana, p!.endToEndId)
    expect(cancelled).toMatchObject({ status: 'CANCELLED', endToEndId: p!.endToEndId })
    expect(await f.core.cancelPix(ana, p!.endToEndId)).toEqual(cancelled)
    expect(await available(f.pool, anaChecking)).toBe(before.ana)
    later(f, DELAY_MS)
    await f.settlement.settleDue()
    expect((await f.core.pixPayment(ana, p!.endToEndId))?.status).toBe('CANCELLED')
    expect(await available(f.pool, marianaChecking)).toBe(before.mariana)
    // 2. Settled: too late; the payment stays settled and nothing moves.
    const q = await f.core.initiatePix(ana, toMariana(anaChecking, '32.00'))
    later(f, DELAY_MS)
    await f.settlement.settleDue()
    const after = await f.core.cancelPix(ana, q!.endToEndId)
    expect(after?.status).toBe('SETTLED')
    expect(await available(f.pool, anaChecking)).toBe(plus(before.ana, '-32.00'))
    expect(await available(f.pool, marianaChecking)).toBe(plus(before.mariana, '32.00'))
    // 3. Unknown payments.
    expect(await f.core.cancelPix(ana, toMerchant(anaChecking, '1.00').endToEndId)).toBeUndefined()
    expect(await f.core.pixPayment(ana, toMerchant(anaChecking, '1.00').endToEndId)).toBeUndefined()
  })
})

describe('core-api.yaml documents the Pix rail as the core-api server serves it', () => {
  // The project's own contract file, checked like the official specs.
  const spec = specValidator(new URL('../core-api.yaml', import.meta.url))
  let f: PixFixture
  beforeAll(async () => { f = await pixFixture('http') })
  afterAll(async () => { await f?.close() })
  const call = async (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${f.url}${path}`, {
      method,
      headers: { 'x-core-owner-cpf': DEMO_CUSTOMERS.ana.cpf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    return { status: res.statusCode, body: text ? JSON.parse(text) as unknown : undefined }
  }

  it('answers every documented outcome in the documented shape', async () => {
    const seen: string[] = []
    const check = async (method: 'GET' | 'PUT' | 'POST', template: string, path: string, status: number, body?: unknown) => {
      const res = await call(method, path, body)
      expect(res.status, `${method} ${path}`).toBe(status)
      spec.assert(method, template, status, res.body)
      seen.push(`${method} ${template} ${status}`)
      return res.body as Record<string, unknown>
    }
    await check('GET', '/pix/keys/{key}', `/pix/keys/${encodeURIComponent('+5561988887777')}?keyType=PHONE`, 200)
    await check('GET', '/pix/keys/{key}', '/pix/keys/nobody%40example.com?keyType=EMAIL', 200)
    await check('GET', '/pix/keys/{key}', '/pix/keys/nobody%40example.com?keyType=CPF', 200)
    await check('GET', '/pix/keys/{key}', '/pix/keys/nobody%40example.com?keyType=IBAN', 400)
    const debit = toMerchant(anaChecking, '3.21')
    const p = `/pix/payments/${debit.endToEndId}`
    const created = await check('PUT', '/pix/payments/{endToEndId}', p, 200, debit)
    expect(await check('PUT', '/pix/payments/{endToEndId}', p, 200, debit)).toEqual(created)
    await check('PUT', '/pix/payments/{endToEndId}', p, 409, { ...debit, amount: '3.22' })
    await check('PUT', '/pix/payments/{endToEndId}', p, 400, { ...debit, amount: '-1.00' })
    await check('PUT', '/pix/payments/{endToEndId}', `/pix/payments/${toMerchant(anaChecking, '1.00').endToEndId}`, 400, debit)
    const stranger = toMerchant(marianaChecking, '1.00')
    await check('PUT', '/pix/payments/{endToEndId}', `/pix/payments/${stranger.endToEndId}`, 404, stranger)
    const rejected = await check('PUT', '/pix/payments/{endToEndId}', `/pix/payments/${stranger.endToEndId}`, 200, { ...stranger, debtorAccountId: anaChecking, amount: '9999999.00' })
    expect(rejected).toMatchObject({ status: 'REJECTED', rejectionReason: { code: 'VALOR_ACIMA_LIMITE' } })
    await check('GET', '/pix/payments/{endToEndId}', p, 200)
    await check('GET', '/pix/payments/{endToEndId}', `/pix/payments/${toMerchant(anaChecking, '1.00').endToEndId}`, 404)
    expect(await check('POST', '/pix/payments/{endToEndId}/cancel', `${p}/cancel`, 200)).toMatchObject({ status: 'CANCELLED' })
    await check('POST', '/pix/payments/{endToEndId}/cancel', `/pix/payments/${toMerchant(anaChecking, '1.00').endToEndId}/cancel`, 404)
    expect(seen).toHaveLength(15)
  })
})

describe('Pix debits and credits in the Accounts API', () => {
  const accounts = specValidator('accounts-v2.5.1.yaml')
  let f: Fixture
  beforeAll(async () => { f = await demoFixture('connectors_pix_accounts') })
  afterAll(async () => { await f?.close() })

  it('the debtor sees the debit, the creditor of this bank the credit after settlement, spec-valid', async () => {
    const p = await f.core.initiatePix(ana, toMariana(anaChecking, '19.90'))
    expect(p?.status).toBe('PENDING')
    const job = createPixSettlement(f.pool, { ispb: ISPB, pollMs: 60_000, rejectAll: false, rejectedCreditorAccount: REJECTED_ACCOUNT, clock: () => new Date(Date.now() + 60_000) })
    await job.settleDue()
    expect((await f.core.pixPayment(ana, p!.endToEndId))?.status).toBe('SETTLED')
    const read = async (cpf: string, accountId: string) => {
      const ctx = consentCtx({ cpf, permissions: ALL_PERMISSIONS, resources: [{ type: 'ACCOUNT', resourceId: accountId }] })
      const res = await f.app.inject({ method: 'GET', url: `/open-banking/accounts/v2/accounts/${accountId}/transactions-current`, headers: await f.token(ctx) })
      accounts.assert('GET', '/accounts/{accountId}/transactions-current', 200, res.json())
      return (res.json() as { data: Array<Record<string, unknown>> }).data
    }
    const debit = (await read(DEMO_CUSTOMERS.ana.cpf, anaChecking)).find((t) => t.transactionId === p!.debitTransactionId)
    expect(debit).toMatchObject({ creditDebitType: 'DEBITO', type: 'PIX', transactionAmount: { amount: '19.90', currency: 'BRL' }, partieCnpjCpf: DEMO_CUSTOMERS.mariana.cpf, codeISPB: ISPB })
    const credit = (await read(DEMO_CUSTOMERS.mariana.cpf, marianaChecking)).filter((t) => t.creditDebitType === 'CREDITO' && (t.transactionAmount as { amount: string }).amount === '19.90')
    expect(credit).toHaveLength(1)
    expect(credit[0]).toMatchObject({ type: 'PIX', partieCnpjCpf: DEMO_CUSTOMERS.ana.cpf, partieBranchCode: '0001', partieNumber: '00012345' })
  })
})

describe('the HTTP connector retries a Pix debit whose answer was lost', () => {
  let f: PixFixture
  beforeAll(async () => { f = await pixFixture('postgres') })
  afterAll(async () => { await f?.close() })

  it('the core debited, the answer never arrived (503), the retry gets the recorded payment: one debit', async () => {
    const server = createCoreApiServer(f.core)
    let lost = 0
    // 1. The core handles the PUT (the debit commits), then the answer is replaced by a 503 twice.
    server.addHook('onSend', async (req, reply, payload) => {
      if (req.method === 'PUT' && lost < 2) {
        lost += 1
        reply.code(503)
        return JSON.stringify({ error: 'lost' })
      }
      return payload
    })
    const url = await server.listen({ host: '127.0.0.1', port: 0 })
    const http = createHttpCore({ baseUrl: url, timeoutMs: 5_000, retries: 2, breakerFailures: 100, breakerResetMs: 1_000 })
    try {
      f.clock.now = new Date()
      const before = await available(f.pool, anaChecking)
      const debit = toMerchant(anaChecking, '4.44')
      // 2. The third attempt gets the payment the first one recorded.
      const p = await http.initiatePix(ana, debit)
      expect(lost).toBe(2)
      expect(p).toMatchObject({ endToEndId: debit.endToEndId, status: 'PENDING' })
      expect(await available(f.pool, anaChecking)).toBe(plus(before, '-4.44'))
      const { rows } = await f.pool.query(`select count(*)::int as n from account_transaction t join account a on a.id = t.account_id where a.account_id = $1 and t.amount = 4.44`, [anaChecking])
      expect(rows[0].n).toBe(1)
    } finally {
      await http.close()
      await server.close()
    }
  })
})
