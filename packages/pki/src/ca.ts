import { createPrivateKey, randomBytes, X509Certificate, type KeyObject, type webcrypto } from 'node:crypto'
import { generateRsaKeyPair, type RsaKeyPair } from './keys.ts'
import { derToPem } from './pem.ts'
import { x509 } from './x509.ts'

/** A certificate authority: its certificate and the private key that signs what it issues. */
export interface CertificateAuthority {
  readonly certificate: X509Certificate
  readonly certificatePem: string
  readonly privateKey: KeyObject
  /** PKCS#8 PEM of {@link CertificateAuthority.privateKey}. */
  readonly privateKeyPem: string
  /** WebCrypto form of the private key (RSASSA-PKCS1-v1_5 / SHA-256), used to sign certificates and CRLs. */
  readonly signingKey: webcrypto.CryptoKey
}

/** A development PKI: a self-signed root CA and an intermediate CA that issues every end-entity certificate. */
export interface DevCa {
  readonly name: string
  readonly root: CertificateAuthority
  readonly intermediate: CertificateAuthority
  /** Intermediate then root certificate, PEM: the CA bundle clients and servers trust or send. */
  readonly chainPem: string
}

/** Options of {@link createDevCa}. */
export interface DevCaOptions {
  /** Prefix of the CA common names. Default `"Ponte Dev"`. */
  readonly name?: string
  /** Issuance time (the certificates are valid from one hour before). Default: the current time. */
  readonly now?: Date
  /** Root validity in days (the intermediate gets half). Default 3650. */
  readonly validityDays?: number
}

/** PEM serialization of a {@link DevCa}; private keys are unencrypted PKCS#8. */
export interface ExportedCa {
  readonly rootCertificatePem: string
  readonly rootPrivateKeyPem: string
  readonly intermediateCertificatePem: string
  readonly intermediatePrivateKeyPem: string
}

const DAY_MS = 86_400_000
const CA_SIGNING_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const

function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x40 // positive, minimal encoding
  return bytes.toString('hex')
}

function spki(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }))
}

async function toSigningKey(privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
  return privateKey.toCryptoKey(CA_SIGNING_ALGORITHM, false, ['sign'])
}

/** Internal: parameters of {@link signCertificate}. */
export interface SignCertificateParams {
  /** The issuing CA; omitted for a self-signed certificate (then `selfSigningKey` is required). */
  readonly issuer?: CertificateAuthority
  readonly selfSigningKey?: webcrypto.CryptoKey
  readonly subject: x509.Name
  readonly publicKey: KeyObject
  readonly notBefore: Date
  readonly notAfter: Date
  readonly extensions: readonly x509.Extension[]
}

/**
 * Internal: signs a certificate (sha256WithRSAEncryption), adding SKI and AKI. The validity end is capped at
 * the issuer's.
 */
export async function signCertificate(params: SignCertificateParams): Promise<{ certificate: X509Certificate; certificatePem: string }> {
  const subjectSpki = spki(params.publicKey)
  const issuerCert = params.issuer ? new x509.X509Certificate(params.issuer.certificate.raw) : undefined
  const signingKey = params.issuer?.signingKey ?? params.selfSigningKey
  if (!signingKey) throw new Error('signCertificate: no signing key')
  const issuerSpki = params.issuer ? spki(params.issuer.certificate.publicKey) : subjectSpki
  const notAfter =
    params.issuer && params.issuer.certificate.validToDate < params.notAfter ? params.issuer.certificate.validToDate : params.notAfter
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: params.subject,
    issuer: issuerCert ? issuerCert.subjectName : params.subject,
    notBefore: params.notBefore,
    notAfter,
    publicKey: subjectSpki,
    signingKey,
    signingAlgorithm: CA_SIGNING_ALGORITHM,
    extensions: [
      ...params.extensions,
      await x509.SubjectKeyIdentifierExtension.create(subjectSpki),
      await x509.AuthorityKeyIdentifierExtension.create(issuerSpki),
    ],
  })
  const der = new Uint8Array(cert.rawData)
  return { certificate: new X509Certificate(der), certificatePem: derToPem(der) }
}

