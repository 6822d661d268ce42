import { DomainError } from '@ponte/platform'
import type { CertificateRefusal, SsaRefusal } from '@ponte/contracts'
import type { z } from 'zod'

/** A refusal code of the directory's internal API (`SsaRefusal` or `CertificateRefusal` of the contracts). */
export type RefusalCode = z.infer<typeof SsaRefusal> | z.infer<typeof CertificateRefusal>

/**
 * A verification refused for a precise reason: 422 with the reason as `errors[0].code` (the contract callers
 * switch on), and a detail safe to show.
 */
export function refuse(code: RefusalCode, detail: string): DomainError {
  return new DomainError('UNPROCESSABLE_ENTITY', detail, { ofbCode: code })
}
