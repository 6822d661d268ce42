/**
 * The TPP's steps, each one command: register (DCR), consent / payment-consent (create the consent, PAR), callback
 * (state, nonce, decrypted id_token, code exchange), call (one regulated call), pay (a Pix payment of the authorised
 * consent). Each prints what it sends and what it gets, and keeps what the next step needs in the bundle's state.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { decodeJwt } from 'jose'
import * as oidc from 'openid-client'
import { readBundle, readState, writeState, STATE_FILE, type BankInfo, type Bundle, type PaymentIntent, type StoredTokens, type TppState } from './bundle.ts'
import { DEMO_PIX_KEYS, type PixCreditor } from './demo-pix-keys.ts'
import { clientConfig, discoverBank, freshSsa, httpClients, issuerOf, pushAuthorisation, serverMetadata, signBody, verifyAnswer, type Http } from './protocol.ts'

/** Where a command writes (stdout by default). */
export type Out = (line: string) => void

/** The permission prefixes of the Consents API and the scope each needs (docs/regulation/dcr.md#roles-and-allowed-scopes). */
const SCOPE_OF_PERMISSION: ReadonlyArray<[prefix: string, scope: string]> = [
  ['ACCOUNTS_', 'accounts'], ['CREDIT_CARDS_ACCOUNTS_', 'credit-cards-accounts'], ['CUSTOMERS_', 'customers'],
  ['LOANS_', 'loans'], ['FINANCINGS_', 'financings'], ['INVOICE_FINANCINGS_', 'invoice-financings'],
  ['UNARRANGED_ACCOUNTS_OVERDRAFT_', 'unarranged-accounts-overdraft'], ['RESOURCES_', 'resources'],
]

/** The scopes a data consent's token needs for `permissions`. */
export function scopesFor(permissions: string[]): string[] {
  const scopes = new Set<string>()
  for (const p of permissions) {
    const hit = SCOPE_OF_PERMISSION.find(([prefix]) => p.startsWith(prefix))
    if (!hit) throw new Error(`unknown permission ${p}`)
    scopes.add(hit[1])
  }
  return [...scopes]
}

/** Today in Brasília (payment dates are Brasília dates: docs/regulation/payments.md#payment-consent-body). */
export function brasiliaDate(now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(now)
}

/** A Pix end-to-end id: `E` + the initiator's ISPB + the UTC date and time (yyyyMMddHHmm) + 11 alphanumerics. */
export function endToEndId(ispb: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-T:]/g, '').slice(0, 12)
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  const tail = [...randomBytes(11)].map((b) => alphabet[b % alphabet.length]).join('')
  return `E${ispb}${stamp}${tail}`
}

/** How a call is authorised, from the API and the operation (the specs' security schemes). */
export type TokenKind = 'none' | 'client' | 'consent'

