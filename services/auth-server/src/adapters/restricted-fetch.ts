import { Agent, fetch as undiciFetch } from 'undici'

/** Options of {@link createRestrictedFetch}. */
export interface RestrictedFetchOptions {
  /** URL origins that may be fetched (e.g. the directory keystore); everything else is refused. */
  allowedOrigins: readonly string[]
  /** Extra trust anchors (PEM), e.g. the sandbox directory's development CA. */
  ca?: string | undefined
  timeoutMs?: number
}

/**
 * The outbound fetch of the authorization server (client `jwks_uri`s). oidc-provider's own fetch refuses loopback and
 * private addresses to prevent SSRF; this one replaces that rule with a stricter one: only the configured origins
 * (the directory's keystore, or the sandbox directory in development) are reachable, over HTTPS, within a timeout.
 * Redirects are refused, not followed: the check above applies to the first URL only, and an allowed host that answered
 * 302 would otherwise send the fetch anywhere (an internal address, plain HTTP).
 */
export function createRestrictedFetch(options: RestrictedFetchOptions): typeof globalThis.fetch & { close(): Promise<void> } {
  const allowed = new Set(options.allowedOrigins.map((o) => new URL(o).origin))
  const timeoutMs = options.timeoutMs ?? 2_500
  const dispatcher = new Agent({ connect: { ...(options.ca ? { ca: options.ca } : {}) }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
  const restricted = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    if (url.protocol !== 'https:' || !allowed.has(url.origin)) {
      throw new TypeError(`outbound fetch to ${url.origin} is not allowed`)
    }
    const { dispatcher: _ignored, redirect: _redirect, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown }
    return undiciFetch(url, { ...(rest as object), redirect: 'error', dispatcher, signal: rest.signal ?? AbortSignal.timeout(timeoutMs) } as never) as unknown as Response
  }
  return Object.assign(restricted as typeof globalThis.fetch, { close: () => dispatcher.close() })
}
