import { readFileSync } from 'node:fs'
import { ConfigError } from './config.ts'
import { fapiTlsOptions } from './tls.ts'
import { parsePublicKeys, type ServiceKeyPair } from './service-auth.ts'
import type { KeyObject } from 'node:crypto'

/** A value given inline (PEM text) or as `@/path/to/file`. */
function inlineOrFile(value: string): string {
  return value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value.replaceAll('\\n', '\n')
}

/** The service-token keys of a service, resolved from configuration. */
export interface ServiceKeys { privateKeyPem: string; publicKeys: KeyObject[] }

/**
 * Resolves `SERVICE_TOKEN_PRIVATE_KEY` / `SERVICE_TOKEN_PUBLIC_KEYS` (inline PEM or `@file`). Both are required:
 * a service that cannot authenticate its internal calls must not start.
 */
export function loadServiceKeys(input: { privateKey?: string | undefined; publicKeys?: string | undefined }): ServiceKeys {
  const issues: { key: string; message: string }[] = []
  if (!input.privateKey) issues.push({ key: 'SERVICE_TOKEN_PRIVATE_KEY', message: 'required (Ed25519 PKCS#8 PEM, inline or @file)' })
  if (!input.publicKeys) issues.push({ key: 'SERVICE_TOKEN_PUBLIC_KEYS', message: 'required (Ed25519 SPKI PEM bundle, inline or @file)' })
  if (issues.length) throw new ConfigError(issues)
  const privateKeyPem = inlineOrFile(input.privateKey!)
  const publicKeys = parsePublicKeys(inlineOrFile(input.publicKeys!))
  if (publicKeys.length === 0) throw new ConfigError([{ key: 'SERVICE_TOKEN_PUBLIC_KEYS', message: 'no PEM public key found' }])
  return { privateKeyPem, publicKeys }
}

/** Env form of a {@link ServiceKeyPair} (what `make up` and the testkit hand to services). */
export function serviceKeyEnv(pair: ServiceKeyPair): Record<string, string> {
  return { SERVICE_TOKEN_PRIVATE_KEY: pair.privateKeyPem, SERVICE_TOKEN_PUBLIC_KEYS: pair.publicKeyPem }
}

/** Reads the TLS files of a public listener and returns FAPI-BR listener options. */
export function loadTls(files: { certFile?: string | undefined; keyFile?: string | undefined; clientCaFile?: string | undefined }) {
  const issues: { key: string; message: string }[] = []
  if (!files.certFile) issues.push({ key: 'TLS_CERT_FILE', message: 'required for the TLS listener' })
  if (!files.keyFile) issues.push({ key: 'TLS_KEY_FILE', message: 'required for the TLS listener' })
  if (issues.length) throw new ConfigError(issues)
  return fapiTlsOptions({
    cert: readFileSync(files.certFile!),
    key: readFileSync(files.keyFile!),
    ...(files.clientCaFile ? { clientCa: readFileSync(files.clientCaFile) } : {}),
  })
}
