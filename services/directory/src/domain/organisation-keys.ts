import type { JWK } from 'jose'
import { DirectoryFetchError, type Keystore } from './ports.ts'
import { ORG_ID_PATTERN } from './ssa.ts'

/**
 * An organisation's payload-signing keys (`<keystore>/<orgId>/application.jwks`, signing keys only), through the
 * keystore cache: with `kid`, a set lacking it is fetched again (rate-limited). Undefined when the organisation
 * publishes no keystore (404) or the id is not an organisation id.
 */
export function createOrganisationKeys(o: { keystore: Keystore; keystoreUrl: string }) {
  return async function organisationJwks(organisationId: string, kid?: string): Promise<{ keys: JWK[] } | undefined> {
    if (!ORG_ID_PATTERN.test(organisationId)) return undefined
    const url = `${o.keystoreUrl}/${encodeURIComponent(organisationId)}/application.jwks`
    try {
      if (kid) await o.keystore.findKey(url, kid)
      const jwks = await o.keystore.get(url)
      return { keys: jwks.keys.filter((k) => k.use === undefined || k.use === 'sig') }
    } catch (err) {
      if (err instanceof DirectoryFetchError && err.code === 'BAD_RESPONSE') return undefined
      throw err
    }
  }
}
