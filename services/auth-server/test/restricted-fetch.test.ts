// The authorization server's only outbound fetch (client jwks_uri): SSRF rules (docs/security/owasp-api-top10.md,
// API7). Only the configured origins over HTTPS; a redirect from an allowed origin is not followed anywhere.
import { createServer as createHttpsServer, type Server } from 'node:https'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevCa, issueServerCertificate } from '@ponte/pki'
import { createRestrictedFetch } from '../src/adapters/restricted-fetch.ts'

describe('restricted outbound fetch (client jwks_uri)', () => {
  let keystore: Server
  let internal: HttpServer
  let origin = ''
  let internalUrl = ''
  let internalHits = 0
  let fetcher: ReturnType<typeof createRestrictedFetch>

  beforeAll(async () => {
    const ca = await createDevCa()
    const cert = await issueServerCertificate(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] })
    internal = createHttpServer((_req, res) => { internalHits++; res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}') })
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve))
    internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}/latest/meta-data/`
    keystore = createHttpsServer({ cert: cert.chainPem, key: cert.privateKeyPem }, (req, res) => {
      const location = req.url === '/redirect' ? internalUrl : req.url === '/redirect-same' ? '/jwks' : undefined
      if (location) res.writeHead(302, { location }).end()
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}')
    })
    await new Promise<void>((resolve) => keystore.listen(0, '127.0.0.1', resolve))
    origin = `https://127.0.0.1:${(keystore.address() as AddressInfo).port}`
    fetcher = createRestrictedFetch({ allowedOrigins: [origin], ca: ca.chainPem, timeoutMs: 2_000 })
  })
  afterAll(async () => {
    await fetcher?.close()
    keystore?.close()
    internal?.close()
  })

  it('fetches from an allowed origin', async () => {
    const res = await fetcher(`${origin}/jwks`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ keys: [] })
  })

  it.each([
    ['plain HTTP to an internal address', () => internalUrl],
    ['the cloud metadata address', () => 'https://169.254.169.254/latest/meta-data/'],
    ['loopback on another port', () => 'https://127.0.0.1:1/jwks'],
    ['the allowed origin over http', () => origin.replace('https:', 'http:')],
    ['another host behind userinfo', () => `https://${new URL(origin).host}@evil.example/jwks`],
    ['a file URL', () => 'file:///etc/passwd'],
  ])('refuses %s before any request leaves', async (_name, url) => {
    const before = internalHits
    await expect(fetcher(url())).rejects.toThrow(/not allowed/)
    expect(internalHits).toBe(before)
  })

  it('does not follow a redirect from the allowed origin, to another host or even its own', async () => {
    await expect(fetcher(`${origin}/redirect`)).rejects.toThrow()
    await expect(fetcher(`${origin}/redirect-same`)).rejects.toThrow()
    expect(internalHits).toBe(0)
  })
})
