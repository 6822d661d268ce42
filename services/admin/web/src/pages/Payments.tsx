import { Alert, Badge, Button, Group, NativeSelect, Stack, Table, Text, Textarea, TextInput, Title, VisuallyHidden } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api } from '../api.ts'
import { useI18n, type MessageKey } from '../i18n.tsx'

interface Payment {
  paymentId: string; consentId: string; status: string; amount: string; currency: string; paymentDate: string; creditorName: string
  organisationId: string; clientId: string; ownerCpf: string; cancellation?: { reason?: string; cancelledFrom?: string }; rejectionReason?: { code: string }
}
interface PaymentConsent { consentId: string; status: string; clientId: string; organisationId?: string; creationDateTime: string; loggedUser: { cpf: string } }
interface HistoryEntry { status: string; previousStatus?: string; at: string; detail?: Record<string, unknown> }
interface Webhook { id: string; eventType: string; url: string; status: string; attempts: Array<{ attempt: number; httpStatus: number | null; durationMs: number; error: string | null }> }
interface AuditItem { at: string; action: string; actor: { type: string; id?: string }; toStatus: string; reason?: string }

const KINDS = ['cpf', 'paymentId', 'consentId', 'organisationId'] as const
type Kind = (typeof KINDS)[number]
const CANCELLABLE = new Set(['PDNG', 'SCHD'])

function StatusBadge({ status }: { status: string }) {
  return <Badge color={status === 'CANC' || status === 'RJCT' || status === 'REJECTED' ? 'gray' : 'green'} variant="outline" data-testid="payment-status">{status}</Badge>
}

