import type Provider from 'oidc-provider'
import type { JWK } from 'jose'
import type { Logger } from '@ponte/platform'
import type { KeyStore, PrivateJwk } from '../adapters/key-store.ts'

/**
 * Holds the running oidc-provider instance and replaces it when the key set changes (`rotate-keys` on any replica):
 * oidc-provider's key set is fixed per instance, and every other piece of state lives in PostgreSQL, so a fresh
 * instance built from the new keys takes over the next request while in-flight requests finish on the old one.
 */
export interface ProviderHolder {
  readonly current: Provider
  /** The published (public) keys of the current instance, for verifying what it signed. */
  readonly publicJwks: { keys: JWK[] }
  /** Rebuilds the provider when the stored key set changed; returns whether it did. */
  refresh(): Promise<boolean>
  /** Starts checking every `intervalMs`. */
  start(intervalMs: number): void
  stop(): void
}

/** Creates the holder with the keys stored now. */
export async function createProviderHolder(keys: KeyStore, build: (jwks: PrivateJwk[]) => Provider, logger: Logger): Promise<ProviderHolder> {
  let version = await keys.version()
  const toPublic = (jwks: PrivateJwk[]) => ({ keys: jwks.map(({ kid, kty, n, e, use, alg }) => ({ kid, kty, n, e, use, alg }) as JWK) })
  let jwks = await keys.privateJwks()
  let current = build(jwks)
  let publicJwks = toPublic(jwks)
  let timer: NodeJS.Timeout | undefined
  let refreshing: Promise<boolean> | undefined
  const refresh = () => (refreshing ??= (async () => {
    try {
      const next = await keys.version()
      if (next === version) return false
      jwks = await keys.privateJwks()
      current = build(jwks)
      publicJwks = toPublic(jwks)
      version = next
      logger.info({ keys: next }, 'key set changed: authorization server reloaded')
      return true
    } finally {
      refreshing = undefined
    }
  })())
  return {
    get current() { return current },
    get publicJwks() { return publicJwks },
    refresh,
    start(intervalMs) {
      timer = setInterval(() => { refresh().catch((err: unknown) => logger.warn({ err }, 'key reload failed; keeping the current keys')) }, intervalMs)
      timer.unref()
    },
    stop() { if (timer) clearInterval(timer) },
  }
}
