// Public entry of @ponte/pki: development PKI, OFB certificate issuers and parsers, chain validation.
export { createDevCa, exportCa, importCa } from './ca.ts'
export type { CertificateAuthority, DevCa, DevCaOptions, ExportedCa } from './ca.ts'
export { DEV_PKI_FILES, loadOrCreateDevPki } from './dev-pki.ts'
export type { DevPki, DevPkiOptions } from './dev-pki.ts'
export { issueClientCertificate, issueServerCertificate, issueSigningCertificate } from './issue.ts'
export type {
  BusinessCategory,
  ClientCertificateForm,
  ClientCertificateOptions,
  IssuedCertificate,
  IssuedSigningCertificate,
  ServerCertificateOptions,
  SigningCertificateOptions,
  ValidityOptions,
} from './issue.ts'
export { generateEncryptionKey, generateRsaKeyPair, rsaJwkThumbprint } from './keys.ts'
export type { RsaJwkPair, RsaKeyPair, RsaPrivateJwk, RsaPublicJwk } from './keys.ts'
export { OID } from './oids.ts'
export { ClientCertificateError, certificateSubjectDn, parseClientCertificate } from './parse.ts'
export type { ClientCertificateErrorCode, ClientCertificateInfo } from './parse.ts'
export { certificateToDer, derToPem, pemToDer, splitPemBundle, toX509Certificate, x5tS256 } from './pem.ts'
export type { CertificateInput } from './pem.ts'
export { TrustStore, verifyCertificateChain } from './verify.ts'
export type { ChainFailureReason, ChainVerificationOptions, ChainVerificationResult } from './verify.ts'
export { DEV_PAYLOAD_SIGNING_FILE, DEV_PAYLOAD_SIGNING_PASSPHRASE, issueDevPayloadSigningKey, loadOrCreateDevPayloadSigningKey, payloadSigningJwk, readPayloadSigningKey, readPublishedSigningKeys } from './payload-signing.ts'
export type { PayloadSigningJwk, PayloadSigningKey } from './payload-signing.ts'
export { listPayloadSigningKeys, prunePayloadSigningKeys, rotatePayloadSigningKey } from './payload-signing-rotation.ts'
export type { PayloadSigningKeyInfo } from './payload-signing-rotation.ts'
