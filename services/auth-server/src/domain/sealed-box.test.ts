import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { open, seal } from './sealed-box.ts'

describe('sealed box', () => {
  const key = randomBytes(32)

  it('round-trips and never repeats a ciphertext', () => {
    const a = seal(key, '{"d":"secret"}', 'kid-1')
    const b = seal(key, '{"d":"secret"}', 'kid-1')
    expect(a).not.toEqual(b)
    expect(open(key, a, 'kid-1')).toBe('{"d":"secret"}')
  })

  it('refuses another master key, other associated data and tampering', () => {
    const sealed = seal(key, 'private', 'kid-1')
    expect(() => open(randomBytes(32), sealed, 'kid-1')).toThrow()
    expect(() => open(key, sealed, 'kid-2')).toThrow()
    const parts = sealed.split('.')
    parts[2] = Buffer.from('x' + Buffer.from(parts[2]!, 'base64url').toString('latin1'), 'latin1').toString('base64url')
    expect(() => open(key, parts.join('.'), 'kid-1')).toThrow()
  })

  it('refuses keys that are not 256 bits', () => {
    expect(() => seal(randomBytes(16), 'x', 'a')).toThrow(/32 bytes/)
  })
})
