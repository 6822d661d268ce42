import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, exportJWK, importJWK, SignJWT, type CryptoKey as JoseKey } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, type Pool } from '@ponte/platform'
import { loadOrCreateDevPki } from '@ponte/pki'
import { createTestTpp, repoRoot, testLogger, testSchema, waitFor, type TestTpp } from '@ponte/testkit'
import { createClientCache } from '../src/adapters/client-cache.ts'
import { onDirectoryEvent } from '../src/adapters/event-handlers.ts'
import { createPgAdapter } from '../src/adapters/pg-oidc-adapter.ts'

const replicaScript = fileURLToPath(new URL('./support/replica.ts', import.meta.url))

/** Starts one replica process; resolves with its issuer once it listens. */
function startReplica(options: Record<string, string>): Promise<{ issuer: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [replicaScript, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let buf = ''
    child.stdout!.on('data', (c) => {
      buf += String(c)
      const line = buf.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve({ issuer: (JSON.parse(line) as { issuer: string }).issuer, child })
    })
    child.once('exit', (code) => reject(new Error(`replica exited with ${code}`)))
  })
}

const stop = (child: ChildProcess | undefined) => new Promise<void>((resolve) => {
  if (!child || child.exitCode !== null) return resolve()
  child.once('exit', () => resolve())
  child.kill('SIGTERM')
})

