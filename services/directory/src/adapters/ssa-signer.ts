import { createPrivateKey } from 'node:crypto'
import type { JWK } from 'jose'
import { issueSigningCertificate, type DevCa } from '@ponte/pki'
import type { SsaSigner } from '../domain/sandbox.ts'
import type { SandboxStore } from '../domain/sandbox-store.ts'
import type { SecretBox } from './secret-box.ts'

const CONTEXT = 'directory-sandbox/ssa-signer'

/**
 * The sandbox's SSA signing key: read from the database and unsealed with the master key, or created on first start
 * (RSA 2048, PS256, with a certificate from the dev CA so its JWK carries `x5c`). Replicas starting together agree on
 * one key (creation is serialised in the database).
 */
export async function loadOrCreateSsaSigner(deps: { store: SandboxStore; box: SecretBox; ca: DevCa; bankCnpj: string }): Promise<SsaSigner> {
  let stored = await deps.store.activeSigner()
  if (!stored) {
    const cert = await issueSigningCertificate(deps.ca, { orgId: 'sandbox-directory', cnpj: deps.bankCnpj, commonName: 'Ponte Sandbox Directory SSA issuer', validityDays: 3650 })
    const publicJwk: JWK = { ...cert.publicJwk, x5c: [...(cert.publicJwk.x5c ?? [])] }
    await deps.store.insertSignerIfNone({ kid: cert.kid, alg: 'PS256', privateKeySealed: deps.box.seal(cert.privateKeyPem, CONTEXT), publicJwk })
    stored = await deps.store.activeSigner()
    if (!stored) throw new Error('sandbox SSA signer could not be created')
  }
  let pem: string
  try {
    pem = deps.box.open(stored.privateKeySealed, CONTEXT)
  } catch (err) {
    throw new Error('the sandbox SSA signer key cannot be unsealed: DIRECTORY_MASTER_KEY differs from the key it was sealed with', { cause: err })
  }
  return { kid: stored.kid, privateKey: createPrivateKey(pem), publicJwk: stored.publicJwk }
}
