import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConsentEvent, DirectoryEvent, topics } from '@ponte/contracts'
import { createKafka, createPool, createPublisher, migrate, type Pool } from '@ponte/platform'
import { testInfra, testLogger, testSchema, waitFor } from '@ponte/testkit'
import { startConsumers } from '../src/adapters/consumers.ts'
import { createKeyStore } from '../src/adapters/key-store.ts'
import { createPgAdapter } from '../src/adapters/pg-oidc-adapter.ts'
import { createProviderHolder } from '../src/provider/provider-holder.ts'

const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url))

describe('auth-server storage: oidc adapter, sealed keys and rotation, event consumers', () => {
  const schema = testSchema('auth_storage')
  const { logger } = testLogger('auth-storage-test')
  let pool: Pool

  beforeAll(async () => {
    await migrate({ url: schema.databaseUrl, schema: schema.name, dir: migrationsDir })
    pool = createPool({ url: schema.databaseUrl, schema: schema.name })
  })
  afterAll(async () => {
    await pool?.end()
    await schema.drop()
  })

  it('honours expiry and finds by uid and user code', async () => {
    const adapter = createPgAdapter(pool)
    const sessions = adapter('Session')
    await sessions.upsert('s1', { uid: 'u1', accountId: 'a' }, 60)
    await sessions.upsert('s2', { uid: 'u2' }, 1)
    expect(await sessions.find('s1')).toMatchObject({ accountId: 'a' })
    expect(await sessions.findByUid('u1')).toMatchObject({ uid: 'u1' })
    await pool.query("update oidc_model set expires_at = now() - interval '1 second' where id = 's2'")
    expect(await sessions.find('s2')).toBeUndefined()
    expect(await adapter.pruneExpired(0)).toBeGreaterThanOrEqual(1)
    const devices = adapter('DeviceCode')
    await devices.upsert('d1', { userCode: 'ABCD-EFGH' }, 60)
    expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' })
  })

  it('lets exactly one replica consume a code; the loser fails and the grant is revoked', async () => {
    const adapter = createPgAdapter(pool)
    // Two adapters over two pools stand for two replicas.
    const other = createPool({ url: schema.databaseUrl, schema: schema.name })
    try {
      const a = adapter('AuthorizationCode')
      const b = createPgAdapter(other)('AuthorizationCode')
      await adapter('Grant').upsert('g1', { accountId: 'x' }, 600)
      await adapter('RefreshToken').upsert('rt1', { grantId: 'g1' }, 600)
      await a.upsert('code1', { grantId: 'g1' }, 60)
      const results = await Promise.allSettled([a.consume('code1'), b.consume('code1')])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(rejected.reason).toMatchObject({ error: 'invalid_grant' })
      // The reuse revoked everything issued under the grant, the code included.
      expect(await a.find('code1')).toBeUndefined()
      expect(await adapter('RefreshToken').find('rt1')).toBeUndefined()
      expect(await adapter('Grant').find('g1')).toBeUndefined()
    } finally {
      await other.end()
    }
  })

  it('seals keys with the master key, rotates with a grace period and reloads the provider key set', async () => {
    const master = randomBytes(32)
    const keys = createKeyStore(pool, master)
    const created = await keys.ensureKeys()
    expect(created).toHaveLength(2)
    expect(await keys.ensureKeys()).toEqual([])
    const { rows } = await pool.query<{ sealed_jwk: string }>('select sealed_jwk from signing_keys')
    expect(rows.every((r) => r.sealed_jwk.startsWith('v1.') && !r.sealed_jwk.includes('"d"'))).toBe(true)
    await expect(createKeyStore(pool, randomBytes(32)).privateJwks()).rejects.toThrow()

    let builds = 0
    const holder = await createProviderHolder(keys, (jwks) => { builds++; return { jwks } as never }, logger)
    expect(holder.publicJwks.keys.map((k) => k.kid).sort()).toEqual([...created].sort())
    expect(holder.publicJwks.keys.every((k) => (k as Record<string, unknown>).d === undefined)).toBe(true)

    const { added, retiring } = await keys.rotate(3600)
    expect(retiring.sort()).toEqual([...created].sort())
    const published = await keys.privateJwks()
    expect(published.map((k) => k.kid)).toEqual(expect.arrayContaining([...added, ...created]))
    expect(published.slice(0, 2).map((k) => k.kid).sort()).toEqual([...added].sort())
    expect(await holder.refresh()).toBe(true)
    expect(builds).toBe(2)
    expect(await holder.refresh()).toBe(false)

    await pool.query("update signing_keys set retire_at = now() - interval '1 second' where status = 'retiring'")
    expect((await keys.privateJwks()).map((k) => k.kid).sort()).toEqual([...added].sort())
    expect((await keys.prune()).sort()).toEqual([...created].sort())
    expect(await holder.refresh()).toBe(true)
    expect(holder.publicJwks.keys.map((k) => k.kid).sort()).toEqual([...added].sort())
  })

  it('rotate-keys command adds a pair and keeps the old one published', async () => {
    const env = { DATABASE_URL: schema.databaseUrl, DB_SCHEMA: schema.name, KEYS_MASTER_KEY: randomBytes(32).toString('base64') }
    const saved = { ...process.env }
    Object.assign(process.env, env)
    const log: string[] = []
    const spy = vi.spyOn(globalThis.console, 'log').mockImplementation((...args: unknown[]) => { log.push(args.join(' ')) })
    try {
      await pool.query('delete from signing_keys')
      await createKeyStore(pool, Buffer.from(env.KEYS_MASTER_KEY, 'base64')).ensureKeys()
      const { run } = await import('../../../scripts/ponte/rotate-keys.ts')
      await run(['--grace', '600'])
      const { rows } = await pool.query<{ status: string }>('select status from signing_keys order by status')
      expect(rows.map((r) => r.status)).toEqual(['active', 'active', 'retiring', 'retiring'])
      expect(log.join('\n')).toMatch(/active now: .+, .+/)
      await expect(run(['--grace', 'soon'])).rejects.toThrow(/--grace/)
    } finally {
      spy.mockRestore()
      process.env = saved
    }
  })

  it('consumes ponte.consent.v1 (revokes the consent\'s grants once) and ponte.directory.v1 (withdraws organisations)', async () => {
    const kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: 'auth-storage-test', logger })
    const publisher = createPublisher(kafka)
    const subs = await startConsumers({ kafka, pool, logger, groupPrefix: `auth-test-${schema.name}` })
    try {
      await Promise.all(subs.map((s) => s.ready))
      const adapter = createPgAdapter(pool)
      const consentId = `urn:ponte:${randomUUID()}`
      await adapter('Grant').upsert('grant-c', { accountId: 'x' }, 600)
      await adapter('RefreshToken').upsert('rt-c', { grantId: 'grant-c' }, 600)
      await adapter('Grant').upsert('grant-other', { accountId: 'y' }, 600)
      await pool.query("insert into consent_grants (consent_id, grant_id, client_id) values ($1, 'grant-c', 'c1')", [consentId])
      const event = {
        id: randomUUID(), source: 'consent', occurredAt: new Date().toISOString(), version: 1 as const, type: 'consent.rejected' as const,
        data: { consentId, kind: 'data' as const, clientId: 'c1', rejectedBy: 'USER' as const, reason: 'CUSTOMER_MANUALLY_REVOKED', previousStatus: 'AUTHORISED' },
      }
      await publisher.publish(topics.consent, ConsentEvent, event, consentId)
      await publisher.publish(topics.consent, ConsentEvent, event, consentId)
      await waitFor(async () => (await adapter('RefreshToken').find('rt-c')) === undefined, { what: 'refresh token revoked', timeoutMs: 20_000 })
      expect(await adapter('Grant').find('grant-c')).toBeUndefined()
      expect(await adapter('Grant').find('grant-other')).toBeDefined()
      await waitFor(async () => (await pool.query("select 1 from inbox where consumer = 'auth-server.consent' and event_id = $1", [event.id])).rowCount === 1)

      const orgId = randomUUID()
      await adapter('Client').upsert('client-w', { client_id: 'client-w', org_id: orgId }, undefined as unknown as number)
      expect(await adapter('Client').find('client-w')).toBeDefined()
      await publisher.publish(topics.directory, DirectoryEvent, {
        id: randomUUID(), source: 'directory', occurredAt: new Date().toISOString(), version: 1, type: 'directory.organisation.changed',
        data: { organisationId: orgId, status: 'Withdrawn', roles: [], changes: ['status'] },
      }, orgId)
      await waitFor(async () => (await adapter('Client').find('client-w')) === undefined, { what: 'client of withdrawn organisation hidden', timeoutMs: 20_000 })
    } finally {
      for (const s of subs) await s.stop()
      await publisher.disconnect()
    }
  })
})
