import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, createRedis, migrate, type Pool } from '@ponte/platform'
import { testInfra, testLogger, testSchema } from '@ponte/testkit'
import type { Redis } from 'ioredis'
import { announceClientChange, createClientCache } from '../src/adapters/client-cache.ts'
import { createPgAdapter, type PgAdapterFactory } from '../src/adapters/pg-oidc-adapter.ts'
import { createRedisReplayStore } from '../src/adapters/replay-store.ts'

const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url))

describe('auth-server token path stores: client cache and replay store', () => {
  const schema = testSchema('auth_client_cache')
  const { logger } = testLogger('auth-client-cache-test')
  let pool: Pool
  let redis: Redis

  beforeAll(async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name })
    redis = createRedis(testInfra().redisUrl, logger)
  })
  afterAll(async () => {
    await redis?.quit().catch(() => redis.disconnect())
    await pool?.end()
    await schema.drop()
  })

  const insertClient = (id: string, name = 'app') => createPgAdapter(pool)('Client').upsert(id, { client_id: id, client_name: name }, undefined as never)
  const deleteQuietly = (id: string) => pool.query("delete from oidc_model where model = 'Client' and id = $1", [id])

  it('serves a loaded client from memory until a change is announced; never caches an unknown id', async () => {
    const cache = createClientCache(pool, createPgAdapter(pool), { schema: schema.name, logger })
    await cache.listen()
    try {
      const clients = cache.adapter('Client')
      const id = randomUUID()
      await insertClient(id)
      expect(await clients.find(id)).toMatchObject({ client_name: 'app' })
      // A row changed behind the cache's back is not seen: the read came from memory.
      await deleteQuietly(id)
      expect(await clients.find(id)).toMatchObject({ client_name: 'app' })
      await announceClientChange(pool, id)
      expect(await clients.find(id)).toBeUndefined()
      // The miss was not remembered.
      await insertClient(id, 'again')
      expect(await clients.find(id)).toMatchObject({ client_name: 'again' })
      // `*` (a directory event) forgets every client.
      await deleteQuietly(id)
      await announceClientChange(pool)
      expect(await clients.find(id)).toBeUndefined()
      // Writes through the cached adapter are seen at once.
      await clients.upsert(id, { client_id: id, client_name: 'dcm' }, undefined as never)
      expect(await clients.find(id)).toMatchObject({ client_name: 'dcm' })
      await clients.destroy(id)
      expect(await clients.find(id)).toBeUndefined()
    } finally {
      await cache.stop()
    }
  })

  it('does not keep a load that was under way when a change was announced, and caches nothing without its listener', async () => {
    let release: () => void = () => undefined
    let gate: Promise<void> | undefined
    const inner = createPgAdapter(pool)
    // The same PostgreSQL adapter, held at one point so a change can land while a read is in flight.
    const gated = ((name: string) => {
      const base = inner(name)
      return { ...base, find: async (id: string) => { const row = await base.find(id); await gate; return row } }
    }) as PgAdapterFactory
    gated.pruneExpired = inner.pruneExpired
    // Another schema's name: the NOTIFY echo is ignored, so only the announcing process's own forgetting is at work
    // (the echo would otherwise hide a kept stale load).
    const cache = createClientCache(pool, gated, { schema: `${schema.name}_elsewhere`, logger })
    const clients = cache.adapter('Client')
    const id = randomUUID()
    await insertClient(id)
    // Not listening: every read goes to the database.
    expect(await clients.find(id)).toMatchObject({ client_name: 'app' })
    await deleteQuietly(id)
    expect(await clients.find(id)).toBeUndefined()

    await cache.listen()
    try {
      await insertClient(id, 'before')
      gate = new Promise((resolve) => { release = resolve })
      const reading = clients.find(id)
      await announceClientChange(pool, id)
      release()
      gate = undefined
      expect(await reading).toMatchObject({ client_name: 'before' })
      await deleteQuietly(id)
      // The in-flight result was not kept: the next read sees the database.
      expect(await clients.find(id)).toBeUndefined()
    } finally {
      await cache.stop()
    }
  })

  it('claims a jti once until it expires', async () => {
    const replay = createRedisReplayStore(redis, { prefix: `test:${schema.name}:jti` })
    const id = randomUUID()
    const exp = Math.floor(Date.now() / 1000) + 60
    expect(await replay.claim(id, exp)).toBe(true)
    expect(await replay.claim(id, exp)).toBe(false)
    const results = await Promise.all(Array.from({ length: 10 }, () => replay.claim(`${id}-race`, exp)))
    expect(results.filter(Boolean)).toHaveLength(1)
    const ttl = await redis.pttl(`test:${schema.name}:jti:${id}`)
    expect(ttl).toBeGreaterThan(50_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})