/** Find payments and payment consents (by CPF, payment, consent or organisation), see a payment's story, cancel one. */
export function PaymentsPage({ canCancel }: { canCancel: boolean }) {
  const { t, formatDate } = useI18n()
  const [kind, setKind] = useState<Kind>('cpf')
  const [input, setInput] = useState('')
  const [query, setQuery] = useState<{ kind: Kind; value: string }>()
  const [selected, setSelected] = useState<{ payment?: string; consent?: string }>({})
  const search = useQuery({
    queryKey: ['payments', query],
    enabled: query !== undefined,
    queryFn: () => {
      const v = query!.kind === 'cpf' ? query!.value.replace(/[.\-\s]/g, '') : query!.value
      return api<{ payments: Payment[]; consents: PaymentConsent[] }>('GET', `/api/payments?${query!.kind}=${encodeURIComponent(v)}`)
    },
  })
  const submit = (e: FormEvent) => { e.preventDefault(); setSelected({}); setQuery({ kind, value: input.trim() }) }
  const empty = search.data && search.data.payments.length === 0 && search.data.consents.length === 0

  return (
    <Stack component="section" aria-labelledby="payments-title">
      <Title order={1} id="payments-title">{t('payments.title')}</Title>
      <form onSubmit={submit}>
        <Group align="end">
          <NativeSelect label={t('payments.by')} value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}
            data={KINDS.map((k) => ({ value: k, label: t(`payments.by.${k}` as MessageKey) }))} />
          <TextInput label={t('payments.query')} value={input} onChange={(e) => setInput(e.currentTarget.value)} required style={{ flex: 1 }} />
          <Button type="submit">{t('payments.search')}</Button>
        </Group>
      </form>
      {search.error && <Alert color="red" role="alert">{t('common.error')} {search.error.message}</Alert>}
      {empty && <p>{t('payments.none')}</p>}
      {search.data && search.data.payments.length > 0 && (
        <>
          <Title order={2}>{t('payments.payments')}</Title>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('payments.id')}</Table.Th><Table.Th scope="col">{t('payments.status')}</Table.Th>
                <Table.Th scope="col">{t('payments.amount')}</Table.Th><Table.Th scope="col">{t('payments.date')}</Table.Th>
                <Table.Th scope="col">{t('payments.creditor')}</Table.Th><Table.Th scope="col">{t('payments.organisation')}</Table.Th>
                <Table.Th scope="col">{t('payments.cpf')}</Table.Th><Table.Th scope="col"><VisuallyHidden>{t('payments.open')}</VisuallyHidden></Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {search.data.payments.map((p) => (
                <Table.Tr key={p.paymentId}>
                  <Table.Td>{p.paymentId}</Table.Td><Table.Td><StatusBadge status={p.status} /></Table.Td>
                  <Table.Td>{p.currency} {p.amount}</Table.Td><Table.Td>{p.paymentDate}</Table.Td><Table.Td>{p.creditorName}</Table.Td>
                  <Table.Td>{p.organisationId}</Table.Td><Table.Td>{p.ownerCpf}</Table.Td>
                  <Table.Td><Button size="xs" variant="default" onClick={() => setSelected({ payment: p.paymentId })} aria-label={`${t('payments.open')} ${p.paymentId}`}>{t('payments.open')}</Button></Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
      {search.data && search.data.consents.length > 0 && (
        <>
          <Title order={2}>{t('payments.consents')}</Title>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('payments.id')}</Table.Th><Table.Th scope="col">{t('payments.status')}</Table.Th>
                <Table.Th scope="col">{t('payments.cpf')}</Table.Th><Table.Th scope="col">{t('payments.when')}</Table.Th>
                <Table.Th scope="col"><VisuallyHidden>{t('payments.open')}</VisuallyHidden></Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {search.data.consents.map((c) => (
                <Table.Tr key={c.consentId}>
                  <Table.Td>{c.consentId}</Table.Td><Table.Td><StatusBadge status={c.status} /></Table.Td><Table.Td>{c.loggedUser.cpf}</Table.Td>
                  <Table.Td>{formatDate(c.creationDateTime)}</Table.Td>
                  <Table.Td><Button size="xs" variant="default" onClick={() => setSelected({ consent: c.consentId })} aria-label={`${t('payments.open')} ${c.consentId}`}>{t('payments.open')}</Button></Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
      {selected.payment && <PaymentDetail paymentId={selected.payment} canCancel={canCancel} />}
      {selected.consent && <PaymentConsentDetail consentId={selected.consent} onOpen={(id) => setSelected({ payment: id })} />}
    </Stack>
  )
}

function Webhooks({ webhooks }: { webhooks: Webhook[] | null }) {
  const { t } = useI18n()
  if (webhooks === null) return <Text>{t('payments.webhooksOff')}</Text>
  if (webhooks.length === 0) return <Text>{t('payments.noWebhooks')}</Text>
  return (
    <Table>
      <Table.Thead><Table.Tr><Table.Th scope="col">{t('payments.url')}</Table.Th><Table.Th scope="col">{t('payments.status')}</Table.Th><Table.Th scope="col">{t('payments.attempts')}</Table.Th></Table.Tr></Table.Thead>
      <Table.Tbody>
        {webhooks.map((w) => (
          <Table.Tr key={w.id}>
            <Table.Td>{w.url}</Table.Td><Table.Td>{w.status}</Table.Td>
            <Table.Td>{w.attempts.map((a) => `#${a.attempt} ${a.httpStatus ?? a.error ?? '—'} (${a.durationMs} ms)`).join(', ')}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

function PaymentDetail({ paymentId, canCancel }: { paymentId: string; canCancel: boolean }) {
  const { t, formatDate } = useI18n()
  const qc = useQueryClient()
  const detail = useQuery({ queryKey: ['payment', paymentId], queryFn: () => api<{ payment: Payment; history: HistoryEntry[]; webhooks: Webhook[] | null }>('GET', `/api/payments/${encodeURIComponent(paymentId)}`) })
  const [note, setNote] = useState('')
  const cancel = useMutation({
    mutationFn: () => api<{ payment: Payment }>('POST', `/api/payments/${encodeURIComponent(paymentId)}/cancel`, { note }),
    onSuccess: () => { void qc.invalidateQueries({ queryKey: ['payment', paymentId] }); void qc.invalidateQueries({ queryKey: ['payments'] }) },
  })
  if (!detail.data) return detail.error ? <Alert color="red" role="alert">{detail.error.message}</Alert> : null
  const p = detail.data.payment
  return (
    <Stack component="section" aria-labelledby="payment-detail-title">
      <Title order={2} id="payment-detail-title">{p.paymentId} · <span data-testid="payment-detail-status">{p.status}</span></Title>
      {p.cancellation && <Text>{p.cancellation.reason} · {p.cancellation.cancelledFrom}</Text>}
      <Title order={3}>{t('payments.history')}</Title>
      <Table>
        <Table.Thead><Table.Tr><Table.Th scope="col">{t('payments.when')}</Table.Th><Table.Th scope="col">{t('payments.from')}</Table.Th><Table.Th scope="col">{t('payments.to')}</Table.Th><Table.Th scope="col">{t('payments.detail')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {detail.data.history.map((h, i) => (
            <Table.Tr key={i}><Table.Td>{formatDate(h.at)}</Table.Td><Table.Td>{h.previousStatus ?? '—'}</Table.Td><Table.Td>{h.status}</Table.Td>
              <Table.Td>{h.detail ? JSON.stringify((h.detail.cancellation as { reason?: string } | undefined)?.reason ?? (h.detail.rejectionReason as { code?: string } | undefined)?.code ?? '') : ''}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={3}>{t('payments.webhooks')}</Title>
      <Webhooks webhooks={detail.data.webhooks} />
      {cancel.isSuccess && <Alert color="green" role="status">{t('payments.cancelled')}</Alert>}
      {cancel.error && <Alert color="red" role="alert">{t('common.error')} {cancel.error.message}</Alert>}
      {canCancel && CANCELLABLE.has(p.status) && (
        <form onSubmit={(e) => { e.preventDefault(); cancel.mutate() }}>
          <Stack>
            <Title order={3}>{t('payments.cancel')}</Title>
            <Text size="sm">{t('payments.cancelRule')}</Text>
            <Textarea label={t('payments.note')} required maxLength={140} value={note} onChange={(e) => setNote(e.currentTarget.value)} />
            <Group><Button type="submit" color="red" loading={cancel.isPending} disabled={note.trim().length < 3}>{t('payments.confirmCancel')}</Button></Group>
          </Stack>
        </form>
      )}
    </Stack>
  )
}

function PaymentConsentDetail({ consentId, onOpen }: { consentId: string; onOpen(paymentId: string): void }) {
  const { t, formatDate } = useI18n()
  const detail = useQuery({
    queryKey: ['payment-consent', consentId],
    queryFn: () => api<{ consent: PaymentConsent; audit: AuditItem[]; payments: Payment[]; webhooks: Webhook[] | null }>('GET', `/api/payment-consents/${encodeURIComponent(consentId)}`),
  })
  if (!detail.data) return detail.error ? <Alert color="red" role="alert">{detail.error.message}</Alert> : null
  const c = detail.data.consent
  return (
    <Stack component="section" aria-labelledby="payment-consent-title">
      <Title order={2} id="payment-consent-title">{c.consentId} · {c.status}</Title>
      <Text size="sm">{t('payments.noRevoke')}</Text>
      <Title order={3}>{t('payments.lifecycle')}</Title>
      <Table>
        <Table.Thead><Table.Tr><Table.Th scope="col">{t('payments.when')}</Table.Th><Table.Th scope="col">{t('consents.action')}</Table.Th><Table.Th scope="col">{t('consents.actor')}</Table.Th><Table.Th scope="col">{t('payments.status')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {detail.data.audit.map((a, i) => (
            <Table.Tr key={i}><Table.Td>{formatDate(a.at)}</Table.Td><Table.Td>{a.action}{a.reason ? ` (${a.reason})` : ''}</Table.Td><Table.Td>{a.actor.type}{a.actor.id ? ` ${a.actor.id}` : ''}</Table.Td><Table.Td>{a.toStatus}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={3}>{t('payments.payments')}</Title>
      <Table>
        <Table.Tbody>
          {detail.data.payments.map((p) => (
            <Table.Tr key={p.paymentId}>
              <Table.Td>{p.paymentId}</Table.Td><Table.Td>{p.status}</Table.Td><Table.Td>{p.paymentDate}</Table.Td>
              <Table.Td><Button size="xs" variant="default" onClick={() => onOpen(p.paymentId)} aria-label={`${t('payments.open')} ${p.paymentId}`}>{t('payments.open')}</Button></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={3}>{t('payments.webhooks')}</Title>
      <Webhooks webhooks={detail.data.webhooks} />
    </Stack>
  )
}
