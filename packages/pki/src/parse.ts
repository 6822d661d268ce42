import { certificateSubjectDer, formatRfc4514, parseName, type NameAttribute } from './der.ts'
import type { ClientCertificateForm } from './issue.ts'
import { OID } from './oids.ts'
import { toX509Certificate, x5tS256, type CertificateInput } from './pem.ts'

/** What an Open Finance Brasil client (BRCAC) certificate says about its holder. */
export interface ClientCertificateInfo {
  /** Directory organisation id: `organizationIdentifier` without `OFBBR-`, or the legacy `OU`. */
  readonly orgId: string
  /** Software statement id, from `UID`. */
  readonly softwareStatementId: string
  /** CNPJ, from the subject `serialNumber`. */
  readonly cnpj: string
  /** Subject CN (empty when absent). */
  readonly commonName: string
  /** Subject `O`, when present. */
  readonly organizationName: string | undefined
  /**
   * Subject DN as RFC 4514: reverse encoded order, short names for CN/L/ST/O/OU/C/STREET/DC/UID and
   * `OID=#<DER hex>` otherwise; the form of the Directory's `tls_client_auth_subject_dn`.
   */
  readonly subjectDn: string
  /** `current` when the org id came from `organizationIdentifier`, `legacy` when from `OU`. */
  readonly form: ClientCertificateForm
  readonly notBefore: Date
  readonly notAfter: Date
  /** RFC 8705 `x5t#S256` of the certificate. */
  readonly thumbprintS256: string
}

/** Why a certificate is not a usable OFB client certificate. */
export type ClientCertificateErrorCode = 'MALFORMED' | 'MISSING_ORG_ID' | 'MISSING_SOFTWARE_STATEMENT_ID' | 'MISSING_CNPJ'

/** Thrown by {@link parseClientCertificate}; `code` tells which part is missing or broken. */
export class ClientCertificateError extends Error {
  /** The failure class. */
  readonly code: ClientCertificateErrorCode

  /** Creates the error. */
  constructor(code: ClientCertificateErrorCode, message: string) {
    super(message)
    this.name = 'ClientCertificateError'
    this.code = code
  }
}

const ORG_ID_PREFIX = 'OFBBR-'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function values(rdns: readonly (readonly NameAttribute[])[], oid: string): string[] {
  const out: string[] = []
  for (const rdn of rdns) for (const a of rdn) if (a.oid === oid && a.value !== undefined) out.push(a.value.trim())
  return out
}

/**
 * Reads the org id, software statement id and CNPJ from an Open Finance Brasil client (BRCAC) certificate, in
 * the current form (`organizationIdentifier` 2.5.4.97 = `OFBBR-<org id>`) or the legacy one (`OU` = org id).
 * Accepts PEM, base64 DER, DER bytes, or a node:crypto `X509Certificate` (such as
 * `tlsSocket.getPeerX509Certificate()`). Does not verify the chain: call {@link verifyCertificateChain} too.
 * @throws {ClientCertificateError} when the certificate cannot be parsed or lacks one of the three ids.
 */
export function parseClientCertificate(input: CertificateInput): ClientCertificateInfo {
  let cert
  let rdns: NameAttribute[][]
  try {
    cert = toX509Certificate(input)
    rdns = parseName(certificateSubjectDer(cert.raw))
  } catch (err) {
    throw new ClientCertificateError('MALFORMED', `not a parseable certificate: ${(err as Error).message}`)
  }
  let orgId: string | undefined
  let form: ClientCertificateForm = 'current'
  const orgIdentifier = values(rdns, OID.organizationIdentifier).find((v) => v.startsWith(ORG_ID_PREFIX))
  if (orgIdentifier !== undefined) {
    orgId = orgIdentifier.slice(ORG_ID_PREFIX.length)
  } else {
    const ous = values(rdns, OID.organizationalUnitName)
    orgId = ous.find((v) => UUID.test(v)) ?? ous[0]
    form = 'legacy'
  }
  if (!orgId) throw new ClientCertificateError('MISSING_ORG_ID', 'certificate has neither organizationIdentifier OFBBR-<org id> nor OU')
  const softwareStatementId = values(rdns, OID.uid)[0]
  if (!softwareStatementId) throw new ClientCertificateError('MISSING_SOFTWARE_STATEMENT_ID', 'certificate has no UID')
  const cnpj = values(rdns, OID.serialNumber)[0]
  if (!cnpj) throw new ClientCertificateError('MISSING_CNPJ', 'certificate has no subject serialNumber (CNPJ)')
  return {
    orgId,
    softwareStatementId,
    cnpj,
    commonName: values(rdns, OID.commonName)[0] ?? '',
    organizationName: values(rdns, OID.organizationName)[0],
    subjectDn: formatRfc4514(rdns),
    form,
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
    thumbprintS256: x5tS256(cert),
  }
}

/**
 * The subject DN of any certificate as an RFC 4514 string in the Open Finance Brasil directory form (see
 * {@link ClientCertificateInfo.subjectDn}).
 */
export function certificateSubjectDn(input: CertificateInput): string {
  return formatRfc4514(parseName(certificateSubjectDer(toX509Certificate(input).raw)))
}
