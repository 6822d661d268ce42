import { Button, Group, NavLink, NativeSelect, Stack, Text, Title } from '@mantine/core'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { api, setCsrfToken, type SessionAnswer } from './api.ts'
import { useI18n, type Lang, type MessageKey } from './i18n.tsx'
import { AuditPage } from './pages/Audit.tsx'
import { ConsentsPage } from './pages/Consents.tsx'
import { LoginPage } from './pages/Login.tsx'
import { StaffPage } from './pages/Staff.tsx'
import { TrafficPage } from './pages/Traffic.tsx'
import { PaymentsPage } from './pages/Payments.tsx'
import { CatalogPage } from './pages/Catalog.tsx'
import { ClientsPage } from './pages/Clients.tsx'

type Page = 'consents' | 'traffic' | 'staff' | 'audit' | 'payments' | 'clients' | 'catalog'
const PAGES: Array<{ page: Page; label: MessageKey; needs: string }> = [
  { page: 'consents', label: 'nav.consents', needs: 'consents:read' },
  { page: 'payments', label: 'nav.payments', needs: 'payments:read' },
  { page: 'clients', label: 'nav.clients', needs: 'participants:read' },
  { page: 'traffic', label: 'nav.traffic', needs: 'traffic:read' },
  { page: 'catalog', label: 'nav.catalog', needs: 'catalog:read' },
  { page: 'staff', label: 'nav.staff', needs: 'staff:read' },
  { page: 'audit', label: 'nav.audit', needs: 'audit:read' },
]

function pageFromHash(): Page | undefined {
  const p = window.location.hash.replace(/^#\/?/, '')
  return PAGES.some((x) => x.page === p) ? (p as Page) : undefined
}

export function App() {
  const { t, lang, setLang } = useI18n()
  const qc = useQueryClient()
  const session = useQuery({ queryKey: ['session'], queryFn: () => api<SessionAnswer>('GET', '/api/session') })
  const [page, setPage] = useState<Page | undefined>(pageFromHash)
  useEffect(() => {
    const on = () => setPage(pageFromHash())
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  if (session.data) setCsrfToken(session.data.csrfToken)

  const language = (
    <NativeSelect label={t('nav.language')} value={lang} onChange={(e) => setLang(e.currentTarget.value as Lang)}
      data={[{ value: 'pt-BR', label: 'Português (Brasil)' }, { value: 'en', label: 'English' }]} />
  )
  if (session.isPending) return <Text p="md">{t('common.loading')}</Text>
  if (!session.data) {
    return <LoginPage language={language} onSignedIn={(s) => { setCsrfToken(s.csrfToken); qc.setQueryData(['session'], s) }} />
  }
  const me = session.data.user
  const allowed = PAGES.filter((p) => me.permissions.includes(p.needs))
  const current = allowed.find((p) => p.page === page) ?? allowed[0]
  const logout = async () => {
    await api('POST', '/api/session/logout')
    qc.clear()
    qc.setQueryData(['session'], null)
    void qc.invalidateQueries({ queryKey: ['session'] })
  }

  return (
    <div className="frame">
      <header className="frame-header">
        <Text fw={700} component="p">{t('app.title')}</Text>
        <Group>
          <Text size="sm" component="p">{me.email}</Text>
          <Button variant="default" onClick={() => void logout()}>{t('nav.logout')}</Button>
        </Group>
      </header>
      <nav className="frame-nav" aria-label={t('nav.main')}>
        <Stack gap="xs">
          {allowed.map((p) => (
            <NavLink key={p.page} href={`#/${p.page}`} label={t(p.label)} active={current?.page === p.page}
              aria-current={current?.page === p.page ? 'page' : undefined} />
          ))}
          {language}
        </Stack>
      </nav>
      <main className="frame-main">
        {current?.page === 'consents' && <ConsentsPage canRevoke={me.permissions.includes('consents:revoke')} />}
        {current?.page === 'traffic' && <TrafficPage canChange={me.permissions.includes('traffic:write')} />}
        {current?.page === 'payments' && <PaymentsPage canCancel={me.permissions.includes('payments:cancel')} />}
        {current?.page === 'clients' && <ClientsPage canSuspend={me.permissions.includes('clients:suspend')} />}
        {current?.page === 'catalog' && <CatalogPage canChange={me.permissions.includes('catalog:write')} />}
        {current?.page === 'staff' && <StaffPage />}
        {current?.page === 'audit' && <AuditPage />}
        {!current && <Title order={1}>{t('app.title')}</Title>}
      </main>
    </div>
  )
}
