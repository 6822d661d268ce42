import { createConnection, createServer, type Socket } from 'node:net'

/** A TCP load balancer in front of several instances of one service (TLS passes through untouched). */
export interface TcpBalancer {
  port: number
  /** Connections handed to each backend so far, by backend port. */
  connections: Map<number, number>
  /**
   * Takes a backend out of rotation (new connections only; open ones go on), or back in, as a load balancer does when
   * the backend's readiness check fails or passes again.
   */
  setInRotation(backend: number, inRotation: boolean): void
  close(): Promise<void>
}

/**
 * Listens on 127.0.0.1:`port` (0: a free one) and hands each new connection to the next backend in turn
 * (round-robin, as a layer-4 load balancer does); a backend that refuses the connection is skipped for that one.
 */
export async function startTcpBalancer(backends: number[], port = 0): Promise<TcpBalancer> {
  const sockets = new Set<Socket>()
  const connections = new Map(backends.map((b) => [b, 0]))
  const out = new Set<number>()
  let next = 0
  const server = createServer((client) => {
    sockets.add(client)
    client.pause()
    const attempt = (tries: number) => {
      const live = out.size ? backends.filter((b) => !out.has(b)) : backends
      if (!live.length) { client.destroy(); sockets.delete(client); return }
      const backend = live[next++ % live.length]!
      const upstream = createConnection({ host: '127.0.0.1', port: backend })
      upstream.once('connect', () => {
        connections.set(backend, (connections.get(backend) ?? 0) + 1)
        sockets.add(upstream)
        const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
        client.on('error', drop).on('close', drop)
        upstream.on('error', drop).on('close', drop)
        client.pipe(upstream).pipe(client)
        client.resume()
      })
      upstream.once('error', () => {
        upstream.destroy()
        if (tries + 1 < live.length) attempt(tries + 1)
        else { client.destroy(); sockets.delete(client) }
      })
    }
    attempt(0)
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  return {
    port: (server.address() as { port: number }).port,
    connections,
    setInRotation: (backend, inRotation) => { if (inRotation) out.delete(backend); else out.add(backend) },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      sockets.clear()
      server.close(() => resolve())
    }),
  }
}
