import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError, commonEnvShape, envBoolean, envList, envPort, parseEnv } from './config.ts'

const Env = z.object({
  ...commonEnvShape,
  PORT: envPort(3001),
  FEATURE: envBoolean(false),
  HOSTS: envList(['a']),
})

describe('parseEnv', () => {
  it('applies defaults and freezes the result', () => {
    const env = parseEnv(Env, {})
    expect(env.PORT).toBe(3001)
    expect(env.FEATURE).toBe(false)
    expect(env.HOSTS).toEqual(['a'])
    expect(env.KAFKA_BROKERS).toEqual(['127.0.0.1:9092'])
    expect(Object.isFrozen(env)).toBe(true)
    expect(Object.isFrozen(env.HOSTS)).toBe(true)
    expect(() => { (env as { PORT: number }).PORT = 1 }).toThrow(TypeError)
  })

  it('reports every bad key at once', () => {
    let error: unknown
    try {
      parseEnv(Env, { PORT: 'eighty', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud', FEATURE: 'maybe' })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const keys = (error as ConfigError).issues.map((i) => i.key).sort()
    expect(keys).toEqual(['DATABASE_URL', 'FEATURE', 'LOG_LEVEL', 'PORT'])
    expect((error as Error).message).toContain('PORT')
    expect((error as Error).message).toContain('DATABASE_URL')
  })

  it('treats empty strings as unset', () => {
    expect(parseEnv(Env, { PORT: '' }).PORT).toBe(3001)
  })

  it('parses lists and booleans', () => {
    const env = parseEnv(Env, { HOSTS: 'x, y,,z', FEATURE: 'yes', KAFKA_BROKERS: 'h1:1,h2:2' })
    expect(env.HOSTS).toEqual(['x', 'y', 'z'])
    expect(env.FEATURE).toBe(true)
    expect(env.KAFKA_BROKERS).toEqual(['h1:1', 'h2:2'])
  })
})
