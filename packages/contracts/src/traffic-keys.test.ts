import { describe, expect, it } from 'vitest'
import { minuteBucket, monthBucket, trafficKeys } from './traffic.ts'

/** The part of a key Redis Cluster hashes: the first `{…}` with something inside, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{')
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key
}

describe('traffic-limit keys', () => {
  it('the four keys of one limits-script call share one hash tag (one Redis Cluster slot), at any instant', () => {
    for (const ms of [Date.UTC(2026, 0, 31, 23, 59, 59, 999), Date.UTC(2026, 1, 1), Date.now()]) {
      const keys = [trafficKeys.tps(Math.floor(ms / 1000)), trafficKeys.tpm(minuteBucket(ms)), trafficKeys.monthly(monthBucket(ms)), trafficKeys.usage(monthBucket(ms))]
      expect(new Set(keys).size).toBe(4)
      expect(new Set(keys.map(hashTag))).toEqual(new Set(['tl']))
    }
  })
})
