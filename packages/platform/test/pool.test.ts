import { afterAll, describe, expect, it } from 'vitest'
import { createPool, withTransaction } from '@ponte/platform'
import { testLogger, testSchema, waitFor } from '@ponte/testkit'

describe('PostgreSQL pool and a server that goes away', () => {
  const schema = testSchema('platform_pool')
  afterAll(async () => { await schema.drop() })

  it('a connection cut inside a transaction fails that transaction only: no unhandled error, the pool serves again', async () => {
    const { logger, lines } = testLogger('pool-test')
    const name = `pool-${schema.name}`.slice(0, 60)
    const pool = createPool({ url: schema.databaseUrl, schema: 'public', applicationName: name }, logger)
    const admin = createPool({ url: schema.databaseUrl, schema: 'public', max: 1 })
    try {
      const cut = withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
        // The server ends this connection between two statements of the transaction, as a restart does.
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid])
        await waitFor(() => lines.some((l) => l.msg === 'PostgreSQL connection lost'), { timeoutMs: 5_000, what: 'the lost connection to be noticed' })
        await client.query('select 1')
      })
      await expect(cut).rejects.toThrow()
      expect((await pool.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
    } finally {
      await pool.end()
      await admin.end()
    }
  })
})
