import { z } from 'zod'
import { DomainError, ofbDateTime, type PonteServer } from '@ponte/platform'
import type { ConsentContext, Permission } from '@ponte/contracts'
import { ownerOf, requirePermissions } from '../domain/access.ts'
import { consentOf, countedBody, pageQuery, paging, regulatedGroup, type RegulatedDeps } from './common.ts'

/** Customers API v2.3.0 (`/open-banking/customers/v2`). */
export const CUSTOMERS_VERSION = '2.3.0'
const BASE = '/open-banking/customers/v2'

/** The permission each kind of registration data needs: identifications, and the additional information. */
const PERMISSIONS: Record<'personal' | 'business', { identifications: Permission; additionalInfo: Permission }> = {
  personal: { identifications: 'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', additionalInfo: 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ' },
  business: { identifications: 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', additionalInfo: 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ' },
}

/** Personal routes need a personal consent, business routes a business one. */
function requireKind(consent: ConsentContext, kind: 'personal' | 'business'): void {
  if ((kind === 'business') !== Boolean(consent.customer.cnpj)) throw new DomainError('FORBIDDEN', `the consent is not a ${kind} consent`)
}

/** Registers the Customers API routes (registration data of the consent's person or business). */
export async function customersRoutes(app: PonteServer, deps: RegulatedDeps): Promise<void> {
  regulatedGroup(app, deps, CUSTOMERS_VERSION, (r) => {
    for (const kind of ['personal', 'business'] as const) {
      const needs = PERMISSIONS[kind]
      r.get(`${BASE}/${kind}/identifications`, { schema: { querystring: z.object(pageQuery) } }, async (req, reply) => {
        const consent = consentOf(req)
        requirePermissions(consent, [needs.identifications])
        requireKind(consent, kind)
        const p = paging(req, reply, deps, consent.consentId)
        const reg = await deps.core.registration(ownerOf(consent))
        if (!reg) throw new DomainError('NOT_FOUND', 'no registration data for this customer')
        const items = p.offset === 0 ? [{ updateDateTime: reg.updatedAt, ...reg.identification }] : []
        const body = countedBody(p, { items, total: 1 }, items, deps.clock())
        return { ...body, meta: { requestDateTime: body.meta.requestDateTime } }
      })
      for (const [path, field] of [['qualifications', 'qualification'], ['financial-relations', 'financialRelations']] as const) {
        r.get(`${BASE}/${kind}/${path}`, async (req) => {
          const consent = consentOf(req)
          requirePermissions(consent, [needs.additionalInfo])
          requireKind(consent, kind)
          const reg = await deps.core.registration(ownerOf(consent))
          if (!reg) throw new DomainError('NOT_FOUND', 'no registration data for this customer')
          return {
            data: { updateDateTime: reg.updatedAt, ...reg[field] },
            links: { self: `${deps.publicBaseUrl}${req.url.split('?')[0]}` },
            meta: { requestDateTime: ofbDateTime(deps.clock()) },
          }
        })
      }
    }
  })
}
