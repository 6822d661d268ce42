import { constants, createPublicKey, createPrivateKey, sign, verify, X509Certificate } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createDevCa,
  exportCa,
  generateEncryptionKey,
  importCa,
  issueClientCertificate,
  issueServerCertificate,
  issueSigningCertificate,
  derToPem,
  parseClientCertificate,
  pemToDer,
  splitPemBundle,
  TrustStore,
  verifyCertificateChain,
  x5tS256,
  type DevCa,
} from './index.ts'

const ORG_ID = '7b1f8b4e-2a8c-4a4b-9f5e-3c2d1e0f9a8b'
const SOFTWARE_ID = 'c0ffee00-1234-4abc-8def-0123456789ab'
const CNPJ = '12345678000195'

let ca: DevCa
let otherCa: DevCa

beforeAll(async () => {
  ;[ca, otherCa] = await Promise.all([createDevCa(), createDevCa()]) // same names, independent keys
})

function nodeFingerprintS256(pem: string): string {
  return Buffer.from(new X509Certificate(pem).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url')
}

describe('client (BRCAC) certificates', () => {
  it('parses back the org id, software id and CNPJ in the current form', async () => {
    const issued = await issueClientCertificate(ca, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'tpp.example.com.br' })
    const info = parseClientCertificate(issued.certificatePem)
    expect(info).toMatchObject({ orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'tpp.example.com.br', form: 'current' })
    // Standard DN order and string types of Padrão de Certificados 2.1 (RFC 4514 form).
    const orgIdHex = Buffer.from(`OFBBR-${ORG_ID}`).toString('hex').toUpperCase()
    expect(info.subjectDn).toBe(
      `CN=tpp.example.com.br,UID=${SOFTWARE_ID},2.5.4.97=#0C2A${orgIdHex},L=Sao Paulo,ST=SP,O=Ponte Dev Participant,C=BR,` +
        `2.5.4.5=#130E${Buffer.from(CNPJ).toString('hex').toUpperCase()},1.3.6.1.4.1.311.60.2.1.3=#13024252,` +
        `2.5.4.15=#0C14${Buffer.from('Private Organization').toString('hex').toUpperCase()}`,
    )
    const cert = issued.certificate
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']) // node's keyUsage is the EKU list
    expect(cert.subjectAltName).toBe('DNS:tpp.example.com.br')
    expect(cert.ca).toBe(false)
    expect(info.thumbprintS256).toBe(issued.x5tS256)
  })

  it('parses back the org id from OU in the legacy form', async () => {
    const issued = await issueClientCertificate(ca, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'legacy.example', form: 'legacy' })
    const info = parseClientCertificate(pemToDer(issued.certificatePem))
    expect(info).toMatchObject({ orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, form: 'legacy' })
    expect(info.subjectDn).toContain(`OU=${ORG_ID}`)
    expect(info.subjectDn).not.toContain('2.5.4.97')
  })

  it('rejects a certificate without the OFB ids', async () => {
    const server = await issueServerCertificate(ca, { hostnames: ['localhost'] })
    expect(() => parseClientCertificate(server.certificate)).toThrow(expect.objectContaining({ code: 'MISSING_ORG_ID' }))
    expect(() => parseClientCertificate('garbage')).toThrow(expect.objectContaining({ code: 'MALFORMED' }))
  })
})

