import { ClientCertificateError, parseClientCertificate, splitPemBundle, type TrustStore } from '@ponte/pki'
import type { z } from 'zod'
import type { CheckCertificateRequest, CheckedCertificate } from '@ponte/contracts'
import { refuse } from './refusal.ts'

/**
 * Client certificate ↔ software statement check (DCR-BR v2.1, Padrão de Certificados 2.1): the certificate
 * (optionally followed by its intermediates in the same PEM) chains to a configured trust anchor and is valid now;
 * its `UID` equals the software statement id and its organisation (`organizationIdentifier` `OFBBR-<id>`, or the
 * legacy `OU`) equals the organisation id, when those are given. Refusals are 422 with a `CertificateRefusal` code.
 */
export function createCertificateChecker(options: { trustStore: TrustStore; now?: () => Date }) {
  const now = options.now ?? (() => new Date())
  return function checkCertificate(req: z.infer<typeof CheckCertificateRequest>): z.infer<typeof CheckedCertificate> {
    const pems = splitPemBundle(req.certificatePem)
    const [leaf, ...intermediates] = pems
    if (!leaf) throw refuse('MALFORMED', 'certificatePem holds no PEM certificate')
    let info
    try {
      info = parseClientCertificate(leaf)
    } catch (err) {
      const detail = err instanceof ClientCertificateError ? err.message : 'not a parseable certificate'
      throw refuse('MALFORMED', detail)
    }
    let chain
    try {
      chain = options.trustStore.verify(leaf, { intermediates, now: now() })
    } catch {
      throw refuse('MALFORMED', 'certificate chain could not be read')
    }
    if (!chain.ok) throw refuse(chain.reason, chain.detail)
    if (req.softwareStatementId !== undefined && info.softwareStatementId !== req.softwareStatementId) {
      throw refuse('SOFTWARE_ID_MISMATCH', `certificate UID ${info.softwareStatementId} is not software statement ${req.softwareStatementId}`)
    }
    if (req.organisationId !== undefined && info.orgId !== req.organisationId) {
      throw refuse('ORG_ID_MISMATCH', `certificate organisation ${info.orgId} is not ${req.organisationId}`)
    }
    return {
      organisationId: info.orgId,
      softwareStatementId: info.softwareStatementId,
      cnpj: info.cnpj,
      subjectDn: info.subjectDn,
      thumbprintS256: info.thumbprintS256,
    }
  }
}
