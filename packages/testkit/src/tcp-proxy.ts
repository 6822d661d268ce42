import { createConnection, createServer, type Server, type Socket } from 'node:net'

/** A TCP proxy in front of a real server, to inject network faults (the dependency "goes away" and comes back). */
export interface TcpProxy {
  port: number
  /** Refuses new connections and cuts the open ones, as if the server went down. */
  cut(): Promise<void>
  /** Accepts connections again on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** Starts a proxy on 127.0.0.1 (random port) forwarding to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let server: Server
  let listenPort = 0
  const open = () => new Promise<void>((resolve, reject) => {
    server = createServer((client) => {
      const upstream = createConnection({ host, port })
      sockets.add(client).add(upstream)
      const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream).pipe(client)
    })
    server.once('error', reject)
    server.listen(listenPort, '127.0.0.1', () => {
      listenPort = (server.address() as { port: number }).port
      resolve()
    })
  })
  const shut = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    sockets.clear()
    server.close(() => resolve())
  })
  await open()
  return { get port() { return listenPort }, cut: shut, restore: open, close: shut }
}
