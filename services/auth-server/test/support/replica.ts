// One auth-server replica in its own process, for tests that need two side by side: built by the harness on a real
// TLS listener, against the schema and Redis it is given (shared with the other replica), trusting the dev PKI.
// `node test/support/replica.ts '<json options>'` prints `{"issuer": …}` once listening; SIGTERM stops it.
import { loadOrCreateDevPki } from '@ponte/pki'
import { testLogger, testServiceAuth } from '@ponte/testkit'
import { startAuthServer } from './harness.ts'

const o = JSON.parse(process.argv[2] ?? '{}') as { pkiDir: string; schema: string; databaseUrl: string; masterKey: string }
const pki = await loadOrCreateDevPki(o.pkiDir)
const auth = testServiceAuth()
const h = await startAuthServer({
  ca: pki.ca,
  schema: { name: o.schema, databaseUrl: o.databaseUrl, drop: async () => undefined },
  logger: testLogger('auth-replica').logger,
  issuer: auth.issuer('auth-server'),
  verifier: auth.verifier('auth-server'),
  jwksOrigins: [],
  directoryUrl: 'http://127.0.0.1:9', consentUrl: 'http://127.0.0.1:9', connectorsUrl: 'http://127.0.0.1:9',
  masterKey: Buffer.from(o.masterKey, 'base64'),
})
process.stdout.write(`${JSON.stringify({ issuer: h.issuer })}\n`)
process.once('SIGTERM', () => { void h.close().finally(() => process.exit(0)) })
