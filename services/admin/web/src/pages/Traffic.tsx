import { Alert, Button, Group, NativeSelect, NumberInput, Stack, Table, TextInput, Title } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Policy { policyId: string; kind: string; scope: string; endpoint?: string; organisationId?: string; limit: number; enabled: boolean }
interface Preview { before: { limit: number; enabled: boolean } | null; after: { limit: number | null; enabled: boolean }; changes: Array<{ field: string; from: unknown; to: unknown }> }

/** The traffic service's overrides, and a change with its preview. */
export function TrafficPage({ canChange }: { canChange: boolean }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const overrides = useQuery({ queryKey: ['policies'], queryFn: () => api<{ policies: Policy[]; total: number }>('GET', '/api/traffic/policies?scope=override') })
  const [kind, setKind] = useState('tpm')
  const [organisationId, setOrganisationId] = useState('')
  const [endpoint, setEndpoint] = useState('')
  const [limit, setLimit] = useState<number | string>('')
  const body = () => ({ kind, ...(organisationId ? { organisationId } : {}), ...(endpoint ? { endpoint } : {}), ...(limit !== '' ? { limit: Number(limit) } : {}) })
  const preview = useMutation({ mutationFn: () => api<Preview>('POST', '/api/traffic/overrides/preview', body()) })
  const apply = useMutation({ mutationFn: () => api('PUT', '/api/traffic/overrides', body()), onSuccess: () => { preview.reset(); void qc.invalidateQueries({ queryKey: ['policies'] }) } })

  return (
    <Stack component="section" aria-labelledby="traffic-title">
      <Title order={1} id="traffic-title">{t('traffic.title')}</Title>
      {overrides.error && <Alert color="red" role="alert">{t('common.error')} {overrides.error.message}</Alert>}
      <Table striped>
        <Table.Thead><Table.Tr><Table.Th scope="col">{t('traffic.kind')}</Table.Th><Table.Th scope="col">{t('traffic.organisation')}</Table.Th><Table.Th scope="col">{t('traffic.endpoint')}</Table.Th><Table.Th scope="col">{t('traffic.limit')}</Table.Th><Table.Th scope="col">{t('traffic.enabled')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {(overrides.data?.policies ?? []).map((p) => (
            <Table.Tr key={p.policyId}><Table.Td>{p.kind}</Table.Td><Table.Td>{p.organisationId ?? '*'}</Table.Td><Table.Td>{p.endpoint ?? '*'}</Table.Td><Table.Td>{p.limit}</Table.Td><Table.Td>{p.enabled ? t('common.yes') : t('common.no')}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canChange && (
        <form onSubmit={(e) => { e.preventDefault(); preview.mutate() }}>
          <Stack>
            <Title order={2}>{t('traffic.change')}</Title>
            <NativeSelect label={t('traffic.kind')} value={kind} onChange={(e) => setKind(e.currentTarget.value)} data={['tpm', 'monthly', 'global-tps']} />
            <TextInput label={t('traffic.organisation')} value={organisationId} onChange={(e) => setOrganisationId(e.currentTarget.value)} />
            <TextInput label={t('traffic.endpoint')} value={endpoint} onChange={(e) => setEndpoint(e.currentTarget.value)} />
            <NumberInput label={t('traffic.limit')} value={limit} onChange={setLimit} min={1} />
            <Group><Button type="submit" variant="default">{t('traffic.preview')}</Button></Group>
            {preview.error && <Alert color="red" role="alert">{preview.error.message}</Alert>}
            {apply.error && <Alert color="red" role="alert">{apply.error.message}</Alert>}
            {apply.isSuccess && <Alert color="green" role="status">{t('traffic.applied')}</Alert>}
            {preview.data && (
              <Stack>
                <Table aria-label={t('traffic.preview')}>
                  <Table.Thead><Table.Tr><Table.Th scope="col" /><Table.Th scope="col">{t('traffic.before')}</Table.Th><Table.Th scope="col">{t('traffic.after')}</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>
                    <Table.Tr><Table.Th scope="row">{t('traffic.limit')}</Table.Th><Table.Td>{preview.data.before?.limit ?? '—'}</Table.Td><Table.Td>{preview.data.after.limit ?? '—'}</Table.Td></Table.Tr>
                    <Table.Tr><Table.Th scope="row">{t('traffic.enabled')}</Table.Th><Table.Td>{preview.data.before ? (preview.data.before.enabled ? t('common.yes') : t('common.no')) : '—'}</Table.Td><Table.Td>{preview.data.after.enabled ? t('common.yes') : t('common.no')}</Table.Td></Table.Tr>
                  </Table.Tbody>
                </Table>
                <Group><Button onClick={() => apply.mutate()} loading={apply.isPending}>{t('traffic.apply')}</Button></Group>
              </Stack>
            )}
          </Stack>
        </form>
      )}
    </Stack>
  )
}
