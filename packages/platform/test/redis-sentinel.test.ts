import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedis, redisTarget } from '@ponte/platform'
import { canConnect, freePorts, testLogger, waitFor } from '@ponte/testkit'

// Redis through Sentinel on private ports (a primary, a replica, one sentinel; Debian's redis-server, which is also
// redis-sentinel): a script touching hash-tagged keys (as the limiter's) keeps running under load while the primary is
// killed; the client finds the promoted replica by itself, and what was replicated before the failure is still there.
const dir = mkdtempSync(join(tmpdir(), 'ponte-sentinel-'))
const procs: ChildProcess[] = []
const start = (args: string[]) => {
  const p = spawn('redis-server', args, { stdio: 'ignore' })
  procs.push(p)
  return p
}
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

const SCRIPT = `local n = redis.call('INCR', KEYS[1]); redis.call('HINCRBY', KEYS[2], 'calls', 1); return n`

describe('Redis Sentinel failover', () => {
  it('parses redis-sentinel:// URLs', () => {
    expect(redisTarget('redis-sentinel://:pw@s1:26379/ponte/2?sentinels=s2:26380,s3:26381')).toMatchObject({
      name: 'ponte', db: 2, password: 'pw', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }, { host: 's3', port: 26381 }],
    })
    expect(redisTarget('redis://127.0.0.1:6380/3')).toMatchObject({ host: '127.0.0.1', port: 6380, db: 3 })
    expect(() => redisTarget('redis-sentinel://s1:26379')).toThrow(/names the primary/)
  })

  it('a script on hash-tagged keys survives the primary being killed under load', async () => {
    const [primaryPort, replicaPort, sentinelPort] = await freePorts(3) as [number, number, number]
    const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir]
    const primary = start(['--port', String(primaryPort), ...common])
    start(['--port', String(replicaPort), ...common, '--replicaof', '127.0.0.1', String(primaryPort)])
    writeFileSync(join(dir, 'sentinel.conf'), [
      `port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ponte 127.0.0.1 ${primaryPort} 1`,
      'sentinel down-after-milliseconds ponte 1000', 'sentinel failover-timeout ponte 10000', 'sentinel parallel-syncs ponte 1', '',
    ].join('\n'))
    start([join(dir, 'sentinel.conf'), '--sentinel'])
    await waitFor(async () => (await canConnect('127.0.0.1', sentinelPort)) && (await canConnect('127.0.0.1', replicaPort)) || undefined, { timeoutMs: 10_000, what: 'redis servers' })

    const { logger } = testLogger('sentinel-test')
    // The limiter's settings: no retries, a short command timeout, fail fast while no primary answers.
    const redis = createRedis(`redis-sentinel://127.0.0.1:${sentinelPort}/ponte`, logger, { maxRetriesPerRequest: 0, commandTimeoutMs: 500 })
    redis.defineCommand('count', { numberOfKeys: 2, lua: SCRIPT })
    const call = () => (redis as unknown as { count(a: string, b: string): Promise<number> }).count('t:{org-1}:tps', 't:{org-1}:usage')
    try {
      await waitFor(async () => (await call().catch(() => 0)) > 0 || undefined, { timeoutMs: 10_000, what: 'the primary through the sentinel' })
      // The replica is in sync: what is acknowledged now survives the failover.
      // WAIT's own timeout stays under the client's 500 ms command timeout.
      const replicated = async () => String(await redis.call('WAIT', '1', '400').catch(() => '0')) === '1' || undefined
      await waitFor(replicated, { timeoutMs: 10_000, what: 'the replica to attach' })

      // The sentinel learns the replica from the primary (every few seconds): no failover is possible before that.
      const sentinel = createRedis(`redis://127.0.0.1:${sentinelPort}`, logger)
      try {
        await waitFor(async () => ((await sentinel.call('SENTINEL', 'REPLICAS', 'ponte')) as unknown[]).length > 0 || undefined, { timeoutMs: 20_000, intervalMs: 200, what: 'the sentinel to know the replica' })
      } finally { sentinel.disconnect() }

      let stop = false
      const outcomes = { ok: 0, failed: 0 }
      const worker = async () => {
        while (!stop) {
          try { await call(); outcomes.ok++ } catch { outcomes.failed++; await new Promise((r) => setTimeout(r, 20)) }
        }
      }
      const load = Array.from({ length: 8 }, worker)
      await waitFor(() => outcomes.ok >= 200 || undefined, { timeoutMs: 10_000, what: 'load before the failure' })
      await waitFor(replicated, { timeoutMs: 10_000, what: 'the replica to acknowledge the writes so far' })
      const before = Number(await redis.get('t:{org-1}:tps'))
      primary.kill('SIGKILL')

      // The sentinel promotes the replica; the client reconnects to it and the script runs again.
      const okAtKill = outcomes.ok
      await waitFor(async () => {
        const role = await redis.call('ROLE').catch(() => undefined) as [string] | undefined
        return role?.[0] === 'master' && outcomes.ok > okAtKill + 200 ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 100, what: 'the promoted replica serving the load' })
      stop = true
      await Promise.all(load)
      expect(Number((await redis.call('CONFIG', 'GET', 'port') as string[])[1])).toBe(replicaPort)
      expect(Number(await redis.get('t:{org-1}:tps'))).toBeGreaterThan(before)
      expect(Number(await redis.hget('t:{org-1}:usage', 'calls'))).toBeGreaterThan(before)
    } finally {
      redis.disconnect()
    }
  }, 90_000)
})