describe('x5tS256', () => {
  it("equals node's fingerprint256 in base64url, for every input form", async () => {
    const issued = await issueServerCertificate(ca, { hostnames: ['a.example'] })
    const expected = nodeFingerprintS256(issued.certificatePem)
    const der = pemToDer(issued.certificatePem)
    expect(x5tS256(issued.certificatePem)).toBe(expected)
    expect(x5tS256(der)).toBe(expected)
    expect(x5tS256(new X509Certificate(der))).toBe(expected)
    expect(x5tS256(der.toString('base64'))).toBe(expected)
    expect(x5tS256(new Uint8Array(der).buffer)).toBe(expected)
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})

describe('chain validation', () => {
  it('accepts a certificate of the trusted CA, with its intermediate', async () => {
    const issued = await issueClientCertificate(ca, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'ok.example' })
    const result = verifyCertificateChain(issued.certificatePem, { trustAnchors: [ca.root.certificatePem], intermediates: [ca.intermediate.certificatePem] })
    expect(result).toMatchObject({ ok: true })
    expect(result.ok && result.chain.length).toBe(3)
    // The chain PEM (leaf + intermediate) as a peer would send it, split into the intermediates.
    expect(verifyCertificateChain(issued.certificate, { trustAnchors: [ca.root.certificatePem], intermediates: [issued.chainPem] }).ok).toBe(true)
  })

  it('needs the intermediate to reach the root', async () => {
    const issued = await issueServerCertificate(ca, { hostnames: ['x.example'] })
    expect(verifyCertificateChain(issued.certificatePem, { trustAnchors: [ca.root.certificatePem] })).toMatchObject({ ok: false, reason: 'UNTRUSTED_CA' })
  })

  it('rejects a certificate of an independent CA with the same names (UNTRUSTED_CA)', async () => {
    const foreign = await issueClientCertificate(otherCa, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'evil.example' })
    expect(foreign.certificate.issuer).toBe(ca.intermediate.certificate.subject)
    const result = verifyCertificateChain(foreign.certificatePem, {
      trustAnchors: [ca.root.certificatePem],
      intermediates: [ca.intermediate.certificatePem, otherCa.intermediate.certificatePem],
    })
    expect(result).toMatchObject({ ok: false, reason: 'UNTRUSTED_CA' })
    // ...while it verifies against its own root.
    expect(verifyCertificateChain(foreign.chainPem, { trustAnchors: [otherCa.root.certificatePem], intermediates: [foreign.chainPem] }).ok).toBe(true)
  })

  it('reports EXPIRED and NOT_YET_VALID at the given time', async () => {
    const issued = await issueClientCertificate(ca, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'time.example', validityDays: 30 })
    const opts = { trustAnchors: [ca.root.certificatePem], intermediates: [ca.intermediate.certificatePem] }
    expect(verifyCertificateChain(issued.certificatePem, { ...opts, now: new Date(Date.now() + 29 * 86_400_000) }).ok).toBe(true)
    const expired = verifyCertificateChain(issued.certificatePem, { ...opts, now: new Date(Date.now() + 31 * 86_400_000) })
    expect(expired).toMatchObject({ ok: false, reason: 'EXPIRED' })
    expect(!expired.ok && expired.detail).toContain('time.example')
    expect(verifyCertificateChain(issued.certificatePem, { ...opts, now: new Date(Date.now() - 86_400_000) })).toMatchObject({ ok: false, reason: 'NOT_YET_VALID' })
  })

  it('reports BAD_SIGNATURE for a tampered certificate', async () => {
    const issued = await issueServerCertificate(ca, { hostnames: ['t.example'] })
    const der = Buffer.from(issued.certificate.raw)
    der[der.length - 1]! ^= 0x01 // last byte of the signature value
    const result = verifyCertificateChain(derToPem(der), { trustAnchors: [ca.root.certificatePem], intermediates: [ca.intermediate.certificatePem] })
    expect(result).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' })
  })

  it('TrustStore loads several anchors from one bundle', async () => {
    const store = TrustStore.fromPem(otherCa.root.certificatePem + '\n' + ca.root.certificatePem)
    expect(store.size).toBe(2)
    store.add(ca.root.certificatePem)
    expect(store.size).toBe(2)
    expect(splitPemBundle(store.toPem())).toHaveLength(2)
    const issued = await issueClientCertificate(ca, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'store.example' })
    expect(store.verify(issued.certificatePem, { intermediates: [ca.chainPem] }).ok).toBe(true)
    expect(TrustStore.fromPem(otherCa.root.certificatePem).verify(issued.certificatePem, { intermediates: [ca.chainPem] })).toMatchObject({ reason: 'UNTRUSTED_CA' })
    expect(() => TrustStore.fromPem('no certs here')).toThrow()
  })
})

