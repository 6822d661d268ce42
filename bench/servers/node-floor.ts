/**
 * The floor of a Node.js edge on this machine: what any gateway written in Node pays before it checks anything.
 * A raw `node:https` server with the FAPI-BR listener options (client certificate required and chained), one
 * auto-pipelined Redis script per request (a single INCR, the round trip the traffic limits need), one `undici`
 * keep-alive hop to the upstream, and the upstream's body written back. No token, consent, organisation, limit
 * logic, logging or events: it is the reference the gateway's own cost is read against, not a gateway.
 * Prints `{"port":N}` when listening. Usage: node bench/servers/node-floor.ts <dir> <upstreamPort>
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { createLogger, createRedis, fapiTlsOptions } from '@ponte/platform'
import { Pool } from 'undici'

const [dir = '.', upstreamPort = '0'] = process.argv.slice(2)
const logger = createLogger({ service: 'bench-floor', level: 'warn' })
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/15', logger, { maxRetriesPerRequest: 0, commandTimeoutMs: 1_000 }) as ReturnType<typeof createRedis> & { floorIncr(key: string): Promise<number> }
redis.defineCommand('floorIncr', { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" })
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 32, keepAliveTimeout: 30_000, pipelining: 1 })

const server = createServer(fapiTlsOptions({ cert: readFileSync(`${dir}/server.chain.pem`), key: readFileSync(`${dir}/server.key.pem`), clientCa: readFileSync(`${dir}/ca.pem`) }), (req, res) => {
  if (!(req.socket as TLSSocket).authorized) {
    res.writeHead(401).end()
    return
  }
  redis.floorIncr('bench:floor').then(() => pool.request({ method: 'GET', path: req.url ?? '/' })).then(async (up) => {
    const body = Buffer.from(await up.body.arrayBuffer())
    res.writeHead(up.statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length }).end(body)
  }, () => {
    res.writeHead(502).end()
  })
})
server.keepAliveTimeout = 60_000
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
console.log(JSON.stringify({ port: (server.address() as { port: number }).port }))
process.on('SIGTERM', () => process.exit(0))
