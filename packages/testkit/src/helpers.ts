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