async function makeCa(
  keys: RsaKeyPair,
  subject: x509.Name,
  issuer: CertificateAuthority | undefined,
  pathLength: number,
  notBefore: Date,
  notAfter: Date,
): Promise<CertificateAuthority> {
  const signingKey = await toSigningKey(keys.privateKey)
  const { certificate, certificatePem } = await signCertificate({
    ...(issuer ? { issuer } : { selfSigningKey: signingKey }),
    subject,
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  })
  return {
    certificate,
    certificatePem,
    privateKey: keys.privateKey,
    privateKeyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    signingKey,
  }
}

function caName(cn: string): x509.Name {
  return new x509.Name([
    { '2.5.4.6': [{ printableString: 'BR' }] },
    { '2.5.4.10': [{ utf8String: 'Ponte Dev PKI' }] },
    { '2.5.4.3': [{ utf8String: cn }] },
  ])
}

/**
 * Creates a development CA: an RSA 2048 root (pathLen 1) and an intermediate (pathLen 0), both with critical
 * basicConstraints and keyUsage keyCertSign/cRLSign, SKI and AKI. Never use it outside development and tests.
 */
export async function createDevCa(options: DevCaOptions = {}): Promise<DevCa> {
  const name = options.name ?? 'Ponte Dev'
  const now = options.now ?? new Date()
  const days = options.validityDays ?? 3650
  const notBefore = new Date(now.getTime() - 3_600_000)
  const [rootKeys, intermediateKeys] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()])
  const root = await makeCa(rootKeys, caName(`${name} Root CA`), undefined, 1, notBefore, new Date(now.getTime() + days * DAY_MS))
  const intermediate = await makeCa(
    intermediateKeys,
    caName(`${name} Intermediate CA`),
    root,
    0,
    notBefore,
    new Date(now.getTime() + Math.ceil(days / 2) * DAY_MS),
  )
  return { name, root, intermediate, chainPem: intermediate.certificatePem + root.certificatePem }
}

/** Serializes a CA to PEM (certificates and unencrypted PKCS#8 private keys). */
export function exportCa(ca: DevCa): ExportedCa {
  return {
    rootCertificatePem: ca.root.certificatePem,
    rootPrivateKeyPem: ca.root.privateKeyPem,
    intermediateCertificatePem: ca.intermediate.certificatePem,
    intermediatePrivateKeyPem: ca.intermediate.privateKeyPem,
  }
}

async function importAuthority(certificatePem: string, privateKeyPem: string): Promise<CertificateAuthority> {
  const certificate = new X509Certificate(certificatePem)
  const privateKey = createPrivateKey(privateKeyPem)
  if (!certificate.checkPrivateKey(privateKey)) throw new Error(`importCa: private key does not match ${certificate.subject}`)
  if (!certificate.ca) throw new Error(`importCa: ${certificate.subject} is not a CA certificate`)
  return {
    certificate,
    certificatePem: derToPem(certificate.raw),
    privateKey,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    signingKey: await toSigningKey(privateKey),
  }
}

/** Restores a CA saved with {@link exportCa}; checks that each key matches its certificate and the chain. */
export async function importCa(pems: ExportedCa): Promise<DevCa> {
  const [root, intermediate] = await Promise.all([
    importAuthority(pems.rootCertificatePem, pems.rootPrivateKeyPem),
    importAuthority(pems.intermediateCertificatePem, pems.intermediatePrivateKeyPem),
  ])
  if (!intermediate.certificate.checkIssued(root.certificate) || !intermediate.certificate.verify(root.certificate.publicKey)) {
    throw new Error('importCa: the intermediate was not issued by the root')
  }
  const cn = /(?:^|\n)CN=(.*) Root CA(?:\n|$)/.exec(root.certificate.subject)?.[1] ?? root.certificate.subject
  return { name: cn, root, intermediate, chainPem: intermediate.certificatePem + root.certificatePem }
}
