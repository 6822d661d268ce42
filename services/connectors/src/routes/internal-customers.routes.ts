import { z } from 'zod'
import { DomainError, requireServiceToken, type PonteServer, type ServiceTokenVerifier } from '@ponte/platform'
import { AuthenticateCustomerRequest, Cnpj, Cpf, type CoreConnector } from '@ponte/contracts'

/** Internal API for the consent journey (auth-server), as `packages/contracts/src/internal.ts` describes it. */
export async function internalCustomerRoutes(app: PonteServer, deps: { core: CoreConnector; serviceAuth: ServiceTokenVerifier }): Promise<void> {
  app.register(async (instance) => {
    const r = instance as unknown as PonteServer
    r.addHook('onRequest', requireServiceToken(deps.serviceAuth))

    // 401 with one message whether the CPF exists or not; the core spends one scrypt either way.
    r.post('/internal/customers/authenticate', { schema: { body: AuthenticateCustomerRequest } }, async (req) => {
      const customer = await deps.core.authenticateCustomer(req.body.cpf, req.body.password)
      if (!customer) throw new DomainError('UNAUTHORIZED', 'invalid CPF or password')
      return customer
    })

    r.get('/internal/customers/:cpf/resources', { schema: { params: z.object({ cpf: Cpf }), querystring: z.object({ cnpj: Cnpj.optional() }) } }, async (req) => {
      const resources = await deps.core.selectableResources({ cpf: req.params.cpf, cnpj: req.query.cnpj })
      if (!resources) throw new DomainError('NOT_FOUND', req.query.cnpj ? 'the customer does not act for this business' : 'unknown customer')
      return { resources }
    })
  })
}
