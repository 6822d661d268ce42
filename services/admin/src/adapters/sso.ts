import { createHash, randomBytes, randomUUID } from 'node:crypto'
import * as oidc from 'openid-client'
import { DomainError, withTransaction, type Pool, type Redis } from '@ponte/platform'
import type { Role } from '../domain/roles.ts'

/** Single sign-on settings (config `SSO_*`). */
export interface SsoSettings {
  issuer: string
  clientId: string
  /** client_secret_basic when set; a public client (PKCE only) otherwise. */
  clientSecret?: string | undefined
  redirectUri: string
  scopes: string
  rolesClaim: string
  roleMap: Readonly<Record<string, string>>
  mfaAcrValues: readonly string[]
  linkByEmail: boolean
  createUsers: boolean
  /** Accept an `http` provider (development and tests only). */
  allowInsecure: boolean
}

/** A login on its way to the provider, kept in Redis under the hash of its browser cookie, used once. */
interface PendingSso { state: string; nonce: string; verifier: string; createdAt: number }

/**
 * The console's OpenID Relying Party (authorization code + PKCE S256, state and nonce, `openid-client`). The provider
 * is discovered on first use and again after a failure, so the console starts while the provider is down.
 */
export interface SsoClient {
  readonly settings: SsoSettings
  /** Starts a login: the provider's authorization URL and the cookie value binding the browser to it. */
  start(now: number): Promise<{ url: string; cookie: string }>
  /**
   * Finishes a login from the callback URL and the binding cookie: exchanges the code (PKCE verifier, state, nonce and
   * the ID token checked by openid-client) and answers the ID token claims, completed from userinfo when the roles
   * claim is not in the ID token. Throws `UNAUTHORIZED` on any mismatch.
   */
  finish(callbackUrl: URL, cookie: string | undefined): Promise<Record<string, unknown>>
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url')
const PENDING_S = 300

export function createSsoClient(settings: SsoSettings, redis: Redis, prefix = 'admin'): SsoClient {
  let config: Promise<oidc.Configuration> | undefined
  const discover = () => (config ??= oidc.discovery(
    new URL(settings.issuer), settings.clientId, { redirect_uris: [settings.redirectUri], response_types: ['code'] },
    settings.clientSecret ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.None(),
    settings.allowInsecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
  ).catch((err: unknown) => {
    config = undefined
    throw new DomainError('UPSTREAM_UNAVAILABLE', `the OpenID Provider could not be discovered: ${err instanceof Error ? err.message : String(err)}`)
  }))
  const key = (cookie: string) => `${prefix}:sso:${digest(cookie)}`

  return {
    settings,
    async start(now) {
      const c = await discover()
      const pending: PendingSso = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), createdAt: now }
      const url = oidc.buildAuthorizationUrl(c, {
        redirect_uri: settings.redirectUri, scope: settings.scopes, state: pending.state, nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
      })
      const cookie = randomBytes(32).toString('base64url')
      await redis.set(key(cookie), JSON.stringify(pending), 'EX', PENDING_S)
      return { url: url.href, cookie }
    },
    async finish(callbackUrl, cookie) {
      if (!cookie || cookie.length > 100) throw new DomainError('UNAUTHORIZED', 'no single sign-on in progress in this browser')
      const raw = await redis.getdel(key(cookie))
      if (!raw) throw new DomainError('UNAUTHORIZED', 'no single sign-on in progress in this browser (or it expired)')
      const pending = JSON.parse(raw) as PendingSso
      const c = await discover()
      let tokens
      try {
        tokens = await oidc.authorizationCodeGrant(c, callbackUrl, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true })
      } catch (err) {
        throw new DomainError('UNAUTHORIZED', `the OpenID Provider's answer was refused: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
      const claims = { ...tokens.claims()! } as Record<string, unknown>
      if (claims[settings.rolesClaim.split('.')[0]!] === undefined) {
        const info = await oidc.fetchUserInfo(c, tokens.access_token, String(claims.sub))
        for (const [k, v] of Object.entries(info)) if (!(k in claims)) claims[k] = v
      }
      return claims
    },
  }
}

/** What a single sign-on did to the staff accounts. */
export interface SsoLink {
  userId: string
  /** `existing`: the account linked before; `linked`: a local account linked now by e-mail; `created`: a new account. */
  link: 'existing' | 'linked' | 'created'
  rolesBefore: Role[] | null
}

/** Input of {@link linkSsoAccount}. */
export interface SsoIdentity {
  issuer: string
  subject: string
  email: string | undefined
  emailVerified: boolean
  name: string
  roles: Role[]
}

/**
 * Staff accounts of provider identities. `link` finds the staff account of a provider identity, links a local account by verified e-mail or creates one, as the
 * settings allow, and gives it the roles the provider asserted (the provider is the source of the roles of an account
 * that signs in through it). One transaction; refused (`FORBIDDEN`) when the account is disabled, the e-mail belongs to
 * an account linked to another identity, or nothing may be linked or created.
 */
export interface SsoAccounts {
  link(id: SsoIdentity, policy: { linkByEmail: boolean; createUsers: boolean }): Promise<SsoLink>
}

export function createSsoAccounts(pool: Pool): SsoAccounts {
  return { link: (id, policy) => linkSsoAccount(pool, id, policy) }
}

async function linkSsoAccount(pool: Pool, id: SsoIdentity, policy: { linkByEmail: boolean; createUsers: boolean }): Promise<SsoLink> {
  return withTransaction(pool, async (client) => {
    type Row = { user_id: string; roles: Role[]; disabled: boolean; sso_subject: string | null }
    const bySubject = await client.query<Row>('select user_id, roles, disabled, sso_subject from staff_users where sso_issuer = $1 and sso_subject = $2 for update', [id.issuer, id.subject])
    const setRoles = (userId: string) => client.query('update staff_users set roles = $2, updated_at = now() where user_id = $1', [userId, id.roles])
    if (bySubject.rows[0]) {
      const row = bySubject.rows[0]
      if (row.disabled) throw new DomainError('FORBIDDEN', 'this staff account is disabled')
      await setRoles(row.user_id)
      return { userId: row.user_id, link: 'existing' as const, rolesBefore: row.roles }
    }
    const email = id.email?.trim().toLowerCase()
    const byEmail = email ? await client.query<Row>('select user_id, roles, disabled, sso_subject from staff_users where email = $1 for update', [email]) : { rows: [] }
    const existing = byEmail.rows[0]
    if (existing) {
      if (existing.sso_subject !== null) throw new DomainError('FORBIDDEN', 'this e-mail belongs to a staff account linked to another identity')
      if (!policy.linkByEmail || !id.emailVerified) throw new DomainError('FORBIDDEN', 'a staff account has this e-mail, and linking by e-mail is off or the e-mail is not verified')
      if (existing.disabled) throw new DomainError('FORBIDDEN', 'this staff account is disabled')
      await client.query('update staff_users set sso_issuer = $2, sso_subject = $3, roles = $4, updated_at = now() where user_id = $1', [existing.user_id, id.issuer, id.subject, id.roles])
      return { userId: existing.user_id, link: 'linked' as const, rolesBefore: existing.roles }
    }
    if (!policy.createUsers) throw new DomainError('FORBIDDEN', 'no staff account for this identity, and creating accounts on single sign-on is off')
    if (!email) throw new DomainError('FORBIDDEN', 'the OpenID Provider gave no e-mail for this identity')
    const userId = randomUUID()
    await client.query('insert into staff_users (user_id, email, name, password_hash, totp_secret, roles, sso_issuer, sso_subject) values ($1, $2, $3, null, null, $4, $5, $6)',
      [userId, email, id.name, id.roles, id.issuer, id.subject])
    return { userId, link: 'created' as const, rolesBefore: null }
  })
}
