import { constants } from 'node:crypto'
import type { SecureContextOptions, TlsOptions } from 'node:tls'

/** TLS 1.2 suites allowed by FAPI-BR §6: ECDHE-RSA with AES-GCM only. TLS 1.3 keeps OpenSSL's AEAD suites. */
export const FAPI_TLS12_CIPHERS = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384'] as const

/** Inputs of {@link fapiTlsOptions}. */
export interface FapiTlsInput {
  /** Server certificate chain, PEM. */
  cert: string | Buffer
  /** Server private key, PEM. */
  key: string | Buffer
  /** Trust anchors for client certificates, PEM. Certificates are requested either way; chain policy is the caller's. */
  clientCa?: string | Buffer | Array<string | Buffer>
}

/**
 * The TLS listener options every public Ponte service uses, following FAPI-BR §6: TLS 1.2 limited to the two
 * ECDHE-RSA AES-GCM suites, or TLS 1.3; no session resumption (no tickets, no session cache) and no renegotiation;
 * a client certificate is requested but not enforced at the handshake, so each route decides (and a missing
 * certificate is answered in the API's own error envelope instead of a bare handshake failure).
 */
export function fapiTlsOptions(input: FapiTlsInput): TlsOptions & SecureContextOptions {
  return {
    cert: input.cert,
    key: input.key,
    ...(input.clientCa ? { ca: input.clientCa } : {}),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: FAPI_TLS12_CIPHERS.join(':'),
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
    // No resumption: no tickets (TLS 1.2 and 1.3 PSK), no server-side session cache; no renegotiation.
    secureOptions: constants.SSL_OP_NO_TICKET | constants.SSL_OP_NO_RENEGOTIATION,
    sessionTimeout: 0,
    ticketKeys: undefined,
  }
}
