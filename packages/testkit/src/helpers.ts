import { readFileSync } from 'node:fs'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import {
  createLogger,
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  generateServiceKeyPair,
  parsePublicKeys,
  type Logger,
  type PonteServer,
  type ServiceKeyPair,
} from '@ponte/platform'

/** A logger for tests: silent unless `TEST_LOG` is set; `lines` holds what was logged (parsed JSON). */
export function testLogger(service = 'test'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const echo = Boolean(process.env.TEST_LOG)
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue
        lines.push(JSON.parse(line) as Record<string, unknown>)
        if (echo) process.stderr.write(`${line}\n`)
      }
      cb()
    },
  })
  return { logger: createLogger({ service, level: 'debug', destination }), lines }
}

/** Listens on 127.0.0.1 with a random port and returns the base URL. */
export async function listen(app: PonteServer): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 })
}

/** Service-token material for one test run: a fresh key pair, and issuers/verifiers bound to it. */
export function testServiceAuth(pair: ServiceKeyPair = generateServiceKeyPair()) {
  return {
    pair,
    env: { SERVICE_TOKEN_PRIVATE_KEY: pair.privateKeyPem, SERVICE_TOKEN_PUBLIC_KEYS: pair.publicKeyPem },
    issuer: (service: string) => createServiceTokenIssuer(service, pair.privateKeyPem),
    verifier: (audience: string) => createServiceTokenVerifier(audience, parsePublicKeys(pair.publicKeyPem)),
  }
}

/**
 * The first port of the kernel's ephemeral range (`ip_local_port_range`), from which it picks the local ports of
 * outgoing connections and of `listen(0)`.
 */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 1024 ? low : 32_768
  } catch {
    return 32_768
  }
}
const PORTS_FROM = 10_000
const PORTS_TO = ephemeralStart() - 1

/** Whether 127.0.0.1:`port` can be listened on now; resolves to the port or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  const srv = createNetServer()
  return new Promise((resolve) => {
    srv.once('error', () => resolve(undefined))
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as AddressInfo
      srv.close(() => resolve(bound))
    })
  })
}

/**
 * A free TCP port on 127.0.0.1, for a server whose URL must be known before it starts. It is taken below the kernel's
 * ephemeral range: a port from `listen(0)` is free now, but the kernel may give it to an outgoing connection of any
 * process before the server binds it (a stack of many services binds its ports over tens of seconds), and ports below
 * that range are never handed out that way. Falls back to `listen(0)` when no port there is free.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; PORTS_TO > PORTS_FROM && attempt < 50; attempt++) {
    const port = await tryListen(PORTS_FROM + Math.floor(Math.random() * (PORTS_TO - PORTS_FROM + 1)))
    if (port !== undefined) return port
  }
  const port = await tryListen(0)
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1')
  return port
}

/** Distinct free ports (a port drawn twice is drawn again). */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>()
  while (out.size < n) out.add(await freePort())
  return [...out]
}
