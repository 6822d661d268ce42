import type { KeyObject, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { signCertificate, type DevCa } from './ca.ts'
import { concatBytes, derEncode, derOid } from './der.ts'
import { generateRsaKeyPair, toRsaJwkPair, type RsaPrivateJwk, type RsaPublicJwk } from './keys.ts'
import { OID } from './oids.ts'
import { x5tS256 } from './pem.ts'
import { x509 } from './x509.ts'

/** An issued end-entity certificate with its key. */
export interface IssuedCertificate {
  /** The certificate alone, PEM. */
  readonly certificatePem: string
  /** Unencrypted PKCS#8 PEM of the private key. */
  readonly privateKeyPem: string
  /** The certificate followed by the intermediate CA (not the root): what a TLS peer sends as `cert`. */
  readonly chainPem: string
  readonly certificate: X509Certificate
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** RFC 8705 thumbprint of the certificate (base64url SHA-256 of the DER). */
  readonly x5tS256: string
  readonly serialNumber: string
  readonly notBefore: Date
  readonly notAfter: Date
}

/** An issued certificate whose key is also given as PS256 signing JWKs (`use: "sig"`). */
export interface IssuedSigningCertificate extends IssuedCertificate {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string
  /** Private JWK: `alg: "PS256"`, `use: "sig"`, `kid`. */
  readonly privateJwk: RsaPrivateJwk
  /** Public JWK with `x5c` (leaf, intermediate) and `x5t#S256`, for a JWKS. */
  readonly publicJwk: RsaPublicJwk
}

/** Validity options shared by the issuers. */
export interface ValidityOptions {
  /** Validity in days from `now` (capped at the issuing CA's validity). */
  readonly validityDays?: number
  /** Issuance time; the certificate is valid from five minutes before it. Default: the current time. */
  readonly now?: Date
}

/** Options of {@link issueServerCertificate}. */
export interface ServerCertificateOptions extends ValidityOptions {
  /** DNS names for the SAN; the first is also the subject CN. */
  readonly hostnames: readonly string[]
  /** IPv4 / IPv6 addresses for the SAN. */
  readonly ips?: readonly string[]
}

/** The `businessCategory` values the OFB certificate standard allows. */
export type BusinessCategory = 'Private Organization' | 'Government Entity' | 'Business Entity' | 'Non-Commercial Entity'

/**
 * Where the client certificate carries the Directory organisation id: `current` = `organizationIdentifier`
 * (2.5.4.97) `OFBBR-<orgId>`; `legacy` = `OU` (certificates issued before 2022-08-31).
 */
export type ClientCertificateForm = 'current' | 'legacy'

/** Options of {@link issueClientCertificate}. */
export interface ClientCertificateOptions extends ValidityOptions {
  /** Directory organisation id (org_id). */
  readonly orgId: string
  /** Software statement id (SSA `software_id`), put in `UID`. */
  readonly softwareStatementId: string
  /** CNPJ, put in the subject `serialNumber`. */
  readonly cnpj: string
  /** Subject CN: an FQDN (or wildcard) of the client; also the default SAN dNSName. */
  readonly commonName: string
  /** Default `current`. */
  readonly form?: ClientCertificateForm
  /** Subject `O`. Default: `"Ponte Dev Participant"`. */
  readonly organizationName?: string
  /** Default `"Private Organization"`. */
  readonly businessCategory?: BusinessCategory
  /** Subject `ST`. Default `"SP"`. */
  readonly stateOrProvinceName?: string
  /** Subject `L`. Default `"Sao Paulo"`. */
  readonly localityName?: string
  /** SAN dNSNames. Default: `[commonName]` when it is a host name, else none. */
  readonly dnsNames?: readonly string[]
}

/** Options of {@link issueSigningCertificate}. */
export interface SigningCertificateOptions extends ValidityOptions {
  /** Directory organisation id, put in `UID` (the BRSEAL profile's "org code"). */
  readonly orgId: string
  /**
   * Accepted for symmetry with {@link issueClientCertificate}; the BRSEAL profile has no field for it, so it
   * is not encoded in the certificate.
   */
  readonly softwareStatementId?: string
  /** CNPJ, put in the ICP-Brasil otherName 2.16.76.1.3.3 of the SAN. */
  readonly cnpj: string
  /** Subject CN: the company name. */
  readonly commonName: string
  /** The three `OU` values (CA name, registration authority CNPJ, validation type). Default: dev values. */
  readonly organizationalUnits?: readonly [string, string, string]
}

const DAY_MS = 86_400_000
const HOSTNAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i

type NameValue = { readonly utf8String: string } | { readonly printableString: string }
const utf8 = (s: string): NameValue => ({ utf8String: s })
const printable = (s: string): NameValue => ({ printableString: s })

function name(rdns: readonly (readonly [string, NameValue])[]): x509.Name {
  return new x509.Name(rdns.map(([oid, value]) => ({ [oid]: [value] })))
}

async function issue(
  ca: DevCa,
  subject: x509.Name,
  extensions: readonly x509.Extension[],
  options: ValidityOptions,
  defaultDays: number,
): Promise<IssuedCertificate> {
  const now = options.now ?? new Date()
  const keys = await generateRsaKeyPair()
  const { certificate, certificatePem } = await signCertificate({
    issuer: ca.intermediate,
    subject,
    publicKey: keys.publicKey,
    notBefore: new Date(now.getTime() - 300_000),
    notAfter: new Date(now.getTime() + (options.validityDays ?? defaultDays) * DAY_MS),
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ...extensions],
  })
  return {
    certificatePem,
    privateKeyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    chainPem: certificatePem + ca.intermediate.certificatePem,
    certificate,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    x5tS256: x5tS256(certificate),
    serialNumber: certificate.serialNumber,
    notBefore: certificate.validFromDate,
    notAfter: certificate.validToDate,
  }
}

