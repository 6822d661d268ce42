import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { testInfra } from './infra.ts'

/** A schema private to one test file, dropped at the end. */
export interface TestSchema {
  name: string
  databaseUrl: string
  drop(): Promise<void>
}

/** Makes a unique schema name (`<prefix>_<12 hex>`), so parallel and repeated runs never collide. */
export function uniqueSchemaName(prefix: string): string {
  return `${prefix.replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(6).toString('hex')}`
}

/** Reserves a unique schema name in the test database; `drop()` removes it with everything in it. */
export function testSchema(prefix: string): TestSchema {
  const name = uniqueSchemaName(prefix)
  const { databaseUrl } = testInfra()
  return {
    name,
    databaseUrl,
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      try {
        await client.query(`drop schema if exists "${name}" cascade`)
      } finally {
        await client.end()
      }
    },
  }
}