/** The token a regulated operation needs, and the client-credentials scope when it is one. */
export function tokenFor(method: string, path: string): { kind: TokenKind; scope?: string; payment: boolean } {
  const p = path.split('?')[0]!
  if (/^\/open-banking\/(channels|opendata-[a-z-]+|discovery|admin|products-services)\//.test(p)) return { kind: 'none', payment: false }
  if (/^\/open-banking\/consents\/v\d+\/consents(\/[^/]+)?\/extends$/.test(p)) return { kind: 'consent', payment: false }
  if (/^\/open-banking\/consents\//.test(p)) return { kind: 'client', scope: 'consents', payment: false }
  if (/^\/open-banking\/payments\/v\d+\/pix\/payments$/.test(p) && method === 'POST') return { kind: 'consent', payment: true }
  if (/^\/open-banking\/payments\//.test(p)) return { kind: 'client', scope: 'payments', payment: true }
  return { kind: 'consent', payment: false }
}

interface Context {
  bundle: Bundle
  state: TppState
  http: Http
  out: Out
}

async function withBundle<T>(dir: string, out: Out, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const bundle = await readBundle(dir)
  const state = await readState(dir)
  const http = httpClients(bundle)
  try {
    return await fn({ bundle, state, http, out })
  } finally {
    await http.close()
  }
}

function registered(ctx: Context): { bank: BankInfo; clientId: string } {
  if (!ctx.state.bank || !ctx.state.client) throw new Error(`no registered client in ${ctx.bundle.dir}: run \`pnpm ponte tpp register --bundle ${ctx.bundle.dir}\` first`)
  return { bank: ctx.state.bank, clientId: ctx.state.client.clientId }
}

function api(bank: BankInfo, family: string, version: number): string {
  const base = bank.apis[`${family}@${version}`]
  if (!base) throw new Error(`the bank publishes no ${family} v${version} API in the participants list`)
  return base
}

/** The origin of the bank's regulated APIs (the gateway), from its published endpoints. */
function apiOrigin(bank: BankInfo): string {
  const any = Object.values(bank.apis)[0]
  if (!any) throw new Error('the bank publishes no API endpoints in the participants list')
  return new URL(any).origin
}

const short = (token: string) => (token.length > 24 ? `${token.slice(0, 12)}…${token.slice(-6)} (${token.length} characters)` : token)

function printHeaders(out: Out, headers: Record<string, string>) {
  for (const [k, v] of Object.entries(headers)) out(`  ${k}: ${k === 'authorization' ? `Bearer ${short(v.replace(/^Bearer /, ''))}` : v}`)
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2).split('\n').map((l) => `  ${l}`).join('\n')
}

/** One exchange with the bank's APIs over mTLS, printed; JWS answers verified and decoded. */
interface Answer { status: number; contentType: string; body: unknown; claims?: Record<string, unknown>; interactionId: string }

async function exchange(ctx: Context, bank: BankInfo, o: { method: string; url: string; token?: string; json?: unknown; jws?: { body: Record<string, unknown>; aud: string }; idempotencyKey?: string }): Promise<Answer> {
  const interactionId = randomUUID()
  const headers: Record<string, string> = { 'x-fapi-interaction-id': interactionId, accept: o.jws ? 'application/jwt, application/json' : 'application/json' }
  if (o.token) headers.authorization = `Bearer ${o.token}`
  let payload: string | undefined
  if (o.jws) {
    payload = await signBody(ctx.bundle, o.jws.aud, o.jws.body)
    headers['content-type'] = 'application/jwt'
  } else if (o.json !== undefined) {
    payload = JSON.stringify(o.json)
    headers['content-type'] = 'application/json'
  }
  if (o.idempotencyKey) headers['x-idempotency-key'] = o.idempotencyKey
  ctx.out(`> ${o.method} ${o.url}`)
  printHeaders(ctx.out, headers)
  if (o.jws) ctx.out(`  (body: a PS256 JWS by kid ${ctx.bundle.signing.kid}, aud ${o.jws.aud}, iss ${ctx.bundle.organisationId}, with the claims)\n${pretty(o.jws.body)}`)
  else if (o.json !== undefined) ctx.out(pretty(o.json))
  const res = await ctx.http.mtls(o.url, { method: o.method, headers, ...(payload === undefined ? {} : { body: payload }) })
  const text = await res.text()
  const contentType = res.headers.get('content-type') ?? ''
  ctx.out(`< ${res.status} ${res.statusText}`)
  const shown: Record<string, string> = {}
  for (const h of ['content-type', 'x-fapi-interaction-id', 'x-v', 'retry-after']) {
    const v = res.headers.get(h)
    if (v) shown[h] = v
  }
  printHeaders(ctx.out, shown)
  const echoed = res.headers.get('x-fapi-interaction-id')
  if (echoed && echoed !== interactionId) ctx.out(`  WARNING: x-fapi-interaction-id ${echoed} is not the one sent (${interactionId})`)
  if (contentType.startsWith('application/jwt')) {
    const { kid, claims } = await verifyAnswer(text.trim(), bank, ctx.http)
    ctx.out(`  (signed answer: PS256 by the bank's key ${kid ?? '(no kid)'}, verified with its published keys; claims)\n${pretty(claims)}`)
    return { status: res.status, contentType, body: text, claims, interactionId }
  }
  let body: unknown = text
  if (text && contentType.includes('json')) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  if (text) ctx.out(typeof body === 'string' ? `  ${body}` : pretty(body))
  return { status: res.status, contentType, body, interactionId }
}

function refusal(what: string, a: Answer): Error {
  const body = (a.claims ?? a.body) as { errors?: Array<{ code?: string; title?: string; detail?: string }>; error?: string; error_description?: string } | undefined
  const detail = body?.errors?.map((e) => `${e.code}: ${e.detail ?? e.title ?? ''}`).join('; ') ?? (body?.error ? `${body.error}: ${body.error_description ?? ''}` : '')
  return new Error(`${what} failed with ${a.status}${detail ? ` (${detail})` : ''}`)
}

function oauthError(what: string, err: unknown): Error {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    return new Error(`${what}: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`)
  }
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : ''
  return new Error(`${what}: ${err instanceof Error ? err.message : String(err)}${cause}`)
}

// ---------------------------------------------------------------------------------------------------------------

/** Options of {@link register}. */
export interface RegisterOptions { bank?: string }

/** DCR: a fresh SSA over mTLS, the bank from the participants list, a complete registration body; stores the client. */
export async function register(dir: string, o: RegisterOptions, out: Out): Promise<{ clientId: string; registrationAccessToken: string }> {
  return withBundle(dir, out, async (ctx) => {
    const { bundle, http } = ctx
    const ssa = await freshSsa(bundle, http)
    const claims = decodeJwt(ssa)
    const roles = (claims.software_roles as string[] | undefined) ?? []
    const redirectUris = (claims.software_redirect_uris as string[] | undefined) ?? []
    const webhookUris = (claims.software_api_webhook_uris as string[] | undefined) ?? []
    out(`Fresh SSA from ${bundle.directory} (software statement ${bundle.softwareStatementId}, roles ${roles.join(', ') || 'none'}).`)
    const { bank, ownCnpj } = await discoverBank(bundle, http, o.bank)
    const metadata = await serverMetadata(bank, http)
    if (!metadata.registration_endpoint) throw new Error(`${bank.discoveryUrl} names no registration_endpoint`)
    out(`Bank: ${bank.name} (organisation ${bank.organisationId}), authorisation server ${metadata.issuer}.`)
    const grantTypes = roles.some((r) => r === 'DADOS' || r === 'PAGTO') ? ['client_credentials', 'authorization_code', 'refresh_token'] : ['client_credentials']
    // The DCR-BR example's fields (dcr-dcm-v2.0.1.yaml ClientRegistrationRequest), within docs/regulation/dcr.md#allowed-metadata-values.
    const body = {
      software_statement: ssa,
      redirect_uris: redirectUris,
      ...(webhookUris.length ? { webhook_uris: webhookUris } : {}),
      jwks_uri: claims.software_jwks_uri,
      grant_types: grantTypes,
      response_types: ['code id_token'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'PS256',
      id_token_signed_response_alg: 'PS256',
      id_token_encrypted_response_alg: 'RSA-OAEP',
      id_token_encrypted_response_enc: 'A256GCM',
      request_object_signing_alg: 'PS256',
      require_pushed_authorization_requests: true,
      tls_client_certificate_bound_access_tokens: true,
      subject_type: 'public',
      application_type: 'web',
    }
    out(`> POST ${metadata.registration_endpoint} (mTLS with transport.chain.pem)`)
    out(pretty({ ...body, software_statement: `<the fresh SSA, ${ssa.length} characters>` }))
    const res = await http.mtls(metadata.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const answer = await res.json().catch(() => ({})) as Record<string, unknown>
    out(`< ${res.status} ${res.statusText}`)
    if (res.status !== 201) throw new Error(`registration refused with ${res.status}: ${String(answer.error ?? '')} ${String(answer.error_description ?? '')}`.trim())
    out(pretty({ ...answer, registration_access_token: short(String(answer.registration_access_token)) }))
    const clientId = String(answer.client_id)
    const registrationAccessToken = String(answer.registration_access_token)
    const previous = ctx.state.client?.clientId
    const state: TppState = {
      ...(ownCnpj ? { organisationCnpj: ownCnpj } : {}),
      bank,
      client: { clientId, registrationAccessToken, ...(answer.registration_client_uri ? { registrationClientUri: String(answer.registration_client_uri) } : {}), registeredAt: new Date().toISOString() },
    }
    await writeState(bundle.dir, state)
    out(`
Registered.
  client_id                  ${clientId}
  registration_access_token  ${registrationAccessToken}
Saved in ${bundle.dir}/${STATE_FILE} (mode 0600)${previous ? `; it replaces client ${previous} (pending authorisations and tokens dropped)` : ''}.
Next: pnpm ponte tpp consent --bundle ${dir} --permissions ACCOUNTS_READ,ACCOUNTS_BALANCES_READ,RESOURCES_READ`)
    return { clientId, registrationAccessToken }
  })
}

/** Options of {@link consent}. */
export interface ConsentOptions { permissions: string[]; cpf: string; cnpj?: string; expirationDateTime?: string; redirectUri?: string }

function redirectUriOf(ssaRedirects: string[] | undefined, wanted: string | undefined): string {
  if (wanted) return wanted
  const first = ssaRedirects?.[0]
  if (!first) throw new Error('no redirect URI: pass --redirect-uri')
  return first
}

async function registeredRedirects(ctx: Context, config: oidc.Configuration): Promise<string[]> {
  const fromMetadata = config.clientMetadata().redirect_uris as string[] | undefined
  if (fromMetadata?.length) return fromMetadata
  // The client's registration (DCM read) has its redirect URIs.
  const c = ctx.state.client!
  if (!c.registrationClientUri) return []
  const res = await ctx.http.mtls(c.registrationClientUri, { headers: { authorization: `Bearer ${c.registrationAccessToken}` } })
  if (!res.ok) return []
  return ((await res.json()) as { redirect_uris?: string[] }).redirect_uris ?? []
}

/** Creates a data consent (client_credentials, Consents API), pushes its authorisation request; the URL to open. */
export async function consent(dir: string, o: ConsentOptions, out: Out): Promise<{ consentId: string; url: string }> {
  return withBundle(dir, out, async (ctx) => {
    const { bank, clientId } = registered(ctx)
    const scopes = scopesFor(o.permissions)
    const config = await clientConfig(ctx.bundle, bank, clientId, ctx.http)
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'consents' }).catch((err: unknown) => { throw oauthError('client_credentials (scope consents)', err) })
    out(`client_credentials token (scope ${cc.scope ?? 'consents'}), private_key_jwt over mTLS.\n`)
    const base = api(bank, 'consents', 3)
    const data: Record<string, unknown> = {
      loggedUser: { document: { identification: o.cpf, rel: 'CPF' } },
      ...(o.cnpj ? { businessEntity: { document: { identification: o.cnpj, rel: 'CNPJ' } } } : {}),
      permissions: o.permissions,
      ...(o.expirationDateTime ? { expirationDateTime: o.expirationDateTime } : {}),
    }
    const created = await exchange(ctx, bank, { method: 'POST', url: `${base}/consents`, token: cc.access_token, json: { data } })
    if (created.status !== 201) throw refusal('creating the consent', created)
    const consentId = (created.body as { data: { consentId: string } }).data.consentId
    const redirectUri = redirectUriOf(await registeredRedirects(ctx, config), o.redirectUri)
    const par = await pushAuthorisation(ctx.bundle, config, { redirectUri, scope: ['openid', `consent:${consentId}`, ...scopes].join(' ') })
      .catch((err: unknown) => { throw oauthError('PAR', err) })
    await writeState(ctx.bundle.dir, { ...ctx.state, pending: { kind: 'data', consentId, redirectUri, state: par.state, nonce: par.nonce, codeVerifier: par.codeVerifier, createdAt: new Date().toISOString() } })
    printAuthorise(out, dir, par.url, consentId, 'data', redirectUri)
    return { consentId, url: par.url.href }
  })
}

function printAuthorise(out: Out, dir: string, url: URL, consentId: string, kind: 'data' | 'payment', redirectUri: string) {
  out(`
Consent ${consentId} is AWAITING_AUTHORISATION. Pushed the authorisation request (PAR, request object signed PS256,
PKCE S256, response type code id_token); state, nonce and the PKCE verifier are kept in the bundle.

Open this URL in a browser and log in as the customer${kind === 'payment' ? ' (then the 6-digit TOTP code)' : ''}:

${url.href}

The browser ends on ${redirectUri}#code=…&id_token=…&state=… (a page that may not load: copy its address), then:
  pnpm ponte tpp callback --bundle ${dir} '<that address>'`)
}

/** Options of {@link paymentConsent}. */
export interface PaymentConsentOptions {
  amount: string
  pixKey: string
  cpf: string
  cnpj?: string
  creditor?: Partial<Pick<PixCreditor, 'name' | 'cpfCnpj'>> & { account?: PixCreditor['account'] }
  date?: string
  redirectUri?: string
}

/** Creates a Pix payment consent (client_credentials, signed request, signed answer), pushes its authorisation request. */
export async function paymentConsent(dir: string, o: PaymentConsentOptions, out: Out): Promise<{ consentId: string; url: string }> {
  if (!/^((\d{1,16}\.\d{2}))$/.test(o.amount) || Number(o.amount) <= 0) throw new Error(`--amount must be a positive amount with two decimals (e.g. 1.23), not "${o.amount}"`)
  return withBundle(dir, out, async (ctx) => {
    const { bank, clientId } = registered(ctx)
    const demo = DEMO_PIX_KEYS[o.pixKey]
    const name = o.creditor?.name ?? demo?.name
    const document = o.creditor?.cpfCnpj ?? demo?.cpfCnpj
    const account = o.creditor?.account ?? demo?.account
    if (!name || !document || !account) throw new Error(`${o.pixKey} is not a demo Pix key: pass --creditor-name, --creditor-document and --creditor-account ISPB/BRANCH/NUMBER/TYPE`)
    const config = await clientConfig(ctx.bundle, bank, clientId, ctx.http)
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'payments' }).catch((err: unknown) => { throw oauthError('client_credentials (scope payments)', err) })
    out(`client_credentials token (scope ${cc.scope ?? 'payments'}), private_key_jwt over mTLS.\n`)
    const base = api(bank, 'payments-consents', 4)
    const date = o.date ?? brasiliaDate()
    const details = { localInstrument: 'DICT' as const, proxy: o.pixKey, creditorAccount: account }
    const data = {
      loggedUser: { document: { identification: o.cpf, rel: 'CPF' } },
      ...(o.cnpj ? { businessEntity: { document: { identification: o.cnpj, rel: 'CNPJ' } } } : {}),
      creditor: { personType: document.length === 14 ? 'PESSOA_JURIDICA' : 'PESSOA_NATURAL', cpfCnpj: document, name },
      payment: { type: 'PIX', date, currency: 'BRL', amount: o.amount, details },
    }
    const url = `${base}/consents`
    const created = await exchange(ctx, bank, { method: 'POST', url, token: cc.access_token, jws: { body: { data }, aud: url }, idempotencyKey: randomUUID() })
    if (created.status !== 201) throw refusal('creating the payment consent', created)
    const consentId = (created.claims!.data as { consentId: string }).consentId
    const redirectUri = redirectUriOf(await registeredRedirects(ctx, config), o.redirectUri)
    const par = await pushAuthorisation(ctx.bundle, config, { redirectUri, scope: `openid consent:${consentId} payments`, claims: { cpf: { essential: true } } })
      .catch((err: unknown) => { throw oauthError('PAR', err) })
    const payment: PaymentIntent = { consentId, apiBase: api(bank, 'payments-pix', 4), amount: o.amount, proxy: o.pixKey, localInstrument: 'DICT', creditorAccount: account, date }
    await writeState(ctx.bundle.dir, { ...ctx.state, payment, pending: { kind: 'payment', consentId, redirectUri, state: par.state, nonce: par.nonce, codeVerifier: par.codeVerifier, createdAt: new Date().toISOString() } })
    printAuthorise(out, dir, par.url, consentId, 'payment', redirectUri)
    return { consentId, url: par.url.href }
  })
}

