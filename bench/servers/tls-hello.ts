/**
 * A "hello" route over TLS with a REQUIRED client certificate and keep-alive, in two shapes:
 *   bare      plain fastify with `requestCert` + `rejectUnauthorized` (the ceiling on this machine);
 *   platform  the same route through the platform's server factory (hooks, interaction id, error mapper, logger)
 *             with the FAPI-BR listener options, the certificate checked in a hook.
 * Prints `{"port":N}` when listening. Usage: node bench/servers/tls-hello.ts bare|platform <pkiDir>
 */
import { readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import Fastify from 'fastify'
import { createLogger, createServer, DomainError, fapiTlsOptions } from '@ponte/platform'

const [mode = 'bare', dir = '.pki'] = process.argv.slice(2)
const cert = readFileSync(`${dir}/server.chain.pem`)
const key = readFileSync(`${dir}/server.key.pem`)
const ca = readFileSync(`${dir}/ca-bundle.pem`)

const body = { data: { message: 'hello' } }
let port: number
if (mode === 'bare') {
  const app = Fastify({ https: { cert, key, ca, requestCert: true, rejectUnauthorized: true } })
  app.get('/hello', async () => body)
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
} else {
  // Logs go nowhere (the cost of serialising is kept; the cost of the terminal is not).
  const sink = new Writable({ write(_c, _e, cb) { cb() } })
  const app = createServer({ logger: createLogger({ service: 'bench', destination: sink }), https: fapiTlsOptions({ cert, key, clientCa: ca }) })
  app.addHook('onRequest', async (req) => {
    const socket = req.raw.socket as TLSSocket
    if (!socket.authorized) throw new DomainError('UNAUTHORIZED', 'client certificate required')
  })
  app.get('/hello', async () => body)
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
}
console.log(JSON.stringify({ port }))
process.on('SIGTERM', () => process.exit(0))
