import type { Logger, Pool, PoolClient } from '@ponte/platform'
import type { Adapter, AdapterPayload } from 'oidc-provider'
import type { PgAdapterFactory } from './pg-oidc-adapter.ts'

/** The PostgreSQL channel on which replicas announce client changes (payload: `<schema> <clientId | *>`). */
export const CLIENT_CHANGES_CHANNEL = 'ponte_auth_clients'

/** Every client cache of this process, so that a change written here is forgotten here before the write returns. */
const local = new Set<{ forget(clientId: string): void }>()

/**
 * Announces, inside the caller's transaction, that a client (or every client, `*`) changed: each replica forgets its
 * cached copy when the transaction commits, and this process forgets it at once. `onDirectoryEvent` calls it for a
 * withdrawn or restored organisation and a revoked software statement; the cached adapter for DCR/DCM writes.
 */
export async function announceClientChange(db: Pick<PoolClient, 'query'>, clientId = '*'): Promise<void> {
  for (const cache of local) cache.forget(clientId)
  await db.query('select pg_notify($1, current_schema() || \' \' || $2)', [CLIENT_CHANGES_CHANNEL, clientId])
}

/** Options of {@link createClientCache}. */
export interface ClientCacheOptions {
  /** How long a loaded client is served without reading it again, whatever notifications say (safety net). */
  maxAgeMs?: number
  /** The schema this replica serves (notifications of other schemas on the same server are ignored). */
  schema: string
  logger: Logger
  now?: () => number
  /** Where the LISTEN connection comes from (default the cache's pool): a session connection behind a transaction pooler. */
  listenPool?: Pool | undefined
}

/** The adapter factory with `Client` reads served from memory, and the listener that keeps them fresh. */
export interface ClientCache {
  adapter: PgAdapterFactory
  /** Starts listening for changes announced by any replica; resolves once listening. */
  listen(): Promise<void>
  stop(): Promise<void>
}

/**
 * Client metadata is read on every token, PAR and registration-management request, and changes only through DCR/DCM
 * and directory events (a withdrawn organisation, a revoked software statement). This keeps each client's payload in
 * memory, as loaded by the PostgreSQL adapter (withdrawn and revoked clients are not found), and forgets it when a
 * replica announces a change (`announceClientChange`, PostgreSQL NOTIFY delivered at commit). A load that started
 * before a change is not kept. Without a listening connection nothing is cached.
 */
export function createClientCache(pool: Pool, inner: PgAdapterFactory, options: ClientCacheOptions): ClientCache {
  const maxAgeMs = options.maxAgeMs ?? 60_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { payload: AdapterPayload; at: number }>()
  const loading = new Map<string, { promise: Promise<AdapterPayload | undefined> }>()
  let generation = 0
  let listener: PoolClient | undefined
  let stopped = false
  const handle = {
    forget(clientId: string) {
      generation++
      // A read that arrives after the change must not join a load that started before it.
      if (clientId === '*') { entries.clear(); loading.clear() } else { entries.delete(clientId); loading.delete(clientId) }
    },
  }

  const onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel !== CLIENT_CHANGES_CHANNEL || !msg.payload) return
    const space = msg.payload.indexOf(' ')
    if (msg.payload.slice(0, space) === options.schema) handle.forget(msg.payload.slice(space + 1))
  }
  const lost = (err: unknown) => {
    options.logger.warn({ err }, 'client change listener lost; clients are read from the database until it is back')
    const l = listener
    listener = undefined
    handle.forget('*')
    l?.release(true)
    // One more attempt shortly; until it succeeds, nothing is cached.
    setTimeout(() => { if (!stopped) listen().catch(() => undefined) }, 1_000).unref()
  }

  async function listen(): Promise<void> {
    if (listener) return
    const client = await (options.listenPool ?? pool).connect()
    try {
      client.on('notification', onNotification)
      client.on('error', lost)
      await client.query(`listen ${CLIENT_CHANGES_CHANNEL}`)
    } catch (err) {
      client.release(true)
      throw err
    }
    handle.forget('*')
    listener = client
  }

  async function find(inner: Adapter, id: string): Promise<AdapterPayload | undefined> {
    if (!listener) return (await inner.find(id)) ?? undefined
    const hit = entries.get(id)
    if (hit && now() - hit.at < maxAgeMs) return hit.payload
    const joined = loading.get(id)
    if (joined) return joined.promise
    const started = generation
    const load = { promise: undefined as unknown as Promise<AdapterPayload | undefined> }
    load.promise = (async () => {
      try {
        const payload = (await inner.find(id)) ?? undefined
        // Unknown (or withdrawn) ids are not kept: anyone can send any client_id.
        if (payload && generation === started && listener) entries.set(id, { payload, at: now() })
        return payload
      } finally {
        if (loading.get(id) === load) loading.delete(id)
      }
    })()
    loading.set(id, load)
    return load.promise
  }

  const adapter = ((name: string): Adapter => {
    const base = inner(name)
    if (name !== 'Client') return base
    return {
      ...base,
      find: (id) => find(base, id),
      async upsert(id, payload, expiresIn) {
        await base.upsert(id, payload, expiresIn)
        await announceClientChange(pool, id)
      },
      async destroy(id) {
        await base.destroy(id)
        await announceClientChange(pool, id)
      },
    }
  }) as PgAdapterFactory
  adapter.pruneExpired = inner.pruneExpired

  local.add(handle)
  return {
    adapter,
    listen,
    async stop() {
      stopped = true
      local.delete(handle)
      const l = listener
      listener = undefined
      entries.clear()
      if (l) {
        l.off('error', lost)
        await l.query(`unlisten ${CLIENT_CHANGES_CHANNEL}`).catch(() => undefined)
        l.release()
      }
    },
  }
}
