import { Alert, Button, Group, NumberInput, Stack, Table, Text, Title } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Key { kid: string; use: 'sig' | 'enc'; alg: string; status: 'active' | 'retiring'; createdAt: string; retireAt: string | null; ageDays: number; due: boolean }
interface KeysAnswer { keys: Key[]; maxAgeDays: number; rotationDue: boolean }

/** The auth-server's keys, their rotation state, and "rotate now" for security administrators. */
export function KeysPage({ canRotate }: { canRotate: boolean }) {
  const { t, formatDate } = useI18n()
  const qc = useQueryClient()
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => api<KeysAnswer>('GET', '/api/keys') })
  const [graceHours, setGraceHours] = useState<number | string>(24)
  const rotate = useMutation({
    mutationFn: () => api<KeysAnswer & { added: string[] }>('POST', '/api/keys/rotate', { graceSeconds: Math.round(Number(graceHours) * 3600) }),
    onSuccess: (answer) => qc.setQueryData(['keys'], answer),
  })
  return (
    <Stack component="section" aria-labelledby="keys-title">
      <Title order={1} id="keys-title">{t('keys.title')}</Title>
      <Text>{t('keys.scope')}</Text>
      {keys.error && <Alert color="red" role="alert">{t('common.error')} {keys.error.message}</Alert>}
      {keys.data && <Text>{t('keys.policy')} {keys.data.maxAgeDays} {t('keys.days')}.</Text>}
      <Table striped data-testid="keys">
        <Table.Thead><Table.Tr>
          <Table.Th scope="col">{t('keys.kid')}</Table.Th><Table.Th scope="col">{t('keys.use')}</Table.Th><Table.Th scope="col">{t('keys.alg')}</Table.Th><Table.Th scope="col">{t('keys.status')}</Table.Th>
          <Table.Th scope="col">{t('keys.created')}</Table.Th><Table.Th scope="col">{t('keys.age')}</Table.Th><Table.Th scope="col">{t('keys.retireAt')}</Table.Th>
        </Table.Tr></Table.Thead>
        <Table.Tbody>
          {(keys.data?.keys ?? []).map((k) => (
            <Table.Tr key={k.kid} data-status={k.status}>
              <Table.Td><code>{k.kid}</code></Table.Td><Table.Td>{k.use}</Table.Td><Table.Td>{k.alg}</Table.Td>
              <Table.Td>{k.status === 'active' ? t('keys.active') : t('keys.retiring')}{k.due && <> · <Text component="strong" c="red.9" fw={700}>{t('keys.due')}</Text></>}</Table.Td>
              <Table.Td>{formatDate(k.createdAt)}</Table.Td><Table.Td>{k.ageDays}</Table.Td><Table.Td>{k.retireAt ? formatDate(k.retireAt) : '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canRotate && (
        <form onSubmit={(e) => { e.preventDefault(); rotate.mutate() }}>
          <Stack>
            <Title order={2}>{t('keys.rotateTitle')}</Title>
            <NumberInput label={t('keys.grace')} description={t('keys.graceHelp')} value={graceHours} onChange={setGraceHours} min={0} max={720} />
            <Group><Button type="submit" color="red" loading={rotate.isPending}>{t('keys.rotate')}</Button></Group>
            {rotate.error && <Alert color="red" role="alert">{rotate.error.message}</Alert>}
            {rotate.data && <Alert color="green" role="status">{t('keys.rotated')} {rotate.data.added.join(', ')}</Alert>}
          </Stack>
        </form>
      )}
    </Stack>
  )
}
