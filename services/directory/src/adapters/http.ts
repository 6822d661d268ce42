import { rootCertificates } from 'node:tls'
import { Agent, fetch as undiciFetch } from 'undici'
import type { HostAllowList } from '../domain/allow-list.ts'
import { DirectoryFetchError, type DirectoryHttp, type DirectoryJson } from '../domain/ports.ts'

/** The part of a fetch response the connector reads. */
export interface FetchResponse {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  json(): Promise<unknown>
  text(): Promise<string>
}

/** The outbound HTTP function of the connector (injectable, so tests can count or fake requests). */
export type FetchLike = (url: string, init: { signal: AbortSignal; headers: Record<string, string>; redirect: 'error' }) => Promise<FetchResponse>

/**
 * Fetches JSON from the directory: the URL must pass the host allow-list (checked before anything leaves the
 * process), redirects are refused (they could lead off the allowed hosts), every request has a timeout.
 */
export function createDirectoryHttp(options: { fetch: FetchLike; isAllowed: HostAllowList; timeoutMs: number }): DirectoryHttp {
  return {
    async getJson(url: string): Promise<DirectoryJson> {
      if (!options.isAllowed(url)) throw new DirectoryFetchError('HOST_NOT_ALLOWED', `${safeUrl(url)} is not on a configured directory host`)
      let res: FetchResponse
      try {
        res = await options.fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' })
      } catch (err) {
        throw new DirectoryFetchError('UNAVAILABLE', `directory request to ${safeUrl(url)} failed: ${(err as Error).message}`, { cause: err })
      }
      if (res.status !== 200) {
        await res.text().catch(() => undefined)
        throw new DirectoryFetchError('BAD_RESPONSE', `directory answered ${res.status} for ${safeUrl(url)}`)
      }
      try {
        return { body: await res.json(), headers: res.headers }
      } catch (err) {
        throw new DirectoryFetchError('BAD_RESPONSE', `directory answered invalid JSON for ${safeUrl(url)}`, { cause: err })
      }
    },
  }
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return '(invalid URL)'
  }
}

/**
 * The production {@link FetchLike}: undici with a keep-alive agent that trusts the public CAs plus `extraCaPem`
 * (the dev CA when the directory is the sandbox).
 */
export function createUndiciFetch(options: { extraCaPem?: string | undefined; connections?: number } = {}): { fetch: FetchLike; close(): Promise<void> } {
  const agent = new Agent({
    connections: options.connections ?? 8,
    connect: options.extraCaPem ? { ca: [...rootCertificates, options.extraCaPem] } : {},
  })
  const fetch: FetchLike = async (url, init) => undiciFetch(url, { ...init, dispatcher: agent })
  return { fetch, close: () => agent.close() }
}
