import { z } from 'zod'
import type { PonteServer } from '@ponte/platform'
import type { AuditEntry, AuditStore } from '../adapters/audit-store.ts'
import { auditContext } from '../adapters/http-security.ts'

/** Options of {@link auditRoutes}. */
export interface AuditRoutesOptions { audit: AuditStore }

const Filters = z.object({
  actor: z.string().trim().max(254).optional(),
  action: z.string().trim().max(200).optional(),
  target: z.string().trim().max(400).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  beforeSeq: z.coerce.number().int().min(1).optional(),
})
type Filters = z.output<typeof Filters>

const CSV_COLUMNS = ['seq', 'at', 'actorEmail', 'address', 'action', 'outcome', 'target', 'before', 'after', 'detail', 'requestId', 'prevHash', 'hash'] as const
const EXPORT_MAX = 10_000

/**
 * One CSV field (RFC 4180 quoting). A value a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
 * is prefixed with `'`, so an exported trail cannot carry a formula injection.
 */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value)
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

const query = (f: Filters, limit: number) => ({
  actor: f.actor, action: f.action, target: f.target, outcome: f.outcome, beforeSeq: f.beforeSeq, limit,
  from: f.from ? new Date(f.from) : undefined, to: f.to ? new Date(f.to) : undefined,
})

/** `/api/audit`: the console's audit trail (auditors), filtered, as CSV, and its chain check. */
export async function auditRoutes(app: PonteServer, opts: AuditRoutesOptions): Promise<void> {
  app.get('/api/audit', { schema: { querystring: Filters } }, async (req) => ({ entries: await opts.audit.search(query(req.query, req.query.limit)) }))

  app.get('/api/audit/export.csv', { schema: { querystring: Filters } }, async (req, reply) => {
    const entries: AuditEntry[] = await opts.audit.search(query(req.query, EXPORT_MAX))
    // Exporting the trail is itself an action worth recording.
    await opts.audit.append({ ...auditContext(req), action: 'audit.export', outcome: 'success', detail: { filters: { ...req.query }, rows: entries.length } })
    const lines = [CSV_COLUMNS.join(','), ...entries.map((e) => CSV_COLUMNS.map((c) => csvField(e[c])).join(','))]
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="ponte-audit-${new Date().toISOString().slice(0, 10)}.csv"`)
      .send(`${lines.join('\r\n')}\r\n`)
  })

  app.get('/api/audit/verify', async () => opts.audit.verify())
}
