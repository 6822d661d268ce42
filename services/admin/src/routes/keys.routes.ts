import { RotateKeysRequest, RotateKeysResult, SigningKeyList, type SigningKeyInfo } from '@ponte/contracts'
import type { InternalClient, PonteServer } from '@ponte/platform'
import type { AuditStore } from '../adapters/audit-store.ts'
import { auditContext } from '../adapters/http-security.ts'

/** Options of {@link keyRoutes}. */
export interface KeyRoutesOptions {
  /** The auth-server's internal API (audience `auth-server`). */
  authServer: InternalClient
  audit: AuditStore
  clock: { now(): Date }
  /** An active key older than this is shown as due for rotation. */
  maxAgeDays: number
}

const ACTOR_HEADER = 'x-ponte-actor'
const DAY = 86_400_000

/**
 * `/api/keys`: the auth-server's signing (PS256) and encryption (RSA-OAEP) keys with their rotation state (age, due
 * when an active key is older than `maxAgeDays`, retiring keys and when they leave the JWKS), and `rotate`, which asks
 * the auth-server for a new pair; the previous keys stay published for the grace period. Audited with before and after.
 */
export async function keyRoutes(app: PonteServer, opts: KeyRoutesOptions): Promise<void> {
  const status = (keys: SigningKeyInfo[]) => {
    const now = opts.clock.now().getTime()
    const view = keys.map((k) => {
      const ageDays = Math.floor((now - Date.parse(k.createdAt)) / DAY)
      return { ...k, ageDays, due: k.status === 'active' && ageDays >= opts.maxAgeDays }
    })
    return { keys: view, maxAgeDays: opts.maxAgeDays, rotationDue: view.some((k) => k.due) }
  }

  app.get('/api/keys', async () => status((await opts.authServer.call('GET', '/internal/keys', SigningKeyList)).keys))

  app.post('/api/keys/rotate', { schema: { body: RotateKeysRequest } }, async (req) => {
    const before = (await opts.authServer.call('GET', '/internal/keys', SigningKeyList)).keys
    const active = (ks: SigningKeyInfo[]) => ks.filter((k) => k.status === 'active').map((k) => k.kid)
    const entry = { ...auditContext(req), action: 'keys.rotate', target: 'auth-server:keys', before: { active: active(before) } }
    try {
      const result = await opts.authServer.call('POST', '/internal/keys/rotate', RotateKeysResult, { body: req.body, headers: { [ACTOR_HEADER]: req.staff!.user.email } })
      await opts.audit.append({ ...entry, outcome: 'success', after: { active: active(result.keys) }, detail: { added: result.added, retiring: result.retiring, pruned: result.pruned, graceSeconds: req.body.graceSeconds } })
      return { ...status(result.keys), added: result.added, retiring: result.retiring, pruned: result.pruned }
    } catch (err) {
      await opts.audit.append({ ...entry, outcome: 'failure', detail: { graceSeconds: req.body.graceSeconds, error: err instanceof Error ? err.message : String(err) } })
      throw err
    }
  })
}