/** Finishes the pending authorisation with the URL the browser landed on: checks, exchanges the code, stores the tokens. */
export async function callback(dir: string, landed: string, out: Out): Promise<StoredTokens> {
  return withBundle(dir, out, async (ctx) => {
    const { bank, clientId } = registered(ctx)
    const pending = ctx.state.pending
    if (!pending) throw new Error('no authorisation is pending: run `pnpm ponte tpp consent` or `payment-consent` first')
    let url: URL
    try {
      url = new URL(landed)
    } catch {
      throw new Error(`not a URL: ${landed}`)
    }
    if (`${url.origin}${url.pathname}` !== pending.redirectUri) throw new Error(`the URL is not the redirect URI of the pending authorisation (${pending.redirectUri})`)
    const fragment = new URLSearchParams(url.hash.slice(1))
    // The state first, with its own message (openid-client checks it again, with the rest).
    if (fragment.get('state') !== pending.state) throw new Error(`the state in the address is not the pending authorisation's (consent ${pending.consentId}): an old or forged response; nothing was exchanged`)
    if (fragment.get('error')) {
      await writeState(ctx.bundle.dir, { ...ctx.state, pending: undefined })
      throw new Error(`the bank answered ${fragment.get('error')}${fragment.get('error_description') ? ` (${fragment.get('error_description')})` : ''}; consent ${pending.consentId} was not authorised`)
    }
    const config = await clientConfig(ctx.bundle, bank, clientId, ctx.http)
    // openid-client checks state, decrypts the id_token (RSA-OAEP/A256GCM), verifies it (PS256, iss, aud, nonce,
    // c_hash, s_hash), and exchanges the code with the PKCE verifier (private_key_jwt over mTLS).
    const tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce })
      .catch((err: unknown) => { throw oauthError('the authorisation response', err) })
    const idToken = tokens.claims()
    const at = decodeJwt(tokens.access_token)
    const stored: StoredTokens = {
      kind: pending.kind, consentId: pending.consentId, accessToken: tokens.access_token,
      ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
      ...(typeof at.exp === 'number' ? { expiresAt: at.exp } : {}),
      ...(tokens.scope ? { scope: tokens.scope } : {}),
    }
    await writeState(ctx.bundle.dir, { ...ctx.state, pending: undefined, tokens: { ...ctx.state.tokens, [pending.kind]: stored } })
    out(`State and nonce match; the id_token was decrypted (RSA-OAEP, A256GCM) and verified (PS256, issuer ${issuerOf(bank.discoveryUrl).href.replace(/\/$/, '')}).
id_token claims:
${pretty({ sub: idToken?.sub, acr: idToken?.acr, auth_time: idToken?.auth_time, ...(idToken?.cpf ? { cpf: idToken.cpf } : {}) })}
Tokens of consent ${pending.consentId} (${pending.kind}):
  access_token   ${short(tokens.access_token)}, scope "${String(at.scope ?? tokens.scope ?? '')}", expires ${typeof at.exp === 'number' ? new Date(at.exp * 1000).toISOString() : '?'}
  refresh_token  ${tokens.refresh_token ? 'yes' : 'none'}
Saved in ${ctx.bundle.dir}/${STATE_FILE}.
Next: ${pending.kind === 'data' ? `pnpm ponte tpp call --bundle ${dir} GET /open-banking/accounts/v2/accounts` : `pnpm ponte tpp pay --bundle ${dir}`}`)
    return stored
  })
}