/** Issues a TLS server certificate (EKU serverAuth, SAN dNSName/iPAddress) from the CA's intermediate. */
export async function issueServerCertificate(ca: DevCa, options: ServerCertificateOptions): Promise<IssuedCertificate> {
  const ips = options.ips ?? []
  for (const ip of ips) if (isIP(ip) === 0) throw new Error(`issueServerCertificate: not an IP address: ${ip}`)
  const cn = options.hostnames[0] ?? ips[0]
  if (cn === undefined) throw new Error('issueServerCertificate: give at least one hostname or IP')
  const subject = name([
    [OID.countryName, printable('BR')],
    [OID.organizationName, utf8('Ponte Dev PKI')],
    [OID.commonName, utf8(cn)],
  ])
  return issue(
    ca,
    subject,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([OID.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...options.hostnames.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
    options,
    397,
  )
}

/**
 * Issues a client (transport) certificate shaped like an ICP-Brasil BRCAC for Open Finance Brasil (Padrão de
 * Certificados 2.1): subject, in RFC 4514 order, `CN, UID=<software statement id>, 2.5.4.97=OFBBR-<org id>
 * (or OU=<org id> in the legacy form), L, ST, O, C=BR, serialNumber=<CNPJ>, jurisdictionCountryName=BR,
 * businessCategory`, values UTF8String except C, serialNumber and jurisdictionCountryName (PrintableString);
 * keyUsage digitalSignature+keyEncipherment (critical), EKU clientAuth, SAN dNSName. The key also signs
 * `private_key_jwt`, so PS256 JWKs are returned.
 */
export async function issueClientCertificate(ca: DevCa, options: ClientCertificateOptions): Promise<IssuedSigningCertificate> {
  const form = options.form ?? 'current'
  const orgField: readonly [string, NameValue] =
    form === 'current' ? [OID.organizationIdentifier, utf8(`OFBBR-${options.orgId}`)] : [OID.organizationalUnitName, utf8(options.orgId)]
  const subject = name([
    [OID.businessCategory, utf8(options.businessCategory ?? 'Private Organization')],
    [OID.jurisdictionCountryName, printable('BR')],
    [OID.serialNumber, printable(options.cnpj)],
    [OID.countryName, printable('BR')],
    [OID.organizationName, utf8(options.organizationName ?? 'Ponte Dev Participant')],
    [OID.stateOrProvinceName, utf8(options.stateOrProvinceName ?? 'SP')],
    [OID.localityName, utf8(options.localityName ?? 'Sao Paulo')],
    orgField,
    [OID.uid, utf8(options.softwareStatementId)],
    [OID.commonName, utf8(options.commonName)],
  ])
  const dnsNames = options.dnsNames ?? (HOSTNAME.test(options.commonName) ? [options.commonName] : [])
  const issued = await issue(
    ca,
    subject,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([OID.clientAuth]),
      ...(dnsNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value })))] : []),
    ],
    options,
    365,
  )
  return withSigningJwks(ca, issued)
}

function icpCnpjSan(cnpj: string): x509.Extension {
  // GeneralNames ::= SEQUENCE { otherName [0] IMPLICIT SEQUENCE { type-id OID, value [0] EXPLICIT OCTET STRING } }
  const otherName = derEncode(
    0xa0,
    concatBytes(derOid(OID.icpBrasilCnpj), derEncode(0xa0, derEncode(0x04, new TextEncoder().encode(cnpj)))),
  )
  return new x509.Extension('2.5.29.17', false, derEncode(0x30, otherName))
}

/**
 * Issues a JWS signing certificate shaped like an ICP-Brasil BRSEAL: subject `C=BR, O=ICP-Brasil`, three `OU`s,
 * `UID=<org id>`, `CN=<company name>`; keyUsage digitalSignature+nonRepudiation (critical), no EKU (so no
 * clientAuth); SAN otherName 2.16.76.1.3.3 = CNPJ. Returns PS256 JWKs (the public one with `x5c`).
 */
export async function issueSigningCertificate(ca: DevCa, options: SigningCertificateOptions): Promise<IssuedSigningCertificate> {
  const caCn = /(?:^|\n)CN=([^\n]*)/.exec(ca.intermediate.certificate.subject)?.[1] ?? 'Ponte Dev Intermediate CA'
  const [ou1, ou2, ou3] = options.organizationalUnits ?? [caCn, options.cnpj, 'Presencial']
  const subject = name([
    [OID.countryName, printable('BR')],
    [OID.organizationName, utf8('ICP-Brasil')],
    [OID.organizationalUnitName, utf8(ou1)],
    [OID.organizationalUnitName, utf8(ou2)],
    [OID.organizationalUnitName, utf8(ou3)],
    [OID.uid, utf8(options.orgId)],
    [OID.commonName, utf8(options.commonName)],
  ])
  const issued = await issue(
    ca,
    subject,
    [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true), icpCnpjSan(options.cnpj)],
    options,
    365,
  )
  return withSigningJwks(ca, issued)
}

function withSigningJwks(ca: DevCa, issued: IssuedCertificate): IssuedSigningCertificate {
  const jwks = toRsaJwkPair(issued, {
    use: 'sig',
    alg: 'PS256',
    x5c: [issued.certificate.raw.toString('base64'), ca.intermediate.certificate.raw.toString('base64')],
    x5tS256: issued.x5tS256,
  })
  return { ...issued, kid: jwks.kid, privateJwk: jwks.privateJwk, publicJwk: jwks.publicJwk }
}
