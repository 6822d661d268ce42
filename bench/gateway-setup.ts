/**
 * The setup the gateway benchmark cases share (bench/gateway-servers.ts reads it from a folder): the dev PKI's server
 * certificate, a TPP client certificate, an access token bound to it and to an authorised consent, service-token keys,
 * and what the upstream stand-in answers for the consent and the organisation.
 */
import { constants, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateServiceKeyPair } from '@ponte/platform'
import { issueClientCertificate, loadOrCreateDevPki } from '@ponte/pki'
import { repoRoot } from '@ponte/testkit'

/** A prepared folder for bench/gateway-servers.ts and how to call the full protected path through it. */
export interface GatewayBenchSetup {
  dir: string
  /** The full protected path: `GET /accounts/{accountId}` of the consented account. */
  path: string
  headers: Record<string, string>
  /** The TPP's mTLS options (PEM strings). */
  tls: { cert: string; key: string; ca: string; servername: string }
  /** Records the upstream stand-in's port once it runs (the gateways read it at start). */
  setUpstreamPort(port: number): void
}

export async function prepareGatewayBench(prefix: string): Promise<GatewayBenchSetup> {
  const pki = await loadOrCreateDevPki(`${repoRoot}.pki`)
  const dir = mkdtempSync(join(tmpdir(), `ponte-${prefix}-`))
  const orgId = randomUUID()
  const client = await issueClientCertificate(pki.ca, { orgId, softwareStatementId: randomUUID(), cnpj: '11222333000181', commonName: 'bench.tpp.local' })
  const caPem = readFileSync(pki.files.caBundle, 'utf8')
  writeFileSync(`${dir}/ca.pem`, caPem)
  writeFileSync(`${dir}/server.chain.pem`, readFileSync(pki.files.serverChain))
  writeFileSync(`${dir}/server.key.pem`, readFileSync(pki.files.serverPrivateKey))
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'PS256', use: 'sig' }] }))
  const consentId = `urn:ponte:${randomUUID()}`
  const now = Math.floor(Date.now() / 1000)
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${b64({ alg: 'PS256', kid: 'bench', typ: 'at+jwt' })}.${b64({ iss: 'https://auth.bench', aud: 'https://gateway.bench', sub: 'bench-user', iat: now, exp: now + 900, client_id: 'bench-client', scope: `openid accounts consent:${consentId}`, consent_id: consentId, cnf: { 'x5t#S256': client.x5tS256 } })}`
  const token = `${input}.${sign('sha256', Buffer.from(input), { key: keys.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url')}`
  const service = generateServiceKeyPair()
  const setup: Record<string, unknown> = {
    orgId,
    servicePrivateKeyPem: service.privateKeyPem,
    servicePublicKeyPem: service.publicKeyPem,
    consent: { consentId, status: 'AUTHORISED', clientId: 'bench-client', permissions: ['ACCOUNTS_READ', 'RESOURCES_READ'], resources: [{ type: 'ACCOUNT', resourceId: 'acc-1' }], customer: { cpf: '76109277673' } },
    organisation: { organisationId: orgId, name: 'Bench TPP', cnpj: '11222333000181', status: 'Active', roles: [{ role: 'DADOS', status: 'Active' }] },
  }
  writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))
  return {
    dir,
    path: '/open-banking/accounts/v2/accounts/acc-1',
    headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() },
    tls: { cert: client.chainPem, key: client.privateKeyPem, ca: caPem, servername: 'localhost' },
    setUpstreamPort(port) {
      setup.upstreamPort = port
      writeFileSync(`${dir}/setup.json`, JSON.stringify(setup))
    },
  }
}
