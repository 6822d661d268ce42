/** One entry of the gateway's route table, as far as the catalog needs it (services/gateway/src/routes.generated.json). */
export interface CatalogRoute { method: string; path: string; version: string; specFile: string; service: string }

/** An API major version Ponte serves: its routes, the full version (`x-v`) and whether it may be turned off. */
export interface CatalogVersion {
  /** `accounts/v2`: the API group and major version, as in the path. */
  key: string
  api: string
  major: string
  version: string
  specFile: string
  endpoints: Array<{ method: string; path: string }>
  /**
   * The regulator's endpoints (admin metrics, discovery status and outages, served by trace) are mandatory
   * (docs/regulation/regulator-endpoints.md): they cannot be turned off.
   */
  mandatory: boolean
}

/** `/open-banking/accounts/v2/accounts/{id}` → `accounts/v2`; undefined outside `/open-banking/<api>/v<N>`. */
export function apiVersionKey(path: string): string | undefined {
  const m = /^\/open-banking\/([a-z0-9-]+)\/(v\d+)(?:\/|$)/.exec(path)
  return m ? `${m[1]}/${m[2]}` : undefined
}

/** The route table grouped by API major version, sorted by key. */
export function catalogOf(routes: readonly CatalogRoute[]): CatalogVersion[] {
  const byKey = new Map<string, CatalogVersion>()
  for (const r of routes) {
    const key = apiVersionKey(r.path)
    if (!key) continue
    const [api, major] = key.split('/') as [string, string]
    const v = byKey.get(key) ?? { key, api, major, version: r.version, specFile: r.specFile, endpoints: [], mandatory: false }
    v.endpoints.push({ method: r.method, path: r.path })
    if (r.service === 'trace') v.mandatory = true
    byKey.set(key, v)
  }
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key))
}
