/**
 * A TPP's bundle folder as `pnpm ponte tpp onboard` writes it (certificates, keys, the software statement's ids) and the
 * kit's own state beside it (`tpp-state.json`, mode 0600): the bank found in the directory, the registered client, the
 * pending authorisation (state, nonce, PKCE verifier) and the tokens. Nothing here is Ponte-specific: any bundle with
 * these files from any directory works.
 */
import { randomUUID } from 'node:crypto'
import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/** The key material and identifiers of the bundle (read-only). */
export interface Bundle {
  dir: string
  organisationId: string
  softwareStatementId: string
  /** Base URL of the central directory that issued the software statement. */
  directory: string
  transport: { chainPem: string; privateKeyPem: string }
  /** Trust anchors of the bank's and the directory's TLS servers. */
  caBundlePem: string
  signing: { privateJwk: Record<string, unknown>; kid: string }
  encryption: { privateJwk: Record<string, unknown>; kid: string }
}

/** The bank as the participants list describes it. */
export interface BankInfo {
  organisationId: string
  name: string
  /** `OpenIDDiscoveryDocument` of its authorisation server. */
  discoveryUrl: string
  /** Where the bank publishes its payload-signing keys (signed payment answers). */
  payloadSigningJwksUri: string
  /** API family@major → base URL (e.g. `accounts@2` → `https://bank/open-banking/accounts/v2`). */
  apis: Record<string, string>
}

/** An authorisation started by `consent` / `payment-consent`, finished by `callback`. */
export interface Pending {
  kind: 'data' | 'payment'
  consentId: string
  redirectUri: string
  state: string
  nonce: string
  codeVerifier: string
  createdAt: string
}

/** Tokens of an authorised consent. */
export interface StoredTokens {
  kind: 'data' | 'payment'
  consentId: string
  accessToken: string
  refreshToken?: string
  /** Epoch seconds. */
  expiresAt?: number
  scope?: string
}

/** What `pay` needs of the payment consent it was authorised for. */
export interface PaymentIntent {
  consentId: string
  apiBase: string
  amount: string
  proxy: string
  localInstrument: 'DICT'
  creditorAccount: { ispb: string; issuer: string; number: string; accountType: string }
  date: string
}

/** The kit's state (`tpp-state.json`). */
export interface TppState {
  organisationCnpj?: string
  bank?: BankInfo
  client?: { clientId: string; registrationAccessToken: string; registrationClientUri?: string; registeredAt: string }
  pending?: Pending
  tokens?: { data?: StoredTokens; payment?: StoredTokens }
  payment?: PaymentIntent
}

export const STATE_FILE = 'tpp-state.json'

async function readText(dir: string, file: string): Promise<string> {
  return readFile(join(dir, file), 'utf8').catch(() => {
    throw new Error(`${join(dir, file)} is missing: is ${dir} a bundle written by \`pnpm ponte tpp onboard\`?`)
  })
}

async function readJson<T>(dir: string, file: string): Promise<T> {
  const text = await readText(dir, file)
  try {
    return JSON.parse(text) as T
  } catch {
    throw new Error(`${join(dir, file)} is not valid JSON`)
  }
}

/** Reads the bundle in `dir`. */
export async function readBundle(dir: string): Promise<Bundle> {
  const abs = resolve(dir)
  const ss = await readJson<{ organisationId?: string; softwareStatementId?: string; directory?: string }>(abs, 'software-statement.json')
  if (!ss.organisationId || !ss.softwareStatementId || !ss.directory) throw new Error(`${join(abs, 'software-statement.json')} lacks organisationId, softwareStatementId or directory`)
  const signing = await readJson<Record<string, unknown>>(abs, 'signing.private.jwk.json')
  const encryption = await readJson<Record<string, unknown>>(abs, 'encryption.private.jwk.json')
  for (const [name, jwk] of [['signing', signing], ['encryption', encryption]] as const) {
    if (typeof jwk.kid !== 'string' || jwk.kty !== 'RSA' || typeof jwk.d !== 'string') throw new Error(`${name}.private.jwk.json is not a private RSA JWK with a kid`)
  }
  return {
    dir: abs,
    organisationId: ss.organisationId,
    softwareStatementId: ss.softwareStatementId,
    directory: ss.directory.replace(/\/+$/, ''),
    transport: { chainPem: await readText(abs, 'transport.chain.pem'), privateKeyPem: await readText(abs, 'transport.key.pem') },
    caBundlePem: await readText(abs, 'ca-bundle.pem'),
    signing: { privateJwk: signing, kid: signing.kid as string },
    encryption: { privateJwk: encryption, kid: encryption.kid as string },
  }
}

/** The kit's state of the bundle in `dir` (empty before `register`). */
export async function readState(dir: string): Promise<TppState> {
  const text = await readFile(join(resolve(dir), STATE_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (text === undefined) return {}
  try {
    return JSON.parse(text) as TppState
  } catch {
    throw new Error(`${join(resolve(dir), STATE_FILE)} is not valid JSON`)
  }
}

/**
 * Writes the state atomically (a temporary file renamed over the old one), readable by its owner only: it holds the
 * registration access token, the PKCE verifier and the tokens.
 */
export async function writeState(dir: string, state: TppState): Promise<void> {
  const file = join(resolve(dir), STATE_FILE)
  const tmp = `${file}.${randomUUID()}.tmp`
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
}
