import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort, freePorts } from './helpers.ts'

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])

describe('free ports', () => {
  it('hands out distinct ports below the kernel ephemeral range, which a server can then bind', async () => {
    const ports = await freePorts(20)
    expect(new Set(ports).size).toBe(20)
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000)
      expect(port).toBeLessThan(ephemeralLow)
    }
    const port = await freePort()
    const srv = createServer()
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve))
    expect((srv.address() as AddressInfo).port).toBe(port)
    await new Promise<void>((resolve) => srv.close(() => resolve()))
  })

  it('never hands out a port that is in use', async () => {
    const held = await freePorts(50)
    const servers = await Promise.all(held.map((port) => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const srv = createServer()
      srv.once('error', reject).listen(port, '127.0.0.1', () => resolve(srv))
    })))
    try {
      const more = await freePorts(50)
      for (const port of more) expect(held).not.toContain(port)
    } finally {
      await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))))
    }
  })
})
