import { CallerContext } from '@ponte/contracts'
import { DomainError } from '@ponte/platform'
import type { FastifyRequest } from 'fastify'

const callers = new WeakMap<FastifyRequest, CallerContext>()

/**
 * The `onRequest` check every regulated route of this service runs after the service token: the token comes from an
 * allowed caller (the gateway), carries a valid caller context (kept for {@link callerOf}), and the interaction id is
 * valid. Shared by the Consents v3 and the payment consent routes.
 */
export function regulatedCallerHook(regulatedCallers: readonly string[]) {
  return async (req: FastifyRequest): Promise<void> => {
    const iss = req.serviceCaller?.iss ?? ''
    if (!regulatedCallers.includes(iss)) throw new DomainError('UNAUTHORIZED', 'this service may not call the regulated API')
    const ctx = CallerContext.safeParse(req.serviceCaller?.ctx)
    if (!ctx.success) throw new DomainError('UNAUTHORIZED', 'service token without a valid caller context')
    callers.set(req, ctx.data)
    if (!req.interactionIdValid) throw new DomainError('INVALID_PARAMETER', 'x-fapi-interaction-id ausente ou inválido')
  }
}

/** The TPP identity the gateway verified (set by {@link regulatedCallerHook}). */
export function callerOf(req: FastifyRequest): CallerContext {
  const caller = callers.get(req)
  if (!caller) throw new DomainError('UNAUTHORIZED', 'no caller context')
  return caller
}
