import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createPool, createServer, migrate, pingDatabase, withTransaction } from '@ponte/platform'
import { startTcpProxy, testInfra, testLogger, testSchema, waitFor } from '@ponte/testkit'

const dir = fileURLToPath(new URL('./fixtures/migrations', import.meta.url))

describe('migrations (real PostgreSQL)', () => {
  const schema = testSchema('platform_db')
  afterAll(() => schema.drop())

  it('apply on an empty schema and are a no-op the second time', async () => {
    const { logger } = testLogger()
    const first = await migrate({ url: schema.databaseUrl, schema: schema.name, dir, log: logger })
    expect(first.applied).toEqual(['001_outbox_inbox', '002_outbox_trace_context', '001_widgets', '002_widget_colour'])
    const second = await migrate({ url: schema.databaseUrl, schema: schema.name, dir, log: logger })
    expect(second.applied).toEqual([])
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name })
    try {
      const { rows } = await pool.query('select name, colour from widget')
      expect(rows).toEqual([{ name: 'first', colour: 'blue' }])
      const tables = await pool.query("select table_name from information_schema.tables where table_schema = $1 order by 1", [schema.name])
      expect(tables.rows.map((r) => r.table_name)).toEqual(['inbox', 'migrations', 'outbox', 'platform_migrations', 'widget'])
    } finally {
      await pool.end()
    }
  })

  it('rolls a failed transaction back completely', async () => {
    const pool = createPool({ url: schema.databaseUrl, schema: schema.name })
    try {
      await expect(withTransaction(pool, async (c) => {
        await c.query("insert into widget (name) values ('half')")
        await c.query('select * from no_such_table')
      })).rejects.toThrow(/no_such_table/)
      const { rows } = await pool.query("select count(*)::int as n from widget where name = 'half'")
      expect(rows[0].n).toBe(0)
    } finally {
      await pool.end()
    }
  })
})

describe('readiness follows PostgreSQL', () => {
  it('turns unhealthy when PostgreSQL is unreachable and healthy again when it returns', async () => {
    const target = new URL(testInfra().databaseUrl)
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432))
    const viaProxy = new URL(target)
    viaProxy.port = String(proxy.port)
    const pool = createPool({ url: viaProxy.toString(), schema: 'public' })
    const app = createServer({ logger: testLogger().logger, readiness: [{ name: 'postgres', check: () => pingDatabase(pool) }] })
    try {
      expect((await app.inject('/readyz')).statusCode).toBe(200)
      await proxy.cut()
      const down = await waitFor(async () => {
        const res = await app.inject('/readyz')
        return res.statusCode === 503 ? res : undefined
      }, { what: 'readyz to turn 503' })
      expect(down.json().checks.postgres.ok).toBe(false)
      await proxy.restore()
      await waitFor(async () => (await app.inject('/readyz')).statusCode === 200, { what: 'readyz to recover' })
    } finally {
      await app.close()
      await pool.end().catch(() => undefined)
      await proxy.close()
    }
  })
})
