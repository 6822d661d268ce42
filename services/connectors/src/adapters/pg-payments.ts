import { randomUUID } from 'node:crypto'
import { DomainError, enqueueEvent, ofbDateTime, ofbError, withTransaction, type Logger, type OfbErrorBody, type Pool, type PoolClient } from '@ponte/platform'
import {
  PaymentCreated, PaymentStatusChanged, topics,
  type CallerContext, type CorePixPayment, type CorePixRail, type InternalPaymentConsent, type PaymentsApiVersion, type PixPaymentStatus,
} from '@ponte/contracts'
import { brasiliaToday } from '../domain/dates.ts'
import {
  cancellationReason, canMove, checkConsentUsable, fromCoreStatus, matchConsent, proxyKeyType, refusal, requestHash, sameAccount,
  type PaymentItem, type PaymentRefusal,
} from '../domain/payments.ts'

/** The consent service's internal payment-consent API, as connectors uses it (contracts: payments.ts). */
export interface PaymentConsents {
  /** `GET /internal/payment-consents/{consentId}`; `undefined` when it does not exist. */
  get(consentId: string): Promise<InternalPaymentConsent | undefined>
  /** `POST /internal/payment-consents/{consentId}/consume` (idempotent). */
  consume(consentId: string, paymentIds: string[]): Promise<void>
}

/** Options of {@link createPayments}. */
export interface PaymentsOptions {
  pool: Pool
  rail: CorePixRail
  consents: PaymentConsents
  logger: Logger
  clock?: () => Date
  /** How long an idempotency key is remembered (24 h: docs/regulation/payments.md#idempotency). */
  idempotencyTtlMs?: number
}

type Row = Record<string, unknown>

/** A stored payment as the routes render it. */
export interface PaymentRecord {
  paymentId: string
  consentId: string
  apiVersion: PaymentsApiVersion
  clientId: string
  endToEndId: string
  localInstrument: string
  amount: string
  currency: string
  creditorAccount: Record<string, unknown>
  debtorAccount: Record<string, unknown>
  proxy?: string
  qrCode?: string
  transactionIdentification?: string
  remittanceInformation?: string
  ibgeTownCode?: string
  cnpjInitiator: string
  authorisationFlow?: string
  paymentDate: string
  status: PixPaymentStatus
  rejectionReason?: { code: string; detail: string }
  cancellation?: Record<string, unknown>
  createdAt: Date
  statusUpdatedAt: Date
}

function toRecord(r: Row): PaymentRecord {
  const opt = (k: string) => (r[k] === null ? undefined : (r[k] as string))
  const rec: PaymentRecord = {
    paymentId: r.payment_id as string,
    consentId: r.consent_id as string,
    apiVersion: r.api_version as PaymentsApiVersion,
    clientId: r.client_id as string,
    endToEndId: r.end_to_end_id as string,
    localInstrument: r.local_instrument as string,
    amount: r.amount as string,
    currency: r.currency as string,
    creditorAccount: r.creditor_account as Record<string, unknown>,
    debtorAccount: r.debtor_account as Record<string, unknown>,
    cnpjInitiator: r.cnpj_initiator as string,
    paymentDate: r.payment_date as string,
    status: r.status as PixPaymentStatus,
    createdAt: r.created_at as Date,
    statusUpdatedAt: r.status_updated_at as Date,
  }
  for (const [k, col] of [['proxy', 'proxy'], ['qrCode', 'qr_code'], ['transactionIdentification', 'transaction_identification'], ['remittanceInformation', 'remittance_information'],
    ['ibgeTownCode', 'ibge_town_code'], ['authorisationFlow', 'authorisation_flow']] as const) {
    const v = opt(col)
    if (v !== undefined) rec[k] = v
  }
  if (r.rejection_code !== null) rec.rejectionReason = { code: r.rejection_code as string, detail: r.rejection_detail as string }
  if (r.cancellation !== null) rec.cancellation = r.cancellation as Record<string, unknown>
  return rec
}

