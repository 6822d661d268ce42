import { Alert, Paper, Stack, Table, Text, Title } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { api } from '../api.ts'
import { useI18n } from '../i18n.tsx'

interface Counts { calls: number; errors: number; s423: number; s429: number; s529: number }
interface Dashboard {
  generatedAt: string
  windowMinutes: number
  minutes: Array<Counts & { minute: string }>
  totals: Counts
  shares: { errors: number; s423: number; s429: number; s529: number }
  tiers: Array<{ slaMs: number; calls: number; p95Ms: number | null; overShare: number }>
  availability: { general: number | null; lowest: Array<{ endpoint: string; uptimeRate: number }> }
  alerts: Array<{ alertKey: string; rule: string; subject: string; message: string; firedAt: string }>
}

/** How often the dashboard reads again. */
const REFRESH_MS = 15_000

/** The operations dashboard: the last hour of regulated calls, p95 per SLA tier, availability today, firing alerts. */
export function DashboardPage() {
  const { t, lang, formatDate } = useI18n()
  const data = useQuery({ queryKey: ['dashboard'], queryFn: () => api<Dashboard>('GET', '/api/dashboard'), refetchInterval: REFRESH_MS })
  const pct = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 2 })
  const int = new Intl.NumberFormat(lang)
  const time = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' })
  const d = data.data
  const series = (d?.minutes ?? []).map((m) => ({ minute: time.format(new Date(m.minute)), calls: m.calls, errors: m.errors }))
  const stats = d ? [
    { label: t('dashboard.calls'), value: int.format(d.totals.calls) },
    { label: t('dashboard.errorShare'), value: pct.format(d.shares.errors) },
    { label: t('dashboard.share423'), value: pct.format(d.shares.s423) },
    { label: t('dashboard.share429'), value: pct.format(d.shares.s429) },
    { label: t('dashboard.share529'), value: pct.format(d.shares.s529) },
    { label: t('dashboard.availability'), value: d.availability.general === null ? '—' : pct.format(d.availability.general) },
  ] : []

  return (
    <Stack component="section" aria-labelledby="dashboard-title">
      <Title order={1} id="dashboard-title">{t('dashboard.title')}</Title>
      <Text size="sm">{t('dashboard.window')}{d && <> · {t('dashboard.updated')} <span data-testid="dashboard-updated">{formatDate(d.generatedAt)}</span></>}</Text>
      {data.error && <Alert color="red" role="alert">{t('common.error')} {data.error.message}</Alert>}
      {data.isPending && <Text>{t('common.loading')}</Text>}
      {d && (
        <>
          <dl className="tiles">
            {stats.map((s) => (
              <Paper key={s.label} withBorder p="sm">
                <Text component="dt" size="sm">{s.label}</Text>
                <Text component="dd" fw={700} size="xl" m={0}>{s.value}</Text>
              </Paper>
            ))}
          </dl>

          <Title order={2} id="calls-chart-title">{t('dashboard.callsPerMinute')}</Title>
          <figure aria-labelledby="calls-chart-title" className="chart">
            <ResponsiveContainer width="100%" height={260}>
              <ComposedChart data={series} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#ced4da" />
                <XAxis dataKey="minute" stroke="#495057" />
                <YAxis allowDecimals={false} stroke="#495057" />
                <Tooltip />
                <Legend />
                <Bar dataKey="calls" name={t('dashboard.calls')} fill="#1864ab" isAnimationActive={false} />
                <Line dataKey="errors" name={t('dashboard.errors')} stroke="#c92a2a" strokeWidth={2} dot={false} isAnimationActive={false} />
              </ComposedChart>
            </ResponsiveContainer>
            <details>
              <summary>{t('dashboard.chartTable')}</summary>
              <Table>
                <Table.Thead><Table.Tr><Table.Th scope="col">{t('dashboard.minute')}</Table.Th><Table.Th scope="col">{t('dashboard.calls')}</Table.Th><Table.Th scope="col">{t('dashboard.errors')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{series.map((m) => <Table.Tr key={m.minute}><Table.Td>{m.minute}</Table.Td><Table.Td>{m.calls}</Table.Td><Table.Td>{m.errors}</Table.Td></Table.Tr>)}</Table.Tbody>
              </Table>
            </details>
          </figure>

          <Title order={2}>{t('dashboard.p95')}</Title>
          <Table striped data-testid="sla-tiers">
            <Table.Thead><Table.Tr><Table.Th scope="col">{t('dashboard.tier')}</Table.Th><Table.Th scope="col">{t('dashboard.calls')}</Table.Th><Table.Th scope="col">{t('dashboard.p95Value')}</Table.Th><Table.Th scope="col">{t('dashboard.overShare')}</Table.Th><Table.Th scope="col">{t('keys.status')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {d.tiers.map((tier) => (
                <Table.Tr key={tier.slaMs}>
                  <Table.Th scope="row">{int.format(tier.slaMs)} ms</Table.Th>
                  <Table.Td>{int.format(tier.calls)}</Table.Td>
                  <Table.Td>{tier.p95Ms === null ? '—' : `${int.format(tier.p95Ms)} ms`}</Table.Td>
                  <Table.Td>{pct.format(tier.overShare)}</Table.Td>
                  <Table.Td>{tier.p95Ms === null ? t('dashboard.noCalls') : tier.p95Ms <= tier.slaMs ? t('dashboard.withinTarget') : <Text component="strong" c="red.9" fw={700}>{t('dashboard.overTarget')}</Text>}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>

          <Title order={2}>{t('dashboard.alerts')}</Title>
          {d.alerts.length === 0 ? <Text>{t('dashboard.noAlerts')}</Text> : (
            <Table striped>
              <Table.Thead><Table.Tr><Table.Th scope="col">{t('dashboard.rule')}</Table.Th><Table.Th scope="col">{t('dashboard.subject')}</Table.Th><Table.Th scope="col">{t('dashboard.since')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {d.alerts.map((a) => <Table.Tr key={a.alertKey}><Table.Td>{a.rule}</Table.Td><Table.Td title={a.message}>{a.subject}</Table.Td><Table.Td>{formatDate(a.firedAt)}</Table.Td></Table.Tr>)}
              </Table.Tbody>
            </Table>
          )}

          {d.availability.lowest.length > 0 && (
            <>
              <Title order={2}>{t('dashboard.lowest')}</Title>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th scope="col">{t('traffic.endpoint')}</Table.Th><Table.Th scope="col">{t('dashboard.availability')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{d.availability.lowest.map((e) => <Table.Tr key={e.endpoint}><Table.Td>{e.endpoint}</Table.Td><Table.Td>{pct.format(e.uptimeRate)}</Table.Td></Table.Tr>)}</Table.Tbody>
              </Table>
            </>
          )}
        </>
      )}
    </Stack>
  )
}