/** A usable access token of the consent kind `kind`, refreshed when it expired. */
async function consentToken(ctx: Context, config: oidc.Configuration, kind: 'data' | 'payment'): Promise<string> {
  const t = ctx.state.tokens?.[kind]
  if (!t) throw new Error(`no ${kind} consent is authorised in this bundle: run \`pnpm ponte tpp ${kind === 'data' ? 'consent' : 'payment-consent'}\` and \`callback\` first`)
  if (t.expiresAt === undefined || t.expiresAt > Date.now() / 1000 + 10) return t.accessToken
  if (!t.refreshToken) throw new Error(`the ${kind} access token expired and there is no refresh token: authorise a new consent`)
  const fresh = await oidc.refreshTokenGrant(config, t.refreshToken).catch((err: unknown) => { throw oauthError('refreshing the access token', err) })
  const exp = decodeJwt(fresh.access_token).exp
  const next: StoredTokens = { ...t, accessToken: fresh.access_token, ...(typeof exp === 'number' ? { expiresAt: exp } : {}) }
  ctx.state.tokens = { ...ctx.state.tokens, [kind]: next }
  await writeState(ctx.bundle.dir, ctx.state)
  ctx.out('(the access token had expired: refreshed with the refresh token)')
  return next.accessToken
}

/** Options of {@link call}. */
export interface CallOptions { body?: unknown; token?: TokenKind; scope?: string }