const COLS = `payment_id, consent_id, api_version, client_id, organisation_id, end_to_end_id, owner_cpf, owner_cnpj, debtor_resource_id, debtor_account, local_instrument,
  amount::text, currency, creditor_account, creditor, proxy, qr_code, transaction_identification, remittance_information, ibge_town_code, cnpj_initiator,
  authorisation_flow, to_char(payment_date, 'YYYY-MM-DD') as payment_date, status, rejection_code, rejection_detail, cancellation, created_at, status_updated_at`

/** The answer of `POST /pix/payments`: the payments (201) or a refusal body (422). */
export type CreateOutcome = { status: 201; payments: PaymentRecord[] } | { status: 422; body: OfbErrorBody }

/** The answer of a cancel-all PATCH: the payments it cancelled. */
export type CancelAllOutcome = { status: 'done'; payments: PaymentRecord[] } | { status: 422; body: OfbErrorBody }

/** Pix payment initiation on the core's Pix rail: the API's operations and the scheduler's work. */
export interface Payments {
  create(input: { version: PaymentsApiVersion; ctx: CallerContext; idempotencyKey: string; data: PaymentItem[] }): Promise<CreateOutcome>
  get(ctx: CallerContext, paymentId: string): Promise<PaymentRecord | undefined>
  cancel(ctx: CallerContext, paymentId: string, cancelledBy: { identification: string; rel: string }): Promise<PaymentRecord>
  cancelAll(input: { version: PaymentsApiVersion; ctx: CallerContext; consentId: string; idempotencyKey: string; data: unknown; cancelledBy: { identification: string; rel: string } }): Promise<CancelAllOutcome>
  list(ctx: CallerContext, consentId: string, range: { startDate?: string; endDate?: string }): Promise<PaymentRecord[]>
  /** Debits every payment due now (received, accepted, or scheduled for today in Brasília), one transaction each. */
  runDue(): Promise<number>
  /** Follows debits awaiting settlement to ACSC or RJCT. */
  followSettlement(): Promise<number>
  /** Processes one payment if it is due (used right after a POST so an immediate payment answers ACPD). */
  process(paymentId: string): Promise<void>
  /** Forgets idempotency keys past their 24 h; answers how many. */
  purgeExpiredKeys(): Promise<number>
}

const CREATE = 'POST /pix/payments'
const CANCEL_ALL = 'PATCH cancel-all'

/**
 * Pix payments on PostgreSQL. Every status change and its ponte.payment.v1 event are written in one transaction (the
 * outbox); a debit is named by the payment's end-to-end id, so running it again after a crash debits nothing more.
 */