describe('server certificates', () => {
  it('carries the SANs and serverAuth', async () => {
    const issued = await issueServerCertificate(ca, { hostnames: ['localhost', 'api.ponte.local'], ips: ['127.0.0.1', '::1'] })
    const cert = issued.certificate
    expect(cert.subjectAltName).toBe('DNS:localhost, DNS:api.ponte.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
    expect(cert.checkHost('api.ponte.local')).toBe('api.ponte.local')
    expect(cert.checkIP('::1')).toBe('::1')
    expect(cert.checkHost('other.local')).toBeUndefined()
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    expect(cert.checkPrivateKey(createPrivateKey(issued.privateKeyPem))).toBe(true)
  })
})

describe('signing (BRSEAL) certificates and keys', () => {
  it('has the BRSEAL shape and a PS256 JWK that signs and verifies a JWS', async () => {
    const issued = await issueSigningCertificate(ca, { orgId: ORG_ID, cnpj: CNPJ, commonName: 'PONTE DEV PARTICIPANTE SA' })
    const cert = issued.certificate
    expect(cert.subject.split('\n')).toEqual([
      'C=BR',
      'O=ICP-Brasil',
      'OU=Ponte Dev Intermediate CA',
      `OU=${CNPJ}`,
      'OU=Presencial',
      `UID=${ORG_ID}`,
      'CN=PONTE DEV PARTICIPANTE SA',
    ])
    expect(cert.keyUsage).toBeUndefined() // no EKU, hence no clientAuth
    expect(issued.privateJwk).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig', kid: issued.kid })
    expect(issued.publicJwk).toMatchObject({ alg: 'PS256', use: 'sig', kid: issued.kid, 'x5t#S256': issued.x5tS256 })
    expect(issued.publicJwk).not.toHaveProperty('d')
    expect(issued.publicJwk.x5c?.[0]).toBe(cert.raw.toString('base64'))
    expect(x5tS256(issued.publicJwk.x5c![0]!)).toBe(issued.x5tS256)

    // Compact JWS, PS256 = RSASSA-PSS SHA-256 MGF1 salt 32, signed with the private JWK.
    const header = Buffer.from(JSON.stringify({ alg: 'PS256', kid: issued.kid, typ: 'JWT' })).toString('base64url')
    const payload = Buffer.from(JSON.stringify({ iss: ORG_ID, jti: 'x' })).toString('base64url')
    const input = Buffer.from(`${header}.${payload}`)
    const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
    const signature = sign('sha256', input, { key: createPrivateKey({ key: { ...issued.privateJwk }, format: 'jwk' }), ...pss })
    const publicFromJwk = createPublicKey({ key: { kty: 'RSA', n: issued.publicJwk.n, e: issued.publicJwk.e }, format: 'jwk' })
    expect(verify('sha256', input, { key: publicFromJwk, ...pss }, signature)).toBe(true)
    expect(verify('sha256', input, { key: cert.publicKey, ...pss }, signature)).toBe(true)
    const tampered = Buffer.from(`${header}.${Buffer.from('{"iss":"other"}').toString('base64url')}`)
    expect(verify('sha256', tampered, { key: publicFromJwk, ...pss }, signature)).toBe(false)
  })

  it('generates RSA-OAEP encryption JWKs', async () => {
    const key = await generateEncryptionKey()
    expect(key.publicJwk).toMatchObject({ kty: 'RSA', use: 'enc', alg: 'RSA-OAEP', kid: key.kid })
    expect(key.privateJwk).toMatchObject({ use: 'enc', alg: 'RSA-OAEP', kid: key.kid })
    expect(createPublicKey({ key: { kty: 'RSA', n: key.publicJwk.n, e: key.publicJwk.e }, format: 'jwk' }).asymmetricKeyDetails?.modulusLength).toBe(2048)
  })
})

describe('CA serialization', () => {
  it('round-trips through PEM and keeps issuing into the same chain', async () => {
    const pems = exportCa(ca)
    expect(pems.rootPrivateKeyPem).toContain('-----BEGIN PRIVATE KEY-----')
    const restored = await importCa(pems)
    expect(restored.root.certificate.raw.equals(ca.root.certificate.raw)).toBe(true)
    expect(restored.name).toBe('Ponte Dev')
    const issued = await issueServerCertificate(restored, { hostnames: ['r.example'] })
    expect(verifyCertificateChain(issued.certificatePem, { trustAnchors: [ca.root.certificatePem], intermediates: [ca.chainPem] }).ok).toBe(true)
    await expect(importCa({ ...pems, intermediatePrivateKeyPem: otherCa.intermediate.privateKeyPem })).rejects.toThrow(/does not match/)
  })

  it('has CA extensions on root and intermediate', () => {
    expect(ca.root.certificate.ca).toBe(true)
    expect(ca.intermediate.certificate.ca).toBe(true)
    expect(ca.intermediate.certificate.checkIssued(ca.root.certificate)).toBe(true)
    expect(ca.root.certificate.checkIssued(ca.root.certificate)).toBe(true)
  })
})