/** One regulated call with what a TPP must send; prints the request and the answer. */
export async function call(dir: string, method: string, path: string, o: CallOptions, out: Out): Promise<Answer> {
  const m = method.toUpperCase()
  if (!/^(GET|POST|PUT|PATCH|DELETE)$/.test(m)) throw new Error(`unsupported method ${method}`)
  if (!path.startsWith('/open-banking/')) throw new Error(`the path must start with /open-banking/ (got ${path})`)
  if (/[{}]/.test(path)) throw new Error(`fill in the path parameters of ${path}`)
  return withBundle(dir, out, async (ctx) => {
    const { bank, clientId } = registered(ctx)
    const need = tokenFor(m, path)
    const kind = o.token ?? need.kind
    const config = kind === 'none' ? undefined : await clientConfig(ctx.bundle, bank, clientId, ctx.http)
    let token: string | undefined
    if (kind === 'client') {
      const scope = o.scope ?? need.scope ?? 'consents'
      token = (await oidc.clientCredentialsGrant(config!, { scope }).catch((err: unknown) => { throw oauthError(`client_credentials (scope ${scope})`, err) })).access_token
      out(`(client_credentials token, scope ${scope})`)
    } else if (kind === 'consent') {
      const which = need.payment ? 'payment' : 'data'
      token = await consentToken(ctx, config!, which)
      out(`(access token of the ${which} consent ${ctx.state.tokens![which]!.consentId})`)
    }
    const url = `${apiOrigin(bank)}${path}`
    const signed = need.payment && o.body !== undefined
    if (o.body !== undefined && (typeof o.body !== 'object' || o.body === null || Array.isArray(o.body))) throw new Error('the body must be a JSON object')
    return exchange(ctx, bank, {
      method: m, url, ...(token ? { token } : {}),
      ...(signed ? { jws: { body: o.body as Record<string, unknown>, aud: url.split('?')[0]! }, idempotencyKey: randomUUID() } : o.body !== undefined ? { json: o.body } : {}),
    })
  })
}

