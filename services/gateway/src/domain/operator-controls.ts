import type { ApiCatalogEvent, ClientEvent } from '@ponte/contracts'

/** `/open-banking/accounts/v2/accounts/{id}` → `accounts/v2`; undefined outside `/open-banking/<api>/v<N>`. */
export function apiVersionKey(path: string): string | undefined {
  const m = /^\/open-banking\/([a-z0-9-]+)\/(v\d+)(?:\/|$)/.exec(path)
  return m ? `${m[1]}/${m[2]}` : undefined
}

/**
 * What bank staff switched off in the admin console, as this replica last read it: API versions disabled
 * (`ponte.api-catalog.v1`) and clients suspended (`ponte.client.v1`). Both topics are compacted and read from the
 * beginning, so a replica that starts knows every decision still in force. Pure state: no I/O.
 */
export interface OperatorControls {
  apply(event: ApiCatalogEvent | ClientEvent): void
  /** Whether the API version of this key (`accounts/v2`) is disabled. */
  versionDisabled(key: string): boolean
  clientSuspended(clientId: string): boolean
  /** What is switched off now (the internal stats). */
  readonly stats: { disabledVersions: string[]; suspendedClients: number }
}

export function createOperatorControls(): OperatorControls {
  const disabled = new Set<string>()
  const suspended = new Set<string>()
  return {
    apply(e) {
      if (e.type === 'api-catalog.version-changed') {
        if (e.data.enabled) disabled.delete(e.data.key)
        else disabled.add(e.data.key)
      } else if (e.data.suspended) suspended.add(e.data.clientId)
      else suspended.delete(e.data.clientId)
    },
    versionDisabled: (key) => disabled.has(key),
    clientSuspended: (clientId) => suspended.has(clientId),
    get stats() { return { disabledVersions: [...disabled].sort(), suspendedClients: suspended.size } },
  }
}
