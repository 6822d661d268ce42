import { generateKeyPairSync } from 'node:crypto'
import { testLogger } from '@ponte/testkit'
import { describe, expect, test } from 'vitest'
import { createParticipantKeys, type JwksLike } from './participant-keys.ts'

const jwk = (kid: string) => ({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid, use: 'sig' })

function setup(initial: JwksLike) {
  const clock = { now: 1_000_000 }
  const calls: Array<[string, string | undefined]> = []
  const set = { jwks: initial }
  const keys = createParticipantKeys({
    source: async (org, kid) => {
      calls.push([org, kid])
      return set.jwks
    },
    maxAgeMs: 60_000,
    cooldownMs: 30_000,
    logger: testLogger('participant-keys').logger,
    now: () => clock.now,
  })
  return { keys, calls, clock, set }
}

describe('participant keys', () => {
  test('a cached key is answered at once; the set is fetched once per organisation', async () => {
    const { keys, calls } = setup({ keys: [jwk('a')] })
    expect(keys.peek('org', 'a')).toBeUndefined()
    expect(await keys.find('org', 'a')).toBeDefined()
    expect(keys.peek('org', 'a')).toBeDefined()
    await keys.find('org', 'a')
    expect(calls).toEqual([['org', undefined]])
  })

  test('an unknown kid refetches (asking the directory for that kid), at most once per cooldown', async () => {
    const { keys, calls, clock, set } = setup({ keys: [jwk('a')] })
    await keys.find('org', 'a')
    clock.now += 31_000
    set.jwks = { keys: [jwk('a'), jwk('b')] }
    expect(await keys.find('org', 'b')).toBeDefined()
    expect(calls.at(-1)).toEqual(['org', 'b'])
    // A stream of unknown kids right after: no further fetch.
    for (const kid of ['x', 'y', 'z']) expect(await keys.find('org', kid)).toBeUndefined()
    expect(calls).toHaveLength(2)
  })

  test('encryption keys and non-RSA keys are never used for signatures', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
    const { keys } = setup({ keys: [{ ...jwk('enc'), use: 'enc' }, { ...ec, kid: 'ec' }] })
    expect(await keys.find('org', 'enc')).toBeUndefined()
    expect(await keys.find('org', 'ec')).toBeUndefined()
  })

  test('a stale set is fetched again; a failed fetch keeps the last set', async () => {
    const { keys, calls, clock, set } = setup({ keys: [jwk('a')] })
    await keys.find('org', 'a')
    clock.now += 61_000
    expect(keys.peek('org', 'a')).toBeUndefined()
    set.jwks = undefined as unknown as JwksLike
    expect(await keys.find('org', 'a')).toBeUndefined()
    expect(calls.length).toBeGreaterThanOrEqual(2)
  })
})