/** Options of {@link pay}. */
export interface PayOptions { ispb?: string; remittanceInformation?: string; wait?: boolean; waitSeconds?: number }

const FINAL = new Set(['ACSC', 'RJCT', 'CANC'])

/** The Pix payment of the authorised payment consent: signed request, idempotency key, verified answer. */
export async function pay(dir: string, o: PayOptions, out: Out): Promise<{ paymentId: string; status: string }> {
  return withBundle(dir, out, async (ctx) => {
    const { bank, clientId } = registered(ctx)
    const intent = ctx.state.payment
    const tokens = ctx.state.tokens?.payment
    if (!intent || !tokens || tokens.consentId !== intent.consentId) throw new Error('no authorised payment consent in this bundle: run `pnpm ponte tpp payment-consent` and `callback` first')
    const cnpj = ctx.state.organisationCnpj
    if (!cnpj) throw new Error('the organisation\'s CNPJ is unknown (not in the participants list): register again')
    const config = await clientConfig(ctx.bundle, bank, clientId, ctx.http)
    const token = await consentToken(ctx, config, 'payment')
    const url = `${intent.apiBase}/pix/payments`
    // The ISPB of the initiator: by BCB convention the first 8 digits of its CNPJ.
    const item = {
      endToEndId: endToEndId(o.ispb ?? cnpj.slice(0, 8)),
      localInstrument: intent.localInstrument,
      payment: { amount: intent.amount, currency: 'BRL' },
      creditorAccount: intent.creditorAccount,
      proxy: intent.proxy,
      cnpjInitiator: cnpj,
      ...(o.remittanceInformation ? { remittanceInformation: o.remittanceInformation } : {}),
    }
    const answer = await exchange(ctx, bank, { method: 'POST', url, token, jws: { body: { data: [item] }, aud: url }, idempotencyKey: randomUUID() })
    if (answer.status !== 201) throw refusal('the payment', answer)
    const first = (answer.claims!.data as Array<{ paymentId: string; status: string }>)[0]!
    let status = first.status
    out(`\nPayment ${first.paymentId}: ${status}.`)
    if (o.wait && !FINAL.has(status)) {
      const deadline = Date.now() + (o.waitSeconds ?? 30) * 1000
      const cc = (await oidc.clientCredentialsGrant(config, { scope: 'payments' }).catch((err: unknown) => { throw oauthError('client_credentials (scope payments)', err) })).access_token
      while (!FINAL.has(status) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000))
        const got = await exchange(ctx, bank, { method: 'GET', url: `${url}/${encodeURIComponent(first.paymentId)}`, token: cc })
        if (got.status !== 200) throw refusal('reading the payment', got)
        status = (got.claims!.data as { status: string }).status
        out(`Payment ${first.paymentId}: ${status}.`)
      }
      if (!FINAL.has(status)) out(`(still ${status} after ${o.waitSeconds ?? 30} s)`)
    }
    out(`Follow it: pnpm ponte tpp call --bundle ${dir} GET ${new URL(url).pathname}/${first.paymentId}`)
    return { paymentId: first.paymentId, status }
  })
}

/** Reads a JSON body file (a sample request or the developer's own). */
export async function readBodyFile(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`cannot read ${file}`)
  })
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${file} is not valid JSON`)
  }
}
