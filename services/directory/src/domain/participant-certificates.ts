import { X509Certificate } from 'node:crypto'
import type { z } from 'zod'
import type { ParticipantCertificates } from '@ponte/contracts'
import type { DirectoryStore, Keystore } from './ports.ts'

type Listing = z.infer<typeof ParticipantCertificates>

/**
 * The certificates of the TPPs this bank deals with: for every active software statement it has verified an SSA of,
 * the `x5c` leaf of each key in its signing and transport keystores, with its expiry (trace alerts on those expiring
 * soon). Keystores come through the cached {@link Keystore}; one that cannot be read is listed as unreadable, never
 * left out silently. Keys without `x5c` carry no certificate and are skipped.
 */
export function createParticipantCertificates(deps: { store: Pick<DirectoryStore, 'listActiveSoftwareStatements'>; keystore: Pick<Keystore, 'get'> }) {
  return async (): Promise<Listing> => {
    const out: Listing = { certificates: [], unreadable: [] }
    const statements = await deps.store.listActiveSoftwareStatements()
    await Promise.all(statements.flatMap((s) => [s.jwksUri, s.transportJwksUri].filter((u): u is string => !!u).map(async (jwksUri) => {
      const base = { organisationId: s.organisationId, softwareStatementId: s.softwareStatementId, jwksUri }
      let keys
      try {
        keys = (await deps.keystore.get(jwksUri)).keys
      } catch (err) {
        out.unreadable.push({ ...base, error: err instanceof Error ? err.message : String(err) })
        return
      }
      for (const k of keys) {
        const der = Array.isArray(k.x5c) ? k.x5c[0] : undefined
        if (typeof der !== 'string') continue
        try {
          const cert = new X509Certificate(Buffer.from(der, 'base64'))
          out.certificates.push({ ...base, kid: k.kid ?? '', subjectDn: cert.subject.replaceAll('\n', ', '), notAfter: new Date(cert.validTo).toISOString() })
        } catch (err) {
          out.unreadable.push({ ...base, error: `key ${k.kid ?? '?'}: x5c is not a certificate (${err instanceof Error ? err.message : String(err)})` })
        }
      }
    })))
    out.certificates.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.softwareStatementId.localeCompare(b.softwareStatementId))
    return out
  }
}
