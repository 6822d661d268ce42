import { Alert, Stack, Table, Title } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface StaffUser { userId: string; email: string; name: string; roles: string[]; disabled: boolean }

/** Staff accounts and their roles. */
export function StaffPage() {
  const { t } = useI18n()
  const staff = useQuery({ queryKey: ['staff'], queryFn: () => api<{ users: StaffUser[] }>('GET', '/api/staff') })
  return (
    <Stack component="section" aria-labelledby="staff-title">
      <Title order={1} id="staff-title">{t('staff.title')}</Title>
      {staff.error && <Alert color="red" role="alert">{staff.error.message}</Alert>}
      <Table striped>
        <Table.Thead><Table.Tr><Table.Th scope="col">{t('staff.name')}</Table.Th><Table.Th scope="col">{t('staff.email')}</Table.Th><Table.Th scope="col">{t('staff.roles')}</Table.Th><Table.Th scope="col">{t('staff.disabled')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {(staff.data?.users ?? []).map((u) => (
            <Table.Tr key={u.userId}><Table.Td>{u.name}</Table.Td><Table.Td>{u.email}</Table.Td><Table.Td>{u.roles.join(', ')}</Table.Td><Table.Td>{u.disabled ? t('common.yes') : t('common.no')}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  )
}
