import { Alert, Button, Code, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core'
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api.ts'
import { useI18n, type MessageKey } from '../i18n.tsx'

interface Call {
  eventId: string; interactionId: string; receivedAt: string; organisationId: string | null; clientId: string | null; consentId: string | null
  paymentId: string | null; endpoint: string; method: string; status: number; ttfbMs: number; errorCode: string | null; traceId: string | null
}
interface StoryEntry { eventId: string; topic: string; type: string; occurredAt: string; detail: Record<string, unknown> }

const FIELDS: Array<{ name: string; label: MessageKey; type?: string }> = [
  { name: 'interactionId', label: 'traces.interactionId' },
  { name: 'consentId', label: 'traces.consentId' },
  { name: 'paymentId', label: 'traces.paymentId' },
  { name: 'organisationId', label: 'traces.organisationId' },
  { name: 'endpoint', label: 'traces.endpoint' },
  { name: 'status', label: 'traces.status', type: 'number' },
  { name: 'from', label: 'traces.from', type: 'datetime-local' },
  { name: 'to', label: 'traces.to', type: 'datetime-local' },
]

/** The call search of trace and one call's story. */
export function TracesPage() {
  const { t, formatDate } = useI18n()
  const [form, setForm] = useState<Record<string, string>>({})
  const [query, setQuery] = useState<string>()
  const [open, setOpen] = useState<string>()
  const search = useInfiniteQuery({
    queryKey: ['traces', query],
    enabled: query !== undefined,
    initialPageParam: '',
    queryFn: ({ pageParam }) => api<{ calls: Call[]; nextCursor: string | null }>('GET', `/api/traces?${query}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const detail = useQuery({
    queryKey: ['trace', open], enabled: open !== undefined,
    queryFn: () => api<{ call: Call; story: StoryEntry[]; traceId: string | null }>('GET', `/api/traces/${open}`),
  })
  const submit = () => {
    const q = new URLSearchParams({ limit: '50' })
    for (const f of FIELDS) {
      const v = form[f.name]?.trim()
      if (!v) continue
      q.set(f.name, f.type === 'datetime-local' ? new Date(v).toISOString() : v)
    }
    setOpen(undefined)
    setQuery(q.toString())
  }
  const calls = search.data?.pages.flatMap((p) => p.calls) ?? []

  return (
    <Stack component="section" aria-labelledby="traces-title">
      <Title order={1} id="traces-title">{t('traces.title')}</Title>
      <form onSubmit={(e) => { e.preventDefault(); submit() }}>
        <div className="fields">
          {FIELDS.map((f) => (
            <TextInput key={f.name} label={t(f.label)} type={f.type ?? 'text'} value={form[f.name] ?? ''} onChange={(e) => { const v = e.currentTarget.value; setForm((s) => ({ ...s, [f.name]: v })) }} />
          ))}
        </div>
        <Group mt="md"><Button type="submit">{t('traces.search')}</Button></Group>
      </form>
      {search.error && <Alert color="red" role="alert">{t('common.error')} {search.error.message}</Alert>}
      {search.isSuccess && calls.length === 0 && <Text role="status">{t('traces.none')}</Text>}
      {calls.length > 0 && (
        <Table striped data-testid="trace-results">
          <Table.Thead><Table.Tr>
            <Table.Th scope="col">{t('traces.when')}</Table.Th><Table.Th scope="col">{t('traces.method')}</Table.Th><Table.Th scope="col">{t('traffic.endpoint')}</Table.Th>
            <Table.Th scope="col">{t('traces.status')}</Table.Th><Table.Th scope="col">{t('traces.ttfb')}</Table.Th><Table.Th scope="col">{t('traces.organisationId')}</Table.Th><Table.Th scope="col"><span className="visually-hidden">{t('traces.open')}</span></Table.Th>
          </Table.Tr></Table.Thead>
          <Table.Tbody>
            {calls.map((c) => (
              <Table.Tr key={c.eventId}>
                <Table.Td>{formatDate(c.receivedAt)}</Table.Td><Table.Td>{c.method}</Table.Td><Table.Td>{c.endpoint}</Table.Td><Table.Td>{c.status}</Table.Td>
                <Table.Td>{Math.round(c.ttfbMs)}</Table.Td><Table.Td>{c.organisationId ?? '—'}</Table.Td>
                <Table.Td><Button size="xs" variant="default" aria-label={`${t('traces.open')} ${c.interactionId}`} onClick={() => setOpen(c.eventId)}>{t('traces.open')}</Button></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {search.hasNextPage && <Group><Button variant="default" onClick={() => void search.fetchNextPage()} loading={search.isFetchingNextPage}>{t('traces.more')}</Button></Group>}
      {detail.error && <Alert color="red" role="alert">{t('common.error')} {detail.error.message}</Alert>}
      {detail.data && (
        <Stack component="section" aria-labelledby="trace-detail-title">
          <Title order={2} id="trace-detail-title">{t('traces.detail')}</Title>
          <Table>
            <Table.Tbody>
              {([
                ['traces.interactionId', detail.data.call.interactionId], ['traffic.endpoint', `${detail.data.call.method} ${detail.data.call.endpoint}`],
                ['traces.status', String(detail.data.call.status)], ['traces.ttfb', String(Math.round(detail.data.call.ttfbMs))],
                ['traces.organisationId', detail.data.call.organisationId ?? '—'], ['traces.consentId', detail.data.call.consentId ?? '—'],
                ['traces.paymentId', detail.data.call.paymentId ?? '—'], ['traces.error', detail.data.call.errorCode ?? '—'], ['traces.traceId', detail.data.traceId ?? '—'],
              ] as Array<[MessageKey, string]>).map(([k, v]) => <Table.Tr key={k}><Table.Th scope="row">{t(k)}</Table.Th><Table.Td data-testid={`trace-${k.split('.')[1]}`}>{v}</Table.Td></Table.Tr>)}
            </Table.Tbody>
          </Table>
          <Title order={3}>{t('traces.story')}</Title>
          {detail.data.story.length === 0 ? <Text>{t('traces.noStory')}</Text> : (
            <Table striped data-testid="trace-story">
              <Table.Thead><Table.Tr><Table.Th scope="col">{t('consents.when')}</Table.Th><Table.Th scope="col">{t('traces.event')}</Table.Th><Table.Th scope="col">{t('consents.action')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {detail.data.story.map((s) => (
                  <Table.Tr key={s.eventId}><Table.Td>{formatDate(s.occurredAt)}</Table.Td><Table.Td>{s.type}</Table.Td><Table.Td><Code>{JSON.stringify(s.detail)}</Code></Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </Stack>
  )
}
