import { RotateKeysRequest, RotateKeysResult, SigningKeyList, type SigningKeyInfo } from '@ponte/contracts'
import { DomainError, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import type { KeyInfo, KeyStore } from '../adapters/key-store.ts'
import type { ProviderHolder } from '../provider/provider-holder.ts'

/** The header naming the person behind a rotation (the admin console's staff member), logged with it. */
const ACTOR_HEADER = 'x-ponte-actor'

const view = (k: KeyInfo): SigningKeyInfo => ({ kid: k.kid, use: k.use, alg: k.alg, status: k.status, createdAt: k.createdAt.toISOString(), retireAt: k.retireAt?.toISOString() ?? null })

/**
 * `/internal/keys` (service token, audience `auth-server`; the admin console's keys page): the signing and encryption
 * keys with their rotation state, and `POST /internal/keys/rotate`, what `pnpm ponte rotate-keys` does: keys past their
 * grace period are pruned, a new active pair is added, the previous one stays published for `graceSeconds`. This
 * replica reloads at once; the others within KEY_RELOAD_INTERVAL_MS. Only the admin service may rotate.
 */
export async function internalKeyRoutes(app: PonteServer, deps: { keys: KeyStore; holder: ProviderHolder; serviceAuth: ServiceTokenVerifier }): Promise<void> {
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.get('/internal/keys', { schema: { response: { 200: SigningKeyList } } }, async () => ({ keys: (await deps.keys.list()).map(view) }))
    r.post('/internal/keys/rotate', { schema: { body: RotateKeysRequest, response: { 200: RotateKeysResult } } }, async (req) => {
      if (req.serviceCaller?.iss !== 'admin') throw new DomainError('FORBIDDEN', 'only the admin service rotates keys')
      const pruned = await deps.keys.prune()
      const { added, retiring } = await deps.keys.rotate(req.body.graceSeconds)
      await deps.holder.refresh()
      const actor = req.headers[ACTOR_HEADER]
      req.log.warn({ added, retiring, pruned, graceSeconds: req.body.graceSeconds, caller: req.serviceCaller?.iss, actor: typeof actor === 'string' ? actor : undefined }, 'keys rotated')
      return { added, retiring, pruned, keys: (await deps.keys.list()).map(view) }
    })
  })
}
