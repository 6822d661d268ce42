import { randomUUID, generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto'
import { SignJWT, jwtVerify, importPKCS8, errors as joseErrors } from 'jose'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PonteServer } from './server.ts'
import { DomainError } from './errors.ts'

/**
 * Internal service authentication. A caller signs a short-lived JWT (EdDSA / Ed25519) whose `aud` is the target
 * service; the target accepts only tokens for itself, signed by a configured key, unexpired and not older than
 * {@link SERVICE_TOKEN_MAX_AGE_S}. The token may carry the verified caller context (`ctx`), e.g. the TPP's client
 * id and consent as established by the gateway; the target trusts nothing else.
 */
export const SERVICE_TOKEN_MAX_AGE_S = 60

/** The claims a service token carries. */
export interface ServiceTokenClaims<C = Record<string, unknown>> {
  /** The calling service. */
  iss: string
  /** The target service. */
  aud: string
  /** The context the caller vouches for (identity of the end caller, consent…). */
  ctx?: C
}

/** A key pair for service tokens, as PEM. */
export interface ServiceKeyPair { privateKeyPem: string; publicKeyPem: string }

/** Generates an Ed25519 key pair for service tokens (`make up` and tests; production provides its own). */
export function generateServiceKeyPair(): ServiceKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** Splits a PEM bundle into public keys (a bundle lets verifiers accept old and new keys during rotation). */
export function parsePublicKeys(bundle: string): KeyObject[] {
  const pems = bundle.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? []
  return pems.map((p) => createPublicKey(p))
}

/** Signs service tokens as one service. */
export interface ServiceTokenIssuer {
  /** A token for `audience`, valid for `ttlSeconds` (default 30, at most 60). */
  sign<C>(audience: string, ctx?: C, ttlSeconds?: number): Promise<string>
}

/** Creates the issuer of a service (`iss` = its name). */
export function createServiceTokenIssuer(service: string, privateKeyPem: string): ServiceTokenIssuer {
  let keyObject: ReturnType<typeof importPKCS8> | undefined
  const load = () => (keyObject ??= importPKCS8(privateKeyPem, 'EdDSA'))
  return {
    async sign(audience, ctx, ttlSeconds = 30) {
      const ttl = Math.min(Math.max(1, ttlSeconds), SERVICE_TOKEN_MAX_AGE_S)
      const jwt = new SignJWT(ctx === undefined ? {} : { ctx: ctx as Record<string, unknown> })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'ponte-service+jwt' })
        .setIssuer(service)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .setJti(randomUUID())
      return jwt.sign(await load())
    },
  }
}

/** Verifies service tokens addressed to one service. */
export interface ServiceTokenVerifier {
  /** The verified claims, or a {@link DomainError} `UNAUTHORIZED` saying why not. */
  verify<C = Record<string, unknown>>(token: string): Promise<ServiceTokenClaims<C>>
}

/** Creates the verifier of service `audience`, accepting tokens signed by any of `publicKeys`. */
export function createServiceTokenVerifier(audience: string, publicKeys: KeyObject[], options: { allowedIssuers?: string[] } = {}): ServiceTokenVerifier {
  if (publicKeys.length === 0) throw new Error('service token verifier needs at least one public key')
  return {
    async verify<C>(token: string) {
      let lastError: unknown
      for (const key of publicKeys) {
        try {
          const { payload } = await jwtVerify(token, key, {
            algorithms: ['EdDSA'],
            audience,
            typ: 'ponte-service+jwt',
            maxTokenAge: SERVICE_TOKEN_MAX_AGE_S,
            clockTolerance: 5,
            requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
            ...(options.allowedIssuers ? { issuer: options.allowedIssuers } : {}),
          })
          return { iss: payload.iss as string, aud: audience, ctx: payload.ctx as C | undefined }
        } catch (err) {
          lastError = err
          // Only a bad signature is worth trying the next key for.
          if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break
        }
      }
      const reason = lastError instanceof joseErrors.JOSEError ? lastError.code : 'ERR_INVALID'
      throw new DomainError('UNAUTHORIZED', `invalid service token (${reason})`, { cause: lastError })
    },
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on internal routes: the verified calling service and the context it vouches for. */
    serviceCaller?: ServiceTokenClaims
  }
}

/** Header that carries the service token (kept apart from `Authorization`, which belongs to the TPP). */
export const SERVICE_TOKEN_HEADER = 'x-ponte-service-token'

/**
 * A fastify `onRequest` hook for internal routes: refuses (401, OFB envelope) any request without a valid service
 * token for this service, and exposes the verified claims as `request.serviceCaller`.
 */
export function requireServiceToken(verifier: ServiceTokenVerifier) {
  return async function requireServiceTokenHook(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const header = req.headers[SERVICE_TOKEN_HEADER]
    const token = typeof header === 'string' ? header : undefined
    if (!token) throw new DomainError('UNAUTHORIZED', 'missing service token')
    req.serviceCaller = await verifier.verify(token)
  }
}

const processStartedAt = Date.now()

/**
 * Registers `GET /internal/info` behind the service-token hook: the service's name, the calling service and the
 * uptime (operations and the admin console use it to see that a service answers and trusts their key).
 */
export function registerInternalInfo(app: PonteServer, service: string, verifier: ServiceTokenVerifier): void {
  app.register(async (internal) => {
    internal.addHook('onRequest', requireServiceToken(verifier))
    internal.get('/internal/info', async (req) => ({ service, caller: req.serviceCaller?.iss, uptimeSeconds: Math.round((Date.now() - processStartedAt) / 1000) }))
  })
}
