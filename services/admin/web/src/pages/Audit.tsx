import { Alert, Anchor, Button, Group, Stack, Table, TextInput, Title } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Entry { seq: number; at: string; actorEmail: string | null; address: string | null; action: string; outcome: string; target: string | null }

/** The audit trail with filters and the CSV export. */
export function AuditPage() {
  const { t, formatDate } = useI18n()
  const [actor, setActor] = useState('')
  const [action, setAction] = useState('')
  const [filters, setFilters] = useState('')
  const entries = useQuery({ queryKey: ['audit', filters], queryFn: () => api<{ entries: Entry[] }>('GET', `/api/audit?${filters}`) })
  const apply = () => {
    const q = new URLSearchParams()
    if (actor.trim()) q.set('actor', actor.trim())
    if (action.trim()) q.set('action', action.trim())
    setFilters(q.toString())
  }
  return (
    <Stack component="section" aria-labelledby="audit-title">
      <Title order={1} id="audit-title">{t('audit.title')}</Title>
      <form onSubmit={(e) => { e.preventDefault(); apply() }}>
        <Group align="end">
          <TextInput label={t('audit.actor')} value={actor} onChange={(e) => setActor(e.currentTarget.value)} />
          <TextInput label={t('audit.action')} value={action} onChange={(e) => setAction(e.currentTarget.value)} />
          <Button type="submit" variant="default">{t('audit.filter')}</Button>
          <Anchor href={`/api/audit/export.csv?${filters}`} download>{t('audit.export')}</Anchor>
        </Group>
      </form>
      {entries.error && <Alert color="red" role="alert">{entries.error.message}</Alert>}
      <Table striped>
        <Table.Thead><Table.Tr><Table.Th scope="col">{t('audit.when')}</Table.Th><Table.Th scope="col">{t('audit.actor')}</Table.Th><Table.Th scope="col">{t('audit.address')}</Table.Th><Table.Th scope="col">{t('audit.action')}</Table.Th><Table.Th scope="col">{t('audit.outcome')}</Table.Th><Table.Th scope="col">{t('audit.target')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {(entries.data?.entries ?? []).map((e) => (
            <Table.Tr key={e.seq}><Table.Td>{formatDate(e.at)}</Table.Td><Table.Td>{e.actorEmail ?? '—'}</Table.Td><Table.Td>{e.address ?? '—'}</Table.Td><Table.Td>{e.action}</Table.Td><Table.Td>{e.outcome}</Table.Td><Table.Td>{e.target ?? '—'}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  )
}