export function createPayments(o: PaymentsOptions): Payments {
  const clock = o.clock ?? (() => new Date())
  const ttl = o.idempotencyTtlMs ?? 24 * 3_600_000
  const log = o.logger.child({ component: 'pix-payments' })

  async function readPayments(c: Pool | PoolClient, where: string, params: unknown[]): Promise<PaymentRecord[]> {
    const { rows } = await c.query(`select ${COLS} from pix_payment_initiation where ${where} order by payment_date, created_at, end_to_end_id`, params)
    return rows.map(toRecord)
  }

  function eventBase(r: Row | PaymentRecord & { organisationId?: string }, status: PixPaymentStatus, at: Date) {
    const x = r as Row
    return {
      paymentId: (x.payment_id ?? x.paymentId) as string,
      consentId: (x.consent_id ?? x.consentId) as string,
      clientId: (x.client_id ?? x.clientId) as string,
      organisationId: (x.organisation_id ?? x.organisationId) as string,
      apiVersion: (x.api_version ?? x.apiVersion) as PaymentsApiVersion,
      endToEndId: (x.end_to_end_id ?? x.endToEndId) as string,
      status,
      statusUpdateDateTime: at.toISOString(),
    }
  }

  /** Moves a locked payment row to `to` and writes its event, in the caller's transaction. */
  async function move(c: PoolClient, r: Row, to: PixPaymentStatus, at: Date, extra: { rejection?: { code: string; detail: string }; cancellation?: Record<string, unknown> } = {}): Promise<void> {
    const from = r.status as PixPaymentStatus
    if (!canMove(from, to)) throw new Error(`payment ${String(r.payment_id)}: ${from} → ${to} is not a transition of the status machine`)
    await c.query(
      `update pix_payment_initiation set status = $2, rejection_code = $3, rejection_detail = $4, cancellation = $5, status_updated_at = $6 where payment_id = $1`,
      [r.payment_id, to, extra.rejection?.code ?? null, extra.rejection?.detail ?? null, extra.cancellation ? JSON.stringify(extra.cancellation) : null, at],
    )
    const data: Record<string, unknown> = { ...eventBase(r, to, at), previousStatus: from }
    if (extra.rejection) data.rejectionReason = extra.rejection
    if (extra.cancellation) {
      const cb = extra.cancellation.cancelledBy as { document?: { identification?: string } } | undefined
      data.cancellation = { reason: extra.cancellation.reason, cancelledFrom: extra.cancellation.cancelledFrom, ...(cb?.document?.identification ? { cancelledBy: cb.document.identification } : {}) }
    }
    await enqueueEvent(c, {
      topic: topics.payment, key: r.payment_id as string, schema: PaymentStatusChanged,
      event: { id: randomUUID(), source: 'connectors', occurredAt: at.toISOString(), version: 1, type: 'payment.status-changed', data: data as never },
    })
    r.status = to
  }

  /** The 422 answer of a refusal, stored under the key (payments keep the key after a 422 too). */
  function refusalBody(f: PaymentRefusal, now: Date): OfbErrorBody {
    return ofbError({ code: f.code, title: f.title, detail: f.detail }, now)
  }

  /** A remembered key: 403 for another organisation, 422 ERRO_IDEMPOTENCIA for other data, otherwise its row. */
  async function remembered(c: Pool | PoolClient, endpoint: string, key: string, ctx: CallerContext, hash: string, now: Date): Promise<Row | undefined> {
    const { rows } = await c.query(`select * from payment_idempotency where endpoint = $1 and idempotency_key = $2 and expires_at > $3`, [endpoint, key, now])
    const r = rows[0] as Row | undefined
    if (!r) return undefined
    if (r.organisation_id !== ctx.organisationId) throw new DomainError('FORBIDDEN', 'x-idempotency-key pertence a outra organização.')
    if (r.request_hash !== hash) {
      throw new DomainError('UNPROCESSABLE_ENTITY', 'A chave de idempotência já foi usada com outro conteúdo.', { ofbCode: 'ERRO_IDEMPOTENCIA', title: 'Erro idempotência.' })
    }
    return r
  }

  /** Claims the key in the caller's transaction; false when a concurrent request with the same key committed first. */
  async function claimKey(c: PoolClient, endpoint: string, key: string, ctx: CallerContext, hash: string, consentId: string, status: number, body: unknown, now: Date): Promise<boolean> {
    await c.query(`delete from payment_idempotency where endpoint = $1 and idempotency_key = $2 and expires_at <= $3`, [endpoint, key, now])
    const { rowCount } = await c.query(
      `insert into payment_idempotency (endpoint, idempotency_key, organisation_id, client_id, request_hash, consent_id, response_status, response_body, created_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing`,
      [endpoint, key, ctx.organisationId, ctx.clientId, hash, consentId, status, body === undefined ? null : JSON.stringify(body), now, new Date(now.getTime() + ttl)],
    )
    return rowCount === 1
  }

  async function replayCreate(r: Row): Promise<CreateOutcome> {
    if (r.response_status === 422) return { status: 422, body: r.response_body as OfbErrorBody }
    return { status: 201, payments: await readPayments(o.pool, 'consent_id = $1', [r.consent_id]) }
  }

  async function consume(consentId: string, paymentIds: string[]): Promise<void> {
    try {
      await o.consents.consume(consentId, paymentIds)
    } catch (err) {
      // The payment.created events carry the consent: the consent service catches up from them
      // (docs/decisions/connectors-pix-payments.md).
      log.warn({ err: err instanceof Error ? err.message : String(err), consentId }, 'consent could not be consumed now; payment.created lets it catch up')
    }
  }

  /** The DICT check of the proxy (docs/regulation/payments.md#validation-order): a failure consumes the consent. */
  async function checkDict(item: PaymentItem, consent: InternalPaymentConsent): Promise<PaymentRefusal | undefined> {
    if (item.proxy === undefined) return undefined
    const keyType = proxyKeyType(item.proxy)
    if (!keyType) return refusal('DETALHE_PAGAMENTO_INVALIDO', 'Parâmetro proxy não está no formato de uma chave Pix.', true)
    const found = await o.rail.pixKeyLookup(item.proxy, keyType)
    if (found.result !== 'FOUND') return refusal('DETALHE_PAGAMENTO_INVALIDO', 'Chave Pix (proxy) não encontrada no DICT.', true)
    if (!sameAccount(item.creditorAccount, found.entry.account)) return refusal('DETALHE_PAGAMENTO_INVALIDO', 'A conta do recebedor não corresponde à chave Pix no DICT.', true)
    if (found.entry.holder.document !== consent.creditor.cpfCnpj) return refusal('DETALHE_PAGAMENTO_INVALIDO', 'O titular da chave Pix não é o recebedor do consentimento.', true)
    return undefined
  }

  async function create(input: { version: PaymentsApiVersion; ctx: CallerContext; idempotencyKey: string; data: PaymentItem[] }): Promise<CreateOutcome> {
    const { ctx, version } = input
    const consentId = ctx.paymentConsentId
    if (!consentId) throw new DomainError('FORBIDDEN', 'O token não foi emitido para um consentimento de pagamento.')
    const hash = requestHash(input.data)
    const first = await remembered(o.pool, CREATE, input.idempotencyKey, ctx, hash, clock())
    if (first) return replayCreate(first)

    const consent = await o.consents.get(consentId)
    if (consent && consent.clientId !== ctx.clientId) throw new DomainError('FORBIDDEN', 'O consentimento pertence a outro cliente.')
    const now = clock()
    let failed: PaymentRefusal | undefined = consent ? checkConsentUsable(consent, now) : refusal('CONSENTIMENTO_INVALIDO', 'Consentimento não encontrado.')
    let dates: string[] = []
    if (!failed && consent) {
      const m = matchConsent(input.data, consent, version, now)
      if ('code' in m) failed = m
      else dates = m.dates
    }
    if (!failed && consent) failed = await checkDict(input.data[0]!, consent)

    if (failed) {
      const body = refusalBody(failed, now)
      const outcome = await withTransaction(o.pool, async (c) => {
        if (!(await claimKey(c, CREATE, input.idempotencyKey, ctx, hash, consentId, 422, body, now))) return 'taken' as const
        if (failed.consumesConsent) await c.query(`insert into payment_consent_use (consent_id, idempotency_key, created_at) values ($1, $2, $3) on conflict do nothing`, [consentId, input.idempotencyKey, now])
        return 'stored' as const
      })
      if (outcome === 'taken') return replayCreate((await remembered(o.pool, CREATE, input.idempotencyKey, ctx, hash, clock()))!)
      if (failed.consumesConsent) await consume(consentId, [])
      return { status: 422, body }
    }

    const c0 = consent!
    const today = brasiliaToday(now)
    const ids: string[] = []
    const outcome = await withTransaction(o.pool, async (c) => {
      if (!(await claimKey(c, CREATE, input.idempotencyKey, ctx, hash, consentId, 201, undefined, now))) return 'taken' as const
      // One POST per consent: the row is the lock (docs/decisions/connectors-pix-payments.md).
      const use = await c.query(`insert into payment_consent_use (consent_id, idempotency_key, created_at) values ($1, $2, $3) on conflict do nothing`, [consentId, input.idempotencyKey, now])
      if (use.rowCount !== 1) {
        const body = refusalBody(refusal('CONSENTIMENTO_INVALIDO', 'Consentimento já utilizado por outra requisição de pagamento.'), now)
        await c.query(`update payment_idempotency set response_status = 422, response_body = $3 where endpoint = $1 and idempotency_key = $2`, [CREATE, input.idempotencyKey, JSON.stringify(body)])
        return { body }
      }
      for (const [i, item] of input.data.entries()) {
        const paymentId = randomUUID()
        ids.push(paymentId)
        const date = dates[i]!
        const status: PixPaymentStatus = date > today ? 'SCHD' : 'RCVD'
        const debtor = c0.authorisedDebtorAccount!
        const ins = await c.query(
          `insert into pix_payment_initiation (payment_id, consent_id, api_version, client_id, organisation_id, end_to_end_id, owner_cpf, owner_cnpj, debtor_resource_id,
             debtor_account, local_instrument, amount, currency, creditor_account, creditor, proxy, qr_code, transaction_identification, remittance_information,
             ibge_town_code, cnpj_initiator, authorisation_flow, payment_date, status, created_at, status_updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $25)
           on conflict (end_to_end_id) do nothing`,
          [paymentId, consentId, version, ctx.clientId, ctx.organisationId, item.endToEndId, c0.authorisedBy!.cpf, c0.authorisedBy!.cnpj ?? null, debtor.resourceId,
            JSON.stringify(debtor.account), item.localInstrument, item.payment.amount, item.payment.currency, JSON.stringify(item.creditorAccount), JSON.stringify(c0.creditor),
            item.proxy ?? null, item.qrCode ?? null, item.transactionIdentification ?? null, item.remittanceInformation ?? null, item.ibgeTownCode ?? c0.payment.ibgeTownCode ?? null,
            item.cnpjInitiator, item.authorisationFlow ?? null, date, status, now],
        )
        if (ins.rowCount !== 1) throw new DomainError('UNPROCESSABLE_ENTITY', `endToEndId ${item.endToEndId} já foi utilizado.`, { ofbCode: 'PARAMETRO_INVALIDO', title: 'Parâmetro inválido.' })
        await enqueueEvent(c, {
          topic: topics.payment, key: paymentId, schema: PaymentCreated,
          event: {
            id: randomUUID(), source: 'connectors', occurredAt: now.toISOString(), version: 1, type: 'payment.created',
            ...(ctx.interactionId && /^[0-9a-f-]{36}$/i.test(ctx.interactionId) ? { interactionId: ctx.interactionId } : {}),
            data: { paymentId, consentId, clientId: ctx.clientId, organisationId: ctx.organisationId, apiVersion: version, endToEndId: item.endToEndId, status, statusUpdateDateTime: now.toISOString() },
          },
        })
      }
      return 'created' as const
    })
    if (outcome === 'taken') return replayCreate((await remembered(o.pool, CREATE, input.idempotencyKey, ctx, hash, clock()))!)
    if (typeof outcome === 'object') return { status: 422, body: outcome.body }
    await consume(consentId, ids)
    // Immediate payments are debited now; the scheduler picks up anything this leaves (a crash, the rail down).
    for (const id of ids) await process(id).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err), paymentId: id }, 'payment left to the scheduler'))
    return { status: 201, payments: await readPayments(o.pool, 'consent_id = $1', [consentId]) }
  }

  /** The core owner of a stored payment (the consent's customer, and the business for a business consent). */
  const ownerOf = (r: Row) => ({ cpf: r.owner_cpf as string, ...(r.owner_cnpj ? { cnpj: r.owner_cnpj as string } : {}) })

  /** Debits one due payment under its row lock; the rail call is idempotent by end-to-end id. */
  async function debit(paymentId: string): Promise<boolean> {
    return withTransaction(o.pool, async (c) => {
      const now = clock()
      const { rows } = await c.query(
        `select ${COLS} from pix_payment_initiation where payment_id = $1 and (status in ('RCVD', 'ACCP') or (status = 'SCHD' and payment_date <= $2::date))
         for update skip locked`,
        [paymentId, brasiliaToday(now)],
      )
      const r = rows[0] as Row | undefined
      if (!r) return false
      if (r.status !== 'ACCP') await move(c, r, 'ACCP', now)
      const creditor = r.creditor as { cpfCnpj: string; name: string }
      const account = r.creditor_account as { ispb: string; issuer?: string; number: string; accountType: 'CACC' | 'SVGS' | 'TRAN' }
      let result: CorePixPayment | undefined
      try {
        result = await o.rail.initiatePix(ownerOf(r), {
          endToEndId: r.end_to_end_id as string,
          debtorAccountId: r.debtor_resource_id as string,
          amount: r.amount as string,
          currency: 'BRL',
          creditor: { ispb: account.ispb, issuer: account.issuer ?? '0', number: account.number, accountType: account.accountType, document: creditor.cpfCnpj, name: creditor.name.slice(0, 140) },
          ...(r.remittance_information ? { remittanceInformation: r.remittance_information as string } : {}),
        })
      } catch (err) {
        if (err instanceof DomainError && err.code === 'CONFLICT') {
          await move(c, r, 'RJCT', now, { rejection: { code: 'PAGAMENTO_RECUSADO_DETENTORA', detail: 'endToEndId já utilizado em outro pagamento.' } })
          return true
        }
        throw err // the rail is unreachable: the transaction is rolled back and the scheduler retries
      }
      if (!result) {
        await move(c, r, 'RJCT', now, { rejection: { code: 'PAGAMENTO_RECUSADO_DETENTORA', detail: 'A conta de débito não está disponível.' } })
        return true
      }
      // A debit the core refused (balance, limit, same account) never reached settlement: ACCP → RJCT.
      if (result.status === 'REJECTED' && !result.debitTransactionId) {
        await move(c, r, 'RJCT', now, { rejection: result.rejectionReason ?? { code: 'PAGAMENTO_RECUSADO_DETENTORA', detail: 'Pagamento recusado.' } })
        return true
      }
      // The core holds the debit for analysis: PDNG until it is released, rejected or cancelled (followSettlement).
      if (result.status === 'HELD') {
        await move(c, r, 'PDNG', now)
        return true
      }
      await move(c, r, 'ACPD', now)
      if (result.status === 'SETTLED') await move(c, r, 'ACSC', now)
      else if (result.status !== 'PENDING') await move(c, r, 'RJCT', now, { rejection: result.rejectionReason ?? { code: 'PAGAMENTO_RECUSADO_SPI', detail: 'Liquidação não concluída.' } })
      return true
    })
  }

  async function process(paymentId: string): Promise<void> {
    await debit(paymentId)
  }

  async function runDue(): Promise<number> {
    const { rows } = await o.pool.query(
      `select payment_id from pix_payment_initiation where status in ('RCVD', 'ACCP') or (status = 'SCHD' and payment_date <= $1::date) order by payment_date, created_at limit 500`,
      [brasiliaToday(clock())],
    )
    let n = 0
    for (const r of rows) {
      try {
        if (await debit(r.payment_id as string)) n += 1
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err), paymentId: r.payment_id }, 'payment debit failed; retried at the next sweep')
      }
    }
    return n
  }

  async function followSettlement(): Promise<number> {
    const { rows } = await o.pool.query(`select payment_id from pix_payment_initiation where status in ('ACPD', 'PDNG') order by status_updated_at limit 500`)
    let n = 0
    for (const { payment_id: id } of rows) {
      try {
        const changed = await withTransaction(o.pool, async (c) => {
          const { rows: locked } = await c.query(`select ${COLS} from pix_payment_initiation where payment_id = $1 and status in ('ACPD', 'PDNG') for update skip locked`, [id])
          const r = locked[0] as Row | undefined
          if (!r) return false
          const core = await o.rail.pixPayment(ownerOf(r), r.end_to_end_id as string)
          if (!core || core.status === 'HELD') return false
          const to = fromCoreStatus(core.status)
          const now = clock()
          if (r.status === 'PDNG') {
            // The analysis ended: released to settlement (PDNG → ACCP → ACPD, and ACSC if already settled), refused, or
            // cancelled in the core (a cancellation whose commit here was lost, or one made at the bank).
            if (to === 'CANC') {
              await move(c, r, 'CANC', now, { cancellation: { reason: 'CANCELADO_PENDENCIA', cancelledFrom: 'DETENTORA', cancelledAt: ofbDateTime(now), cancelledBy: { document: { identification: r.owner_cpf, rel: 'CPF' } } } })
              return true
            }
            if (to === 'RJCT') {
              await move(c, r, 'RJCT', now, { rejection: core.rejectionReason ?? { code: 'PAGAMENTO_RECUSADO_DETENTORA', detail: 'Pagamento recusado na análise.' } })
              return true
            }
            await move(c, r, 'ACCP', now)
            await move(c, r, 'ACPD', now)
            if (to === 'ACSC') await move(c, r, 'ACSC', now)
            return true
          }
          if (core.status === 'PENDING') return false
          if (to === 'ACSC') await move(c, r, 'ACSC', now)
          else await move(c, r, 'RJCT', now, { rejection: core.rejectionReason ?? { code: 'PAGAMENTO_RECUSADO_SPI', detail: 'Liquidação não concluída.' } })
          return true
        })
        if (changed) n += 1
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err), paymentId: id }, 'settlement check failed; retried at the next sweep')
      }
    }
    return n
  }

  async function get(ctx: CallerContext, paymentId: string): Promise<PaymentRecord | undefined> {
    const [p] = await readPayments(o.pool, 'payment_id = $1 and client_id = $2', [paymentId, ctx.clientId])
    return p
  }

  /** Cancels a locked payment if it can be (docs/regulation/payments.md#payment-cancellation). */
  async function cancelRow(c: PoolClient, r: Row, cancelledBy: { identification: string; rel: string }, now: Date): Promise<boolean> {
    const reason = cancellationReason({ status: r.status as PixPaymentStatus, paymentDate: r.payment_date as string }, now)
    if (!reason) return false
    if (r.status === 'PDNG') {
      // The core holds the debit: it must cancel it (and return the money) first. If its analysis has just ended, the
      // payment has left PDNG and can no longer be cancelled; followSettlement records where it went. A crash after the
      // core cancelled rolls this back; followSettlement then finds the core's CANCELLED and records the CANC.
      const core = await o.rail.cancelPix(ownerOf(r), r.end_to_end_id as string)
      if (core?.status !== 'CANCELLED') return false
    }
    await move(c, r, 'CANC', now, { cancellation: { reason, cancelledFrom: 'INICIADORA', cancelledAt: ofbDateTime(now), cancelledBy: { document: cancelledBy } } })
    return true
  }

  const notCancellable = () => new DomainError('UNPROCESSABLE_ENTITY', 'O pagamento não está em uma situação que permite cancelamento (SCHD até o dia anterior à data, ou PDNG).', {
    ofbCode: 'PAGAMENTO_NAO_PERMITE_CANCELAMENTO', title: 'Pagamento não permite cancelamento.',
  })

  return {
    create,
    get,
    process,
    async purgeExpiredKeys() {
      const { rowCount } = await o.pool.query(`delete from payment_idempotency where expires_at <= $1`, [clock()])
      return rowCount ?? 0
    },
    runDue,
    followSettlement,

    async cancel(ctx, paymentId, cancelledBy) {
      const now = clock()
      const ok = await withTransaction(o.pool, async (c) => {
        const { rows } = await c.query(`select ${COLS} from pix_payment_initiation where payment_id = $1 and client_id = $2 for update`, [paymentId, ctx.clientId])
        const r = rows[0] as Row | undefined
        if (!r) throw new DomainError('NOT_FOUND', 'Pagamento não encontrado.')
        return cancelRow(c, r, cancelledBy, now)
      })
      if (!ok) throw notCancellable()
      return (await get(ctx, paymentId))!
    },

    async cancelAll(input) {
      const { ctx } = input
      const hash = requestHash(input.data)
      const endpoint = `${CANCEL_ALL} ${input.consentId}`
      const first = await remembered(o.pool, endpoint, input.idempotencyKey, ctx, hash, clock())
      const replay = async (r: Row): Promise<CancelAllOutcome> => (r.response_status === 422
        ? { status: 422, body: r.response_body as OfbErrorBody }
        : { status: 'done', payments: await readPayments(o.pool, 'payment_id = any($1::text[])', [r.payment_ids]) })
      if (first) return replay(first)
      const now = clock()
      const outcome = await withTransaction(o.pool, async (c) => {
        const { rows } = await c.query(`select ${COLS} from pix_payment_initiation where consent_id = $1 and client_id = $2 order by payment_date, created_at for update`, [input.consentId, ctx.clientId])
        if (!rows.length) throw new DomainError('NOT_FOUND', 'Nenhum pagamento encontrado para o consentimento.')
        const cancelled: string[] = []
        for (const r of rows) if (await cancelRow(c, r, input.cancelledBy, now)) cancelled.push(r.payment_id as string)
        if (!cancelled.length) {
          const body = ofbError({ code: 'PAGAMENTO_NAO_PERMITE_CANCELAMENTO', title: 'Pagamento não permite cancelamento.', detail: 'Nenhum pagamento do consentimento está em situação que permita cancelamento.' }, now)
          if (!(await claimKey(c, endpoint, input.idempotencyKey, ctx, hash, input.consentId, 422, body, now))) return 'taken' as const
          return { body }
        }
        if (!(await claimKey(c, endpoint, input.idempotencyKey, ctx, hash, input.consentId, 200, undefined, now))) throw new DomainError('CONFLICT', 'concurrent cancel-all with the same key')
        await c.query(`update payment_idempotency set payment_ids = $3 where endpoint = $1 and idempotency_key = $2`, [endpoint, input.idempotencyKey, cancelled])
        return cancelled
      }).catch(async (err: unknown) => {
        if (err instanceof DomainError && err.code === 'CONFLICT') return 'taken' as const
        throw err
      })
      if (outcome === 'taken') return replay((await remembered(o.pool, endpoint, input.idempotencyKey, ctx, hash, clock()))!)
      if (!Array.isArray(outcome)) return { status: 422, body: outcome.body }
      return { status: 'done', payments: await readPayments(o.pool, 'payment_id = any($1::text[])', [outcome]) }
    },

    async list(ctx, consentId, range) {
      const where = [`consent_id = $1`, `client_id = $2`]
      const params: unknown[] = [consentId, ctx.clientId]
      if (range.startDate) { params.push(range.startDate); where.push(`(created_at at time zone 'America/Sao_Paulo')::date >= $${params.length}::date`) }
      if (range.endDate) { params.push(range.endDate); where.push(`(created_at at time zone 'America/Sao_Paulo')::date <= $${params.length}::date`) }
      return readPayments(o.pool, where.join(' and '), params)
    },
  }
}
