import type { FastifyRequest } from 'fastify'
import type { AuditInput, AuditStore } from './audit-store.ts'
import { auditContext } from './http-security.ts'

/**
 * Runs an upstream change and appends its audit entry after the call answers (docs/decisions/admin-audit-trail.md):
 * `success` with the state `after` gives, or `failure` with the error, which is thrown on.
 */
export async function audited<T>(
  audit: AuditStore,
  req: FastifyRequest,
  entry: { action: string; target: string; before?: unknown; detail?: Record<string, unknown> },
  change: () => Promise<T>,
  after: (result: T) => AuditInput['after'],
): Promise<T> {
  const base = { ...auditContext(req), ...entry }
  try {
    const result = await change()
    await audit.append({ ...base, outcome: 'success', after: after(result) })
    return result
  } catch (err) {
    await audit.append({ ...base, outcome: 'failure', detail: { ...(entry.detail ?? {}), error: err instanceof Error ? err.message : String(err) } })
    throw err
  }
}
