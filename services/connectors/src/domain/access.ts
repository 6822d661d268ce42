import { DomainError } from '@ponte/platform'
import type { ConsentContext, CoreOwner, CoreResourceStatus, Permission, ResourceType } from '@ponte/contracts'

/**
 * Consent checks the connectors repeat behind the gateway (defence in depth): the permission, the resource being in
 * the consent, and the resource being available. Pure functions over the consent the gateway vouched for.
 */

/** 403 unless the consent grants every one of `permissions` (values of the catalogue in `@ponte/contracts`). */
export function requirePermissions(consent: ConsentContext, permissions: readonly Permission[]): void {
  const missing = permissions.filter((p) => !consent.permissions.includes(p))
  if (missing.length) throw new DomainError('FORBIDDEN', `the consent does not grant ${missing.join(', ')}`)
}

/** 403 unless the consent covers the resource (same answer whether it exists or not: no existence oracle). */
export function requireConsentedResource(consent: ConsentContext, type: ResourceType, resourceId: string): void {
  if (!consent.resources.some((r) => r.type === type && r.resourceId === resourceId)) {
    throw new DomainError('FORBIDDEN', 'the resource is not covered by the consent')
  }
}

/** The consented ids of one resource type. */
export function consentedIds(consent: ConsentContext, type: ResourceType): string[] {
  return consent.resources.filter((r) => r.type === type).map((r) => r.resourceId)
}

const STATUS_ERRORS: Record<Exclude<CoreResourceStatus, 'AVAILABLE'>, [string, string]> = {
  UNAVAILABLE: ['STATUS_RESOURCE_UNAVAILABLE', 'the resource is unavailable'],
  TEMPORARILY_UNAVAILABLE: ['STATUS_RESOURCE_TEMPORARILY_UNAVAILABLE', 'the resource is temporarily unavailable'],
  PENDING_AUTHORISATION: ['STATUS_RESOURCE_PENDING_AUTHORISATION', 'the resource awaits authorisation by other holders'],
}

/** 404 when the core has no such resource for the owner; 403 with a `STATUS_RESOURCE_*` code when it is not available. */
export function requireAvailable<T extends { status: CoreResourceStatus }>(resource: T | undefined): T {
  if (!resource) throw new DomainError('NOT_FOUND', 'the resource was not found for this customer')
  if (resource.status !== 'AVAILABLE') {
    const [code, message] = STATUS_ERRORS[resource.status]
    throw new DomainError('FORBIDDEN', message, { ofbCode: code })
  }
  return resource
}

/** Whose data the consent reads: the business when it names one, otherwise the person. */
export function ownerOf(consent: ConsentContext): CoreOwner {
  return consent.customer.cnpj ? { cpf: consent.customer.cpf, cnpj: consent.customer.cnpj } : { cpf: consent.customer.cpf }
}
