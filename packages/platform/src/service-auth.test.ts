import { generateKeyPairSync } from 'node:crypto'
import { SignJWT, importPKCS8 } from 'jose'
import { describe, expect, it } from 'vitest'
import { DomainError } from './errors.ts'
import { createServiceTokenIssuer, createServiceTokenVerifier, generateServiceKeyPair, parsePublicKeys } from './service-auth.ts'

const pair = generateServiceKeyPair()
const issuer = createServiceTokenIssuer('gateway', pair.privateKeyPem)
const verifier = createServiceTokenVerifier('consent', parsePublicKeys(pair.publicKeyPem))

async function refusal(token: string): Promise<string> {
  try {
    await verifier.verify(token)
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError)
    expect((err as DomainError).code).toBe('UNAUTHORIZED')
    return (err as DomainError).message
  }
  throw new Error('token was accepted')
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')

describe('service tokens', () => {
  it('accepts a fresh token for this audience and carries the context', async () => {
    const token = await issuer.sign('consent', { clientId: 'c1', scopes: ['consents'] })
    const claims = await verifier.verify<{ clientId: string }>(token)
    expect(claims.iss).toBe('gateway')
    expect(claims.ctx?.clientId).toBe('c1')
  })

  it('refuses a token for another audience', async () => {
    expect(await refusal(await issuer.sign('connectors'))).toMatch(/ERR_JWT_CLAIM_VALIDATION_FAILED/)
  })

  it('refuses an expired token', async () => {
    const key = await importPKCS8(pair.privateKeyPem, 'EdDSA')
    const past = Math.floor(Date.now() / 1000) - 120
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', typ: 'ponte-service+jwt' }).setIssuer('gateway')
      .setAudience('consent').setIssuedAt(past).setExpirationTime(past + 30).setJti('j1').sign(key)
    expect(await refusal(token)).toMatch(/ERR_JWT_EXPIRED/)
  })

  it('refuses an unsigned (alg none) token', async () => {
    const now = Math.floor(Date.now() / 1000)
    const token = `${b64({ alg: 'none', typ: 'ponte-service+jwt' })}.${b64({ iss: 'gateway', aud: 'consent', iat: now, exp: now + 30, jti: 'x' })}.`
    expect(await refusal(token)).toMatch(/ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/)
  })

  it('refuses a token signed by a foreign key', async () => {
    const foreign = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const token = await createServiceTokenIssuer('gateway', foreign).sign('consent')
    expect(await refusal(token)).toMatch(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/)
  })

  it('refuses a token with a long lifetime even when signed correctly', async () => {
    const key = await importPKCS8(pair.privateKeyPem, 'EdDSA')
    const old = Math.floor(Date.now() / 1000) - 600
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', typ: 'ponte-service+jwt' }).setIssuer('gateway')
      .setAudience('consent').setIssuedAt(old).setExpirationTime(old + 3600).setJti('j2').sign(key)
    expect(await refusal(token)).toMatch(/ERR_JWT_EXPIRED|ERR_JWT_CLAIM_VALIDATION_FAILED/)
  })

  it('accepts tokens of either key during a rotation', async () => {
    const next = generateServiceKeyPair()
    const both = createServiceTokenVerifier('consent', parsePublicKeys(pair.publicKeyPem + next.publicKeyPem))
    const token = await createServiceTokenIssuer('gateway', next.privateKeyPem).sign('consent')
    expect((await both.verify(token)).iss).toBe('gateway')
  })
})

describe('internal routes', () => {
  it('refuse requests without a valid token for this service and expose the verified caller', async () => {
    const { createServer } = await import('./server.ts')
    const { createLogger } = await import('./logger.ts')
    const { requireServiceToken, SERVICE_TOKEN_HEADER } = await import('./service-auth.ts')
    const app = createServer({ logger: createLogger({ service: 'consent', level: 'silent' }) })
    app.register(async (internal) => {
      internal.addHook('onRequest', requireServiceToken(verifier))
      internal.get('/internal/whoami', async (req) => ({ caller: req.serviceCaller?.iss, ctx: req.serviceCaller?.ctx }))
    })
    const none = await app.inject('/internal/whoami')
    expect([none.statusCode, none.json().errors[0].code]).toEqual([401, 'UNAUTHORIZED'])
    const wrongAudience = await app.inject({ url: '/internal/whoami', headers: { [SERVICE_TOKEN_HEADER]: await issuer.sign('connectors') } })
    expect(wrongAudience.statusCode).toBe(401)
    const tppBearer = await app.inject({ url: '/internal/whoami', headers: { authorization: `Bearer ${await issuer.sign('consent')}` } })
    expect(tppBearer.statusCode).toBe(401)
    const ok = await app.inject({ url: '/internal/whoami', headers: { [SERVICE_TOKEN_HEADER]: await issuer.sign('consent', { clientId: 'c9' }) } })
    expect([ok.statusCode, ok.json()]).toEqual([200, { caller: 'gateway', ctx: { clientId: 'c9' } }])
    // Health endpoints stay open.
    expect((await app.inject('/healthz')).statusCode).toBe(200)
  })

  it('serve /internal/info only to callers with a token for this service', async () => {
    const { createServer } = await import('./server.ts')
    const { createLogger } = await import('./logger.ts')
    const { registerInternalInfo, SERVICE_TOKEN_HEADER } = await import('./service-auth.ts')
    const app = createServer({ logger: createLogger({ service: 'consent', level: 'silent' }) })
    registerInternalInfo(app, 'consent', verifier)
    expect((await app.inject('/internal/info')).statusCode).toBe(401)
    const res = await app.inject({ url: '/internal/info', headers: { [SERVICE_TOKEN_HEADER]: await issuer.sign('consent') } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ service: 'consent', caller: 'gateway', uptimeSeconds: expect.any(Number) })
  })
})
