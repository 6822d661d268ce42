/**
 * Which URLs the connector may fetch: HTTPS only, on a configured directory host. An entry is `host` (port 443) or
 * `host:port`; names compare case-insensitively. Everything else (another host, another port, `http:`, credentials
 * in the URL) is refused before any request is made, so a `jwks_uri` or `iss` pointing elsewhere cannot be used to
 * reach internal addresses (SSRF).
 */
export type HostAllowList = (url: string | URL) => boolean

function normalise(entry: string): string {
  const e = entry.trim().toLowerCase()
  return e.endsWith(':443') ? e.slice(0, -4) : e
}

/** Builds the allow-list check from configured entries. */
export function createHostAllowList(entries: readonly string[]): HostAllowList {
  const allowed = new Set(entries.map(normalise).filter(Boolean))
  return (input) => {
    let url: URL
    try {
      url = typeof input === 'string' ? new URL(input) : input
    } catch {
      return false
    }
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return false
    return allowed.has(url.host.toLowerCase())
  }
}
