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

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close), for a server whose URL must be known before it starts. */
export async function freePort(): Promise<number> {
  const srv = createNetServer()
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

/** Distinct free ports (a port handed out twice in a row by the kernel is asked again). */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>()
  while (out.size < n) out.add(await freePort())
  return [...out]
}
