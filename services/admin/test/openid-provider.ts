import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import Provider from 'oidc-provider'

/** A person the test's OpenID Provider knows, and how they signed in there. */
export interface OpAccount {
  sub: string
  email: string
  emailVerified: boolean
  name: string
  /** The `ponte_roles` claim (any strings: unknown values must be ignored by the console). */
  roles: string[]
  /** Authentication methods the provider asserts (`amr`, RFC 8176), e.g. ['pwd'] or ['pwd', 'otp']. */
  amr: string[]
}

/** Options of {@link startOpenIdProvider}. */
export interface OpOptions {
  port: number
  clientId: string
  clientSecret: string
  redirectUri: string
  accounts: OpAccount[]
}

const page = (body: string) => `<!doctype html><html lang="en"><head><title>Bank IdP</title></head><body><main>${body}</main></body></html>`

/**
 * A real OpenID Provider (`oidc-provider`, certified) on http://127.0.0.1:<port>, with the console registered as a
 * confidential client (authorization code, PKCE required) and a login page of its own: a person types their user
 * name; the provider then asserts that account's `amr`. Claims: `email`, `email_verified`, `name` and `ponte_roles`
 * (scope `profile`), which the provider serves from userinfo (the ID token carries `sub`, `amr`, `nonce`).
 */
export async function startOpenIdProvider(o: OpOptions) {
  const issuer = `http://127.0.0.1:${o.port}`
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const accounts = new Map(o.accounts.map((a) => [a.sub, a]))
  const provider = new Provider(issuer, {
    clients: [{ client_id: o.clientId, client_secret: o.clientSecret, redirect_uris: [o.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'op-1', use: 'sig', alg: 'RS256' } as never] },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    claims: { acr: null, auth_time: null, sid: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name', 'ponte_roles'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const a = accounts.get(sub)
      if (!a) return undefined
      return { accountId: sub, claims: async () => ({ sub, email: a.email, email_verified: a.emailVerified, name: a.name, ponte_roles: a.roles }) }
    },
  })
  const callback = provider.callback()

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined) {
    const details = await provider.interactionDetails(req, res)
    if (details.uid !== uid) throw new Error('interaction mismatch')
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(page(`<h1>Bank IdP</h1><form method="post" action="/interaction/${uid}/login"><label for="login">IdP user</label><input id="login" name="login"><button type="submit">Continue to the console</button></form>`))
      return
    }
    if (action !== 'login') throw new Error('unknown interaction action')
    let raw = ''
    for await (const chunk of req) raw += String(chunk)
    const account = accounts.get(new URLSearchParams(raw).get('login') ?? '')
    if (!account) {
      res.statusCode = 401
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(page('<p role="alert">unknown user</p>'))
      return
    }
    const grant = new provider.Grant({ accountId: account.sub, clientId: String(details.params.client_id) })
    grant.addOIDCScope(String(details.params.scope))
    const grantId = await grant.save()
    await provider.interactionFinished(req, res, { login: { accountId: account.sub, amr: account.amr }, consent: { grantId } }, { mergeWithLastSubmission: false })
  }

  const server = createServer((req, res) => {
    const m = /^\/interaction\/([\w-]+)(?:\/(\w+))?$/.exec(req.url ?? '')
    if (!m) return void callback(req, res)
    interaction(req, res, m[1]!, m[2]).catch((err: unknown) => {
      res.statusCode = 500
      res.end(String(err))
    })
  })
  await new Promise<void>((resolve) => server.listen(o.port, '127.0.0.1', resolve))
  return {
    issuer,
    accounts,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
