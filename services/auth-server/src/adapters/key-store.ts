import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { withTransaction, type Pool } from '@ponte/platform'
import { open, seal } from '../domain/sealed-box.ts'

/** A private JWK as oidc-provider's `jwks` option takes it. */
export type PrivateJwk = JWK & { kid: string; use: 'sig' | 'enc'; alg: string }

/** One stored key, without its private part. */
export interface KeyInfo {
  kid: string
  use: 'sig' | 'enc'
  alg: string
  status: 'active' | 'retiring'
  createdAt: Date
  retireAt: Date | null
}

/**
 * The auth-server's signing (PS256) and encryption (RSA-OAEP) keys, stored in `signing_keys` sealed with the master
 * key. The published key set is every active key plus every retiring key whose grace period has not ended; the
 * active keys come first, so oidc-provider signs with them.
 */
export interface KeyStore {
  /** Creates one signing and one encryption key when none is active (first start). Returns the kids created. */
  ensureKeys(): Promise<string[]>
  /** The private key set to give the provider, active keys first. */
  privateJwks(): Promise<PrivateJwk[]>
  /** A fingerprint of the published set; it changes when a key is added or retired. */
  version(): Promise<string>
  /** Adds a new active signing and encryption key; the previous ones stay published for `graceSeconds`. */
  rotate(graceSeconds: number): Promise<{ added: string[]; retiring: string[] }>
  /** Deletes keys whose grace period ended; returns their kids. */
  prune(): Promise<string[]>
  list(): Promise<KeyInfo[]>
}

/** Generates an RSA 2048 private JWK for `use` (PS256 signing or RSA-OAEP encryption). */
export async function generateKey(use: 'sig' | 'enc'): Promise<PrivateJwk> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = privateKey.export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n!, e: jwk.e! }, 'sha256')
  return { ...jwk, kid, use, alg: use === 'sig' ? 'PS256' : 'RSA-OAEP' }
}

/** Creates the key store over `pool` (schema `auth`), sealing private keys with the 32-byte `masterKey`. */
export function createKeyStore(pool: Pool, masterKey: Buffer): KeyStore {
  if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes')

  async function insert(client: Pick<Pool, 'query'>, jwk: PrivateJwk): Promise<void> {
    await client.query("insert into signing_keys (kid, use, alg, sealed_jwk, status) values ($1, $2, $3, $4, 'active')",
      [jwk.kid, jwk.use, jwk.alg, seal(masterKey, JSON.stringify(jwk), jwk.kid)])
  }

  return {
    async ensureKeys() {
      const created: string[] = []
      await withTransaction(pool, async (client) => {
        // One start-up creates the keys even when replicas start together.
        await client.query("select pg_advisory_xact_lock(hashtext('auth-server:signing_keys'))")
        const { rows } = await client.query<{ use: string }>("select distinct use from signing_keys where status = 'active'")
        for (const use of ['sig', 'enc'] as const) {
          if (rows.some((r) => r.use === use)) continue
          const jwk = await generateKey(use)
          await insert(client, jwk)
          created.push(jwk.kid)
        }
      })
      return created
    },
    async privateJwks() {
      const { rows } = await pool.query<{ kid: string; sealed_jwk: string }>(
        `select kid, sealed_jwk from signing_keys where retire_at is null or retire_at > now()
          order by case status when 'active' then 0 else 1 end, created_at desc`)
      return rows.map((r) => JSON.parse(open(masterKey, r.sealed_jwk, r.kid)) as PrivateJwk)
    },
    async version() {
      const { rows } = await pool.query<{ v: string | null }>(
        `select string_agg(kid || ':' || status, ',' order by kid) as v from signing_keys where retire_at is null or retire_at > now()`)
      return rows[0]?.v ?? ''
    },
    async rotate(graceSeconds) {
      const added: string[] = []
      return withTransaction(pool, async (client) => {
        await client.query("select pg_advisory_xact_lock(hashtext('auth-server:signing_keys'))")
        const { rows } = await client.query<{ kid: string }>(
          `update signing_keys set status = 'retiring', retire_at = now() + make_interval(secs => $1::int)
            where status = 'active' returning kid`, [graceSeconds])
        for (const use of ['sig', 'enc'] as const) {
          const jwk = await generateKey(use)
          await insert(client, jwk)
          added.push(jwk.kid)
        }
        return { added, retiring: rows.map((r) => r.kid) }
      })
    },
    async prune() {
      const { rows } = await pool.query<{ kid: string }>(
        "delete from signing_keys where status = 'retiring' and retire_at <= now() returning kid")
      return rows.map((r) => r.kid)
    },
    async list() {
      const { rows } = await pool.query<{ kid: string; use: 'sig' | 'enc'; alg: string; status: 'active' | 'retiring'; created_at: Date; retire_at: Date | null }>(
        'select kid, use, alg, status, created_at, retire_at from signing_keys order by created_at')
      return rows.map((r) => ({ kid: r.kid, use: r.use, alg: r.alg, status: r.status, createdAt: r.created_at, retireAt: r.retire_at }))
    },
  }
}
