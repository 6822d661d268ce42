import { generateKeyPair, type CryptoKey as JoseKey } from 'jose'
import * as oidc from 'openid-client'
import { createDevCa, type DevCa } from '@ponte/pki'
import { createTestTpp, listen, testLogger, testSchema, type TestTpp, type testServiceAuth } from '@ponte/testkit'
import { connectorsStandIn, consentStandIn, directoryStandIn, type DirectoryState } from './stand-ins.ts'
import { signSsa, startAuthServer, startKeystore, type AuthServerHarness } from './harness.ts'

/**
 * An auth-server (stand-ins for directory, consent and connectors) with one TPP client registered by DCR, trusting the
 * service tokens of `auth`. For tests of the client administration routes, here and from the admin console's tests.
 */
export async function startWithRegisteredClient(auth: ReturnType<typeof testServiceAuth>, prefix: string, options: { clientTopic?: string } = {}) {
  const schema = testSchema(prefix)
  const { logger } = testLogger(prefix)
  const ca: DevCa = await createDevCa()
  const ssaKey = await generateKeyPair('PS256')
  const directoryState: DirectoryState = { ssaKey: ssaKey.publicKey as unknown as JoseKey, organisations: new Map() }
  const keystore = await startKeystore(ca)
  const tpp: TestTpp = await createTestTpp(ca)
  directoryState.organisations.set(tpp.orgId, { name: 'Org', cnpj: tpp.cnpj, status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] })
  const standIns = [
    directoryStandIn(logger, auth.verifier('directory'), ca, directoryState),
    consentStandIn(logger, auth.verifier('consent'), { consents: new Map() }),
    connectorsStandIn(logger, auth.verifier('connectors'), { customers: new Map() }),
  ]
  const [directoryUrl, consentUrl, connectorsUrl] = await Promise.all(standIns.map((s) => listen(s)))
  const h: AuthServerHarness = await startAuthServer({
    ca, schema, logger, issuer: auth.issuer('auth-server'), verifier: auth.verifier('auth-server'), jwksOrigins: [keystore.origin],
    directoryUrl: directoryUrl!, consentUrl: consentUrl!, connectorsUrl: connectorsUrl!, ...(options.clientTopic ? { clientTopic: options.clientTopic } : {}),
  })
  const ssa = await signSsa(ssaKey.privateKey as unknown as JoseKey, tpp, keystore)
  const res = await tpp.fetch(`${h.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ software_statement: ssa, redirect_uris: ['https://tpp.example.com/cb'] }) })
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`)
  const clientId = ((await res.json()) as { client_id: string }).client_id
  return {
    h, ca, tpp, clientId, logger,
    /** A client_credentials token of the registered client (the grant's error is thrown, e.g. `invalid_client`). */
    async token(): Promise<string> {
      return (await oidc.clientCredentialsGrant(await tpp.oidc(h.issuer, clientId), { scope: 'consents' })).access_token
    },
    async close() {
      await h.close()
      for (const s of standIns) await s.close()
      await tpp.close()
      keystore.server.close()
      await schema.drop()
    },
  }
}