describe('two auth-server processes side by side (one schema, one replay store)', () => {
  const schema = testSchema('auth_replicas')
  const { logger } = testLogger('auth-replicas-test')
  let a: { issuer: string; child: ChildProcess } | undefined
  let b: { issuer: string; child: ChildProcess } | undefined
  let pool: Pool
  let tpp: TestTpp
  let other: TestTpp
  let clientId: string
  let signingKey: JoseKey
  const clients = () => createClientCache(pool, createPgAdapter(pool), { schema: schema.name, logger })

  beforeAll(async () => {
    const pkiDir = `${repoRoot}.pki`
    const pki = await loadOrCreateDevPki(pkiDir)
    const options = { pkiDir, schema: schema.name, databaseUrl: schema.databaseUrl, masterKey: randomBytes(32).toString('base64') }
    // One after the other: the first creates the schema and the keys, the second loads them.
    a = await startReplica(options)
    b = await startReplica(options)
    pool = createPool({ url: schema.databaseUrl, schema: schema.name })
    tpp = await createTestTpp(pki.ca)
    other = await createTestTpp(pki.ca)
    signingKey = await importJWK(tpp.certificate.privateJwk as never, 'PS256') as JoseKey
    clientId = randomUUID()
    await createPgAdapter(pool)('Client').upsert(clientId, {
      client_id: clientId, client_id_issued_at: Math.floor(Date.now() / 1000), grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256', id_token_signed_response_alg: 'PS256',
      authorization_signed_response_alg: 'PS256', id_token_encrypted_response_alg: 'RSA-OAEP', id_token_encrypted_response_enc: 'A256GCM',
      tls_client_certificate_bound_access_tokens: true, scope: 'openid consents resources', org_id: tpp.orgId, software_id: tpp.softwareId, jwks: tpp.jwks,
    } as never, undefined as never)
  }, 120_000)

  afterAll(async () => {
    await Promise.all([stop(a?.child), stop(b?.child)])
    await pool?.end()
    await tpp?.close()
    await other?.close()
    await schema.drop()
  })

  /** A client assertion valid at both replicas (`aud` names both issuers). */
  const assertion = (over: { key?: JoseKey; kid?: string; iat?: number; nbf?: number; exp?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'PS256', kid: over.kid ?? tpp.certificate.kid })
      .setIssuer(clientId).setSubject(clientId).setAudience([a!.issuer, b!.issuer])
      .setIssuedAt(over.iat ?? now).setNotBefore(over.nbf ?? now).setExpirationTime(over.exp ?? now + 120).sign(over.key ?? signingKey)
  }
  const token = async (issuer: string, clientAssertion: string, fetchFn = tpp.fetch) => {
    const res = await fetchFn(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials', scope: 'consents',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion,
      }).toString(),
    })
    const body = await res.json() as { access_token?: string; error?: string; error_description?: string }
    return { status: res.status, ...body }
  }

  it('refuses a client assertion replayed at the other replica, and at the same one', async () => {
    const once = await assertion()
    const first = await token(a!.issuer, once)
    expect(first.status, JSON.stringify(first)).toBe(200)
    expect(first.access_token).toBeTruthy()
    for (const issuer of [b!.issuer, a!.issuer]) {
      const replay = await token(issuer, once)
      expect([replay.status, replay.error, replay.access_token]).toEqual([401, 'invalid_client', undefined])
    }
    // A fresh assertion is accepted by the other replica: the refusal was the replay, not the replica.
    expect((await token(b!.issuer, await assertion())).status).toBe(200)
  })

  it('lets exactly one of two simultaneous uses of an assertion win, across the two replicas', async () => {
    for (let i = 0; i < 5; i++) {
      const once = await assertion()
      const results = await Promise.all([token(a!.issuer, once), token(b!.issuer, once)])
      expect(results.map((r) => r.status).sort()).toEqual([200, 401])
    }
  })

  it('refuses an expired assertion, one not yet valid, one signed by another key, and another TPP\'s certificate, at both replicas', async () => {
    const now = Math.floor(Date.now() / 1000)
    const stranger = await generateKeyPair('PS256', { extractable: true })
    const strangerKid = (await exportJWK(stranger.publicKey)).n!.slice(0, 16)
    for (const issuer of [a!.issuer, b!.issuer]) {
      const refused = [
        await token(issuer, await assertion({ iat: now - 600, nbf: now - 600, exp: now - 60 })),
        await token(issuer, await assertion({ nbf: now + 600, exp: now + 900 })),
        await token(issuer, await assertion({ key: stranger.privateKey as JoseKey, kid: strangerKid })),
        await token(issuer, await assertion({ key: stranger.privateKey as JoseKey })),
      ]
      for (const r of refused) expect([r.status, r.error, r.access_token], JSON.stringify(r)).toEqual([401, 'invalid_client', undefined])
      // The certificate check answers 400 invalid_client (as in the single-server negative matrix).
      const foreign = await token(issuer, await assertion(), other.fetch)
      expect([foreign.error, foreign.access_token, foreign.status >= 400]).toEqual(['invalid_client', undefined, true])
      expect((await token(issuer, await assertion())).status).toBe(200)
    }
  })

  it('a withdrawn organisation is refused by both replicas, including the one that had the client cached, and restored by both', async () => {
    const event = (status: 'Active' | 'Withdrawn') => ({
      id: randomUUID(), source: 'directory', occurredAt: new Date().toISOString(), version: 1 as const, type: 'directory.organisation.changed' as const,
      data: { organisationId: tpp.orgId, status, roles: [{ role: 'DADOS', status: 'Active' as const }], changes: ['status' as const] },
    })
    const apply = async (status: 'Active' | 'Withdrawn') => {
      const db = await pool.connect()
      try {
        await db.query('begin')
        await onDirectoryEvent(event(status), db)
        await db.query('commit')
      } finally {
        db.release()
      }
    }
    // Both replicas have served (and so cached) the client.
    for (const issuer of [a!.issuer, b!.issuer]) expect((await token(issuer, await assertion())).status).toBe(200)
    await apply('Withdrawn')
    for (const issuer of [a!.issuer, b!.issuer]) {
      // The change reaches each replica when the transaction commits (NOTIFY), not through this process.
      await waitFor(async () => (await token(issuer, await assertion())).status === 401, { timeoutMs: 10_000, intervalMs: 50, what: `${issuer} refuses the withdrawn client` })
      expect(await token(issuer, await assertion())).toMatchObject({ status: 401, error: 'invalid_client' })
    }
    await apply('Active')
    for (const issuer of [a!.issuer, b!.issuer]) {
      await waitFor(async () => (await token(issuer, await assertion())).status === 200, { timeoutMs: 10_000, intervalMs: 50, what: `${issuer} serves the restored client` })
    }
  })

  it('a client whose keys changed (DCM) is re-read by both replicas: the old key is refused, the new one accepted', async () => {
    for (const issuer of [a!.issuer, b!.issuer]) expect((await token(issuer, await assertion())).status).toBe(200)
    const rotated = await generateKeyPair('PS256', { extractable: true })
    const kid = 'rotated-signing-key'
    const publicJwk = { ...(await exportJWK(rotated.publicKey)), kid, use: 'sig', alg: 'PS256' }
    const cache = clients()
    const stored = await createPgAdapter(pool)('Client').find(clientId)
    const encKeys = (tpp.jwks.keys).filter((k) => k.use === 'enc')
    await cache.adapter('Client').upsert(clientId, { ...stored, jwks: { keys: [publicJwk, ...encKeys] } } as never, undefined as never)
    await cache.stop()
    for (const issuer of [a!.issuer, b!.issuer]) {
      await waitFor(async () => (await token(issuer, await assertion({ key: rotated.privateKey as JoseKey, kid }))).status === 200,
        { timeoutMs: 10_000, intervalMs: 50, what: `${issuer} accepts the new key` })
      expect(await token(issuer, await assertion())).toMatchObject({ status: 401, error: 'invalid_client' })
    }
  })
})
