import { DomainError } from '@ponte/platform'
import { describe, expect, test } from 'vitest'
import { failClosed } from './redis-unavailable.ts'

describe('a Redis-backed store that fails closed', () => {
  const store = failClosed({
    async ok() { return 7 },
    async down(): Promise<number> { throw new Error('Connection is closed.') },
    async refused(): Promise<number> { throw new DomainError('UNAUTHORIZED', 'sign in first') },
  }, 'the session store')

  test('answers what the store answers', async () => {
    expect(await store.ok()).toBe(7)
  })

  test('turns a Redis failure into 503 UPSTREAM_UNAVAILABLE, and lets its own refusals through', async () => {
    await expect(store.down()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503 })
    await expect(store.refused()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })
})
