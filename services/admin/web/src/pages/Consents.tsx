import { Alert, Badge, Button, Group, NativeSelect, Stack, Table, Textarea, TextInput, Title, VisuallyHidden } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Consent { consentId: string; status: string; clientId: string; creationDateTime: string; loggedUser: { cpf: string }; rejection?: { rejectedBy: string; reason: string } }
interface AuditItem { at: string; action: string; actor: { type: string; id?: string }; toStatus: string; reason?: string }

/** Find consents by id or CPF, see one's lifecycle, revoke it with a note. */
export function ConsentsPage({ canRevoke }: { canRevoke: boolean }) {
  const { t, formatDate } = useI18n()
  const [input, setInput] = useState('')
  const [query, setQuery] = useState<string>()
  const [selected, setSelected] = useState<string>()
  const search = useQuery({
    queryKey: ['consents', query],
    enabled: query !== undefined,
    queryFn: () => {
      const digits = query!.replace(/[.\-\s]/g, '')
      const qs = /^\d{11}$/.test(digits) ? `cpf=${digits}` : `consentId=${encodeURIComponent(query!)}`
      return api<{ items: Consent[] }>('GET', `/api/consents?${qs}`)
    },
  })
  const submit = (e: FormEvent) => { e.preventDefault(); setSelected(undefined); setQuery(input.trim()) }

  return (
    <Stack component="section" aria-labelledby="consents-title">
      <Title order={1} id="consents-title">{t('consents.title')}</Title>
      <form onSubmit={submit}>
        <Group align="end">
          <TextInput label={t('consents.query')} value={input} onChange={(e) => setInput(e.currentTarget.value)} required style={{ flex: 1 }} />
          <Button type="submit">{t('consents.search')}</Button>
        </Group>
      </form>
      {search.error && <Alert color="red" role="alert">{t('common.error')} {search.error.message}</Alert>}
      {search.data && search.data.items.length === 0 && <p>{t('consents.none')}</p>}
      {search.data && search.data.items.length > 0 && (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t('consents.id')}</Table.Th><Table.Th scope="col">{t('consents.status')}</Table.Th>
              <Table.Th scope="col">{t('consents.client')}</Table.Th><Table.Th scope="col">{t('consents.cpf')}</Table.Th>
              <Table.Th scope="col">{t('consents.created')}</Table.Th><Table.Th scope="col"><VisuallyHidden>{t('consents.open')}</VisuallyHidden></Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {search.data.items.map((c) => (
              <Table.Tr key={c.consentId}>
                <Table.Td>{c.consentId}</Table.Td><Table.Td><Badge color={c.status === 'AUTHORISED' ? 'green' : 'gray'} variant="outline">{c.status}</Badge></Table.Td>
                <Table.Td>{c.clientId}</Table.Td><Table.Td>{c.loggedUser.cpf}</Table.Td><Table.Td>{formatDate(c.creationDateTime)}</Table.Td>
                <Table.Td><Button size="xs" variant="default" onClick={() => setSelected(c.consentId)} aria-label={`${t('consents.open')} ${c.consentId}`}>{t('consents.open')}</Button></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {selected && <ConsentDetail consentId={selected} canRevoke={canRevoke} />}
    </Stack>
  )
}

function ConsentDetail({ consentId, canRevoke }: { consentId: string; canRevoke: boolean }) {
  const { t, formatDate } = useI18n()
  const qc = useQueryClient()
  const detail = useQuery({ queryKey: ['consent', consentId], queryFn: () => api<{ consent: Consent; audit: AuditItem[] }>('GET', `/api/consents/${encodeURIComponent(consentId)}`) })
  const [reason, setReason] = useState('CUSTOMER_MANUALLY_REVOKED')
  const [note, setNote] = useState('')
  const revoke = useMutation({
    mutationFn: () => api<{ consent: Consent }>('POST', `/api/consents/${encodeURIComponent(consentId)}/revoke`, { reason, note }),
    onSuccess: () => { void qc.invalidateQueries({ queryKey: ['consent', consentId] }); void qc.invalidateQueries({ queryKey: ['consents'] }) },
  })
  if (!detail.data) return detail.error ? <Alert color="red" role="alert">{detail.error.message}</Alert> : null
  const c = detail.data.consent
  const revocable = c.status === 'AUTHORISED' || c.status === 'AWAITING_AUTHORISATION'
  return (
    <Stack component="section" aria-labelledby="consent-detail-title">
      <Title order={2} id="consent-detail-title">{c.consentId} · <span data-testid="consent-status">{c.status}</span></Title>
      <Title order={3}>{t('consents.lifecycle')}</Title>
      <Table>
        <Table.Thead><Table.Tr><Table.Th scope="col">{t('consents.when')}</Table.Th><Table.Th scope="col">{t('consents.action')}</Table.Th><Table.Th scope="col">{t('consents.actor')}</Table.Th><Table.Th scope="col">{t('consents.status')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {detail.data.audit.map((a, i) => (
            <Table.Tr key={i}><Table.Td>{formatDate(a.at)}</Table.Td><Table.Td>{a.action}{a.reason ? ` (${a.reason})` : ''}</Table.Td><Table.Td>{a.actor.type}{a.actor.id ? ` ${a.actor.id}` : ''}</Table.Td><Table.Td>{a.toStatus}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {revoke.isSuccess && <Alert color="green" role="status">{t('consents.revoked')}</Alert>}
      {revoke.error && <Alert color="red" role="alert">{t('common.error')} {revoke.error.message}</Alert>}
      {canRevoke && revocable && (
        <form onSubmit={(e) => { e.preventDefault(); revoke.mutate() }}>
          <Stack>
            <Title order={3}>{t('consents.revoke')}</Title>
            <NativeSelect label={t('consents.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)}
              data={[{ value: 'CUSTOMER_MANUALLY_REVOKED', label: t('consents.reason.customer') }, { value: 'INTERNAL_SECURITY_REASON', label: t('consents.reason.security') }]} />
            <Textarea label={t('consents.note')} required maxLength={140} value={note} onChange={(e) => setNote(e.currentTarget.value)} />
            <Group><Button type="submit" color="red" loading={revoke.isPending} disabled={note.trim().length < 3}>{t('consents.confirmRevoke')}</Button></Group>
          </Stack>
        </form>
      )}
    </Stack>
  )
}
