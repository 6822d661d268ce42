import { requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { VerifyCustomerTotpRequest } from '@ponte/contracts'
import type { CustomerTotp } from '../adapters/pg-totp.ts'

/**
 * `POST /internal/customers/verify-totp` (auth-server, the LoA3 step of a payment consent): 200 `{ "valid": … }`, the
 * same answer for a wrong code, a reused code and an unknown CPF. Rules: docs/regulation/security-profile.md.
 */
export async function internalTotpRoutes(app: PonteServer, deps: { totp: CustomerTotp; serviceAuth: ServiceTokenVerifier; clock?: () => Date }): Promise<void> {
  const clock = deps.clock ?? (() => new Date())
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))
    r.post('/internal/customers/verify-totp', { schema: { body: VerifyCustomerTotpRequest } }, async (req) => {
      return { valid: await deps.totp.verify(req.body.cpf, req.body.code, clock()) }
    })
  })
}
