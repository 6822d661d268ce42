import { describe, expect, test } from 'vitest'
import { pack, unpack } from './worker-publisher.ts'

describe('worker publisher batch packing', () => {
  test('string messages go as one string and come back identical, headers included', () => {
    const headers = { 'event-type': 'api.call' }
    const messages = [
      { key: 'k1', value: JSON.stringify({ a: 'line\nbreak', b: '\u0000' }), headers },
      { key: 'k2', value: '{}', headers },
      { key: 'k3', value: '{"x":1}' },
    ]
    const packed = pack(messages)
    expect(typeof packed).toBe('string')
    expect(unpack(packed!)).toEqual(messages)
    expect(unpack(pack([])!)).toEqual([])
  })

  test('a message that cannot be packed unambiguously makes the batch go as objects', () => {
    expect(pack([{ key: 'k', value: 'raw\u0001control' }])).toBeUndefined()
    expect(pack([{ key: 'k', value: Buffer.from('x') }])).toBeUndefined()
    expect(pack([{ key: 'k', value: 'v', partition: 1 }])).toBeUndefined()
  })
})
