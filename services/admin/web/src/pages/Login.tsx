import { Alert, Button, Container, Divider, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState, type FormEvent, type ReactNode } from 'react'
import { api, ApiError, type SessionAnswer } from '../api.ts'
import { useI18n } from '../i18n.tsx'

type Step = { status: 'totp_required' } | ({ status: 'signed_in' } & SessionAnswer)

/** What the single sign-on callback left in the address: `?sso=totp` (the code is asked) or `?sso=failed`. */
const ssoOutcome = new URLSearchParams(window.location.search).get('sso')

/** Drops `sso` from the address once it has been shown, keeping the rest (the language). */
function forgetSsoOutcome() {
  const url = new URL(window.location.href)
  if (!url.searchParams.has('sso')) return
  url.searchParams.delete('sso')
  window.history.replaceState(null, '', url)
}

/** Password first, then the TOTP code when the account has one; or single sign-on with the bank's provider. */
export function LoginPage({ onSignedIn, language }: { onSignedIn(s: SessionAnswer): void; language: ReactNode }) {
  const { t } = useI18n()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [needsCode, setNeedsCode] = useState(ssoOutcome === 'totp')
  const [error, setError] = useState<string | undefined>(ssoOutcome === 'failed' ? t('login.ssoFailed') : undefined)
  const sso = useQuery({ queryKey: ['sso'], queryFn: () => api<{ enabled: boolean }>('GET', '/api/session/sso') })
  const [busy, setBusy] = useState(false)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const answer = needsCode
        ? await api<Step>('POST', '/api/session/totp', { code })
        : await api<Step>('POST', '/api/session/login', { email, password })
      if (answer.status === 'totp_required') setNeedsCode(true)
      else {
        forgetSsoOutcome()
        onSignedIn(answer)
      }
    } catch (err) {
      setError(err instanceof ApiError && err.status === 429 ? t('login.throttled') : t('login.failed'))
      if (needsCode) setCode('')
    } finally {
      setBusy(false)
    }
  }

  return (
    <Container size={420} py="xl" component="main">
      <Paper withBorder p="lg">
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack>
            <Title order={1} size="h2">{t('login.title')}</Title>
            {error && <Alert color="red" role="alert">{error}</Alert>}
            {!needsCode ? (
              <>
                <TextInput label={t('login.email')} type="email" autoComplete="username" required withAsterisk={false} value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
                <PasswordInput label={t('login.password')} autoComplete="current-password" required withAsterisk={false} value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
                <Button type="submit" loading={busy}>{t('login.submit')}</Button>
                {sso.data?.enabled && (
                  <>
                    <Divider label={t('login.or')} labelPosition="center" />
                    <Button component="a" href="/api/session/sso/start" variant="default">{t('login.sso')}</Button>
                  </>
                )}
              </>
            ) : (
              <>
                {ssoOutcome === 'totp' && <Text>{t('login.ssoCode')}</Text>}
                <TextInput label={t('login.code')} description={t('login.codeHelp')} inputMode="numeric" autoComplete="one-time-code" required withAsterisk={false} autoFocus
                  value={code} onChange={(e) => setCode(e.currentTarget.value)} />
                <Button type="submit" loading={busy}>{t('login.confirm')}</Button>
              </>
            )}
            {language}
          </Stack>
        </form>
      </Paper>
    </Container>
  )
}
