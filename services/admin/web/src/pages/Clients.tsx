import { Alert, Badge, Button, Group, Stack, Table, Text, Textarea, Title } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Certificate { kid: string; subjectDn: string; notAfter: string }
interface RegisteredClient {
  clientId: string; clientName: string | null; organisationId: string; softwareStatementId: string | null; active: boolean
  suspension: { by: string; note: string; at: string } | null; certificates: Certificate[]
}

/** Every client registered by DCR, its certificates and their expiry; suspend and reinstate one. */
export function ClientsPage({ canSuspend }: { canSuspend: boolean }) {
  const { t, formatDate } = useI18n()
  const qc = useQueryClient()
  const list = useQuery({ queryKey: ['clients'], queryFn: () => api<{ clients: RegisteredClient[]; certificatesKnown: boolean }>('GET', '/api/clients') })
  const [editing, setEditing] = useState<RegisteredClient>()
  const [note, setNote] = useState('')
  const change = useMutation({
    mutationFn: (c: RegisteredClient) => api('POST', `/api/clients/${encodeURIComponent(c.clientId)}/${c.suspension ? 'reinstate' : 'suspend'}`, { note }),
    onSuccess: () => { setEditing(undefined); setNote(''); void qc.invalidateQueries({ queryKey: ['clients'] }) },
  })
  return (
    <Stack component="section" aria-labelledby="clients-title">
      <Title order={1} id="clients-title">{t('clients.title')}</Title>
      {list.error && <Alert color="red" role="alert">{t('common.error')} {list.error.message}</Alert>}
      {change.isSuccess && <Alert color="green" role="status">{t('clients.changed')}</Alert>}
      {change.error && <Alert color="red" role="alert">{t('common.error')} {change.error.message}</Alert>}
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t('clients.client')}</Table.Th><Table.Th scope="col">{t('clients.organisation')}</Table.Th>
            <Table.Th scope="col">{t('clients.software')}</Table.Th><Table.Th scope="col">{t('clients.certificates')}</Table.Th>
            <Table.Th scope="col">{t('clients.status')}</Table.Th>
            {canSuspend && <Table.Th scope="col">{t('clients.suspend')} / {t('clients.reinstate')}</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.data?.clients.map((c) => (
            <Table.Tr key={c.clientId} data-testid={`client-${c.clientId}`}>
              <Table.Td>{c.clientName ?? '—'}<Text size="xs">{c.clientId}</Text></Table.Td>
              <Table.Td>{c.organisationId}</Table.Td><Table.Td>{c.softwareStatementId ?? '—'}</Table.Td>
              <Table.Td>
                {!list.data.certificatesKnown ? '?' : c.certificates.length === 0 ? '—' : c.certificates.map((x) => (
                  <Text size="xs" key={x.kid}>{x.subjectDn} · {t('clients.expires')} {formatDate(x.notAfter)}</Text>
                ))}
              </Table.Td>
              <Table.Td>
                <Badge color={c.suspension ? 'red' : c.active ? 'green' : 'gray'} variant="outline">{c.suspension ? t('clients.suspended') : t('clients.active')}</Badge>
                {c.suspension && <Text size="xs">{c.suspension.note}</Text>}
              </Table.Td>
              {canSuspend && (
                <Table.Td>
                  <Button size="xs" variant="default" onClick={() => { setEditing(c); setNote('') }} aria-label={`${c.suspension ? t('clients.reinstate') : t('clients.suspend')} ${c.clientId}`}>
                    {c.suspension ? t('clients.reinstate') : t('clients.suspend')}
                  </Button>
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canSuspend && editing && (
        <form onSubmit={(e) => { e.preventDefault(); change.mutate(editing) }}>
          <Stack>
            <Title order={2}>{editing.suspension ? t('clients.reinstate') : t('clients.suspend')} {editing.clientId}</Title>
            <Textarea label={t('clients.note')} required maxLength={140} value={note} onChange={(e) => setNote(e.currentTarget.value)} />
            <Group><Button type="submit" color={editing.suspension ? 'blue' : 'red'} loading={change.isPending} disabled={note.trim().length < 3}>{t('clients.confirm')}</Button></Group>
          </Stack>
        </form>
      )}
    </Stack>
  )
}
