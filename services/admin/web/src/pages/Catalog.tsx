import { Alert, Badge, Button, Group, Stack, Table, Text, Textarea, TextInput, Title } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Version { key: string; version: string; specFile: string; endpoints: Array<{ method: string; path: string }>; enabled: boolean; mandatory: boolean; changedBy?: string; note?: string }
interface Outage { outageId: string; startsAt: string; endsAt: string; apis: string[]; explanation: string }

/** Every API version Ponte serves, turned on or off; and the scheduled outages discovery announces. */
export function CatalogPage({ canChange }: { canChange: boolean }) {
  const { t } = useI18n()
  return (
    <Stack component="section" aria-labelledby="catalog-title">
      <Title order={1} id="catalog-title">{t('catalog.title')}</Title>
      <Versions canChange={canChange} />
      <Outages canChange={canChange} />
    </Stack>
  )
}

function Versions({ canChange }: { canChange: boolean }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const list = useQuery({ queryKey: ['catalog'], queryFn: () => api<{ versions: Version[] }>('GET', '/api/catalog') })
  const [editing, setEditing] = useState<Version>()
  const [note, setNote] = useState('')
  const change = useMutation({
    mutationFn: (v: Version) => api('PUT', `/api/catalog/${v.key}`, { enabled: !v.enabled, note }),
    onSuccess: () => { setEditing(undefined); setNote(''); void qc.invalidateQueries({ queryKey: ['catalog'] }) },
  })
  return (
    <Stack>
      {list.error && <Alert color="red" role="alert">{t('common.error')} {list.error.message}</Alert>}
      {change.isSuccess && <Alert color="green" role="status">{t('catalog.changed')}</Alert>}
      {change.error && <Alert color="red" role="alert">{t('common.error')} {change.error.message}</Alert>}
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t('catalog.api')}</Table.Th><Table.Th scope="col">{t('catalog.version')}</Table.Th>
            <Table.Th scope="col">{t('catalog.endpoints')}</Table.Th><Table.Th scope="col">{t('catalog.enabled')}</Table.Th>
            {canChange && <Table.Th scope="col">{t('catalog.disable')} / {t('catalog.enable')}</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.data?.versions.map((v) => (
            <Table.Tr key={v.key} data-testid={`version-${v.key}`}>
              <Table.Td>{v.key}</Table.Td><Table.Td>{v.version}</Table.Td><Table.Td>{v.endpoints.length}</Table.Td>
              <Table.Td><Badge color={v.enabled ? 'green' : 'red'} variant="outline">{v.enabled ? t('common.yes') : t('common.no')}</Badge>{v.note ? <Text size="xs">{v.note}</Text> : null}</Table.Td>
              {canChange && (
                <Table.Td>
                  {!v.mandatory && (
                    <Button size="xs" variant="default" onClick={() => { setEditing(v); setNote('') }} aria-label={`${v.enabled ? t('catalog.disable') : t('catalog.enable')} ${v.key}`}>
                      {v.enabled ? t('catalog.disable') : t('catalog.enable')}
                    </Button>
                  )}
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canChange && editing && (
        <form onSubmit={(e) => { e.preventDefault(); change.mutate(editing) }}>
          <Stack>
            <Title order={2}>{editing.enabled ? t('catalog.disable') : t('catalog.enable')} {editing.key}</Title>
            <Textarea label={t('catalog.note')} required maxLength={140} value={note} onChange={(e) => setNote(e.currentTarget.value)} />
            <Group><Button type="submit" color={editing.enabled ? 'red' : 'blue'} loading={change.isPending} disabled={note.trim().length < 3}>{t('clients.confirm')}</Button></Group>
          </Stack>
        </form>
      )}
    </Stack>
  )
}

/** A `datetime-local` value (the staff member's local time) as an RFC 3339 UTC instant. */
const toUtc = (local: string) => new Date(local).toISOString().replace(/\.\d{3}Z$/, 'Z')

function Outages({ canChange }: { canChange: boolean }) {
  const { t, formatDate } = useI18n()
  const qc = useQueryClient()
  const list = useQuery({ queryKey: ['outages'], queryFn: () => api<{ outages: Outage[] }>('GET', '/api/outages') })
  const [startsAt, setStartsAt] = useState('')
  const [endsAt, setEndsAt] = useState('')
  const [apis, setApis] = useState('')
  const [explanation, setExplanation] = useState('')
  const create = useMutation({
    mutationFn: () => api<Outage>('POST', '/api/outages', {
      startsAt: toUtc(startsAt), endsAt: toUtc(endsAt), explanation,
      apis: apis.split(',').map((s) => s.trim()).filter(Boolean),
    }),
    onSuccess: () => { setExplanation(''); void qc.invalidateQueries({ queryKey: ['outages'] }) },
  })
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api/outages/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['outages'] }),
  })
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate() }
  return (
    <Stack component="section" aria-labelledby="outages-title">
      <Title order={2} id="outages-title">{t('outages.title')}</Title>
      {list.data && list.data.outages.length === 0 && <p>{t('outages.none')}</p>}
      {list.data && list.data.outages.length > 0 && (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t('outages.starts')}</Table.Th><Table.Th scope="col">{t('outages.ends')}</Table.Th>
              <Table.Th scope="col">{t('catalog.api')}</Table.Th><Table.Th scope="col">{t('outages.explanation')}</Table.Th>
              {canChange && <Table.Th scope="col">{t('outages.delete')}</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.outages.map((o) => (
              <Table.Tr key={o.outageId}>
                <Table.Td>{formatDate(o.startsAt)}</Table.Td><Table.Td>{formatDate(o.endsAt)}</Table.Td>
                <Table.Td>{o.apis.length ? o.apis.join(', ') : t('outages.all')}</Table.Td><Table.Td>{o.explanation}</Table.Td>
                {canChange && <Table.Td><Button size="xs" variant="default" onClick={() => remove.mutate(o.outageId)} aria-label={`${t('outages.delete')} ${o.explanation}`}>{t('outages.delete')}</Button></Table.Td>}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {create.isSuccess && <Alert color="green" role="status">{t('outages.created')}</Alert>}
      {(create.error ?? remove.error) && <Alert color="red" role="alert">{t('common.error')} {(create.error ?? remove.error)!.message}</Alert>}
      {canChange && (
        <form onSubmit={submit}>
          <Stack>
            <Title order={3}>{t('outages.create')}</Title>
            <Group grow>
              <TextInput type="datetime-local" label={t('outages.starts')} required value={startsAt} onChange={(e) => setStartsAt(e.currentTarget.value)} />
              <TextInput type="datetime-local" label={t('outages.ends')} required value={endsAt} onChange={(e) => setEndsAt(e.currentTarget.value)} />
            </Group>
            <TextInput label={t('outages.apis')} value={apis} onChange={(e) => setApis(e.currentTarget.value)} />
            <Textarea label={t('outages.explanation')} required maxLength={2000} value={explanation} onChange={(e) => setExplanation(e.currentTarget.value)} />
            <Group><Button type="submit" loading={create.isPending}>{t('outages.create')}</Button></Group>
          </Stack>
        </form>
      )}
    </Stack>
  )
}
